"""carts and activations of the customer store

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:05:29

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('activation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_activation_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_activation_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activation')),
    sa.UniqueConstraint('organisation_id', 'key', name=op.f('uq_activation_organisation_id_key'))
    )
    with op.batch_alter_table('activation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activation_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('cart_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('unit_amount', sa.Integer(), nullable=False),
    sa.Column('added_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_cart_line_quantity_positive')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_cart_line_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_cart_line_product_id_product')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_cart_line_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cart_line')),
    sa.UniqueConstraint('organisation_id', 'user_id', 'product_id', name=op.f('uq_cart_line_organisation_id_user_id_product_id'))
    )
    with op.batch_alter_table('cart_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cart_line_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('activation_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activation_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('period_amount', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_activation_line_quantity_positive')),
    sa.ForeignKeyConstraint(['activation_id'], ['activation.id'], name=op.f('fk_activation_line_activation_id_activation')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_activation_line_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_activation_line_product_id_product')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_activation_line_subscription_id_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activation_line'))
    )
    with op.batch_alter_table('activation_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activation_line_activation_id'), ['activation_id'], unique=False)



def downgrade():
    with op.batch_alter_table('activation_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activation_line_activation_id'))

    op.drop_table('activation_line')
    with op.batch_alter_table('cart_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cart_line_organisation_id'))

    op.drop_table('cart_line')
    with op.batch_alter_table('activation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activation_organisation_id'))

    op.drop_table('activation')
