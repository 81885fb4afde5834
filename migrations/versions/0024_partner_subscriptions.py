"""a license partner's subscription: no plan, items priced from its price list, order lines that name their growth

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 19:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.alter_column('plan_id', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('subscription_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_amount', sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_subscription_item_subscription_id_product_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_subscription_item_subscription_id_product_id_unit_amount'),
                                          ['subscription_id', 'product_id', 'unit_amount'])
        batch_op.create_check_constraint('unit_amount', 'unit_amount IS NULL OR unit_amount >= 0')
    with op.batch_alter_table('partner_order_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscription_event_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_partner_order_line_subscription_event_id_subscription_event'),
                                    'subscription_event', ['subscription_event_id'], ['id'])


def downgrade():
    with op.batch_alter_table('partner_order_line', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_partner_order_line_subscription_event_id_subscription_event'),
                                 type_='foreignkey')
        batch_op.drop_column('subscription_event_id')
    with op.batch_alter_table('subscription_item', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_subscription_item_unit_amount'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_subscription_item_subscription_id_product_id_unit_amount'),
                                 type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_subscription_item_subscription_id_product_id'),
                                          ['subscription_id', 'product_id'])
        batch_op.drop_column('unit_amount')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.alter_column('plan_id', existing_type=sa.Integer(), nullable=False)
