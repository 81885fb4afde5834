"""refunds found by their state and when they were claimed

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 23:40:00

The refund safety net asks for the refunds to cards still "processing" that were claimed before a time, and a
suspension's waiting refunds and a payment's refundable amount ask for the "processing" ones too: an index on
(state, created_at) finds them without reading every refund ever made.
"""
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.create_index('ix_refund_state_created_at', ['state', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_index('ix_refund_state_created_at')
