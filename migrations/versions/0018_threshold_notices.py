"""the low wallet balance and usage quota notices in the log of notices sent

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 13:45:00

"""
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

BEFORE = "notice IN ('renewal_upcoming', 'invoice_issued', 'due_soon', 'overdue', 'blocked')"
AFTER = ("notice IN ('renewal_upcoming', 'invoice_issued', 'due_soon', 'overdue', 'low_balance', 'usage_quota', "
         "'blocked')")


def upgrade():
    with op.batch_alter_table('notice_log', schema=None) as batch_op:
        batch_op.drop_constraint('notice', type_='check')
        batch_op.create_check_constraint('notice', AFTER)


def downgrade():
    op.execute("DELETE FROM notice_log WHERE notice IN ('low_balance', 'usage_quota')")
    with op.batch_alter_table('notice_log', schema=None) as batch_op:
        batch_op.drop_constraint('notice', type_='check')
        batch_op.create_check_constraint('notice', BEFORE)
