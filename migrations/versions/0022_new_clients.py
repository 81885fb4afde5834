"""the reseller discount as a billing setting, hiring links: a sign-up's reseller, plan and payer, each link used once

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 13:40:00

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('billing_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reseller_discount_bp', sa.Integer(), server_default='5000', nullable=False))
        batch_op.create_check_constraint('reseller_discount',
                                         'reseller_discount_bp >= 0 AND reseller_discount_bp <= 10000')
    with op.batch_alter_table('sign_up', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reseller_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('plan_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reseller_pays', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('hiring_link_id', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_sign_up_reseller_id_organisation'), 'organisation',
                                    ['reseller_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_sign_up_plan_id_product'), 'product', ['plan_id'], ['id'])
    op.create_table('hiring_link_use',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.String(length=64), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('used_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_hiring_link_use_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['reseller_id'], ['organisation.id'], name=op.f('fk_hiring_link_use_reseller_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_link_use')),
    sa.UniqueConstraint('link_id', name=op.f('uq_hiring_link_use_link_id'))
    )
    with op.batch_alter_table('hiring_link_use', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hiring_link_use_reseller_id'), ['reseller_id'], unique=False)


def downgrade():
    with op.batch_alter_table('hiring_link_use', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hiring_link_use_reseller_id'))
    op.drop_table('hiring_link_use')
    with op.batch_alter_table('sign_up', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sign_up_plan_id_product'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_sign_up_reseller_id_organisation'), type_='foreignkey')
        batch_op.drop_column('hiring_link_id')
        batch_op.drop_column('reseller_pays')
        batch_op.drop_column('plan_id')
        batch_op.drop_column('reseller_id')
    with op.batch_alter_table('billing_settings', schema=None) as batch_op:
        batch_op.drop_constraint('reseller_discount', type_='check')
        batch_op.drop_column('reseller_discount_bp')
