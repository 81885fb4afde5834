"""a reseller's consolidated monthly invoice: each line names the client subscription and period it bills, once

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 10:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscription_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('period_key', sa.String(length=80), nullable=True))
        batch_op.create_index(batch_op.f('ix_invoice_line_subscription_id'), ['subscription_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_invoice_line_period_key'), ['period_key'])
        batch_op.create_foreign_key(batch_op.f('fk_invoice_line_subscription_id_subscription'), 'subscription',
                                    ['subscription_id'], ['id'])


def downgrade():
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invoice_line_subscription_id_subscription'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_invoice_line_period_key'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_invoice_line_subscription_id'))
        batch_op.drop_column('period_key')
        batch_op.drop_column('subscription_id')
