"""the reminder of a client certificate about to expire in the log of notices sent

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 14:05:00

"""
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

BEFORE = ("notice IN ('renewal_upcoming', 'invoice_issued', 'due_soon', 'overdue', 'low_balance', 'usage_quota', "
          "'blocked')")
AFTER = ("notice IN ('renewal_upcoming', 'invoice_issued', 'due_soon', 'overdue', 'low_balance', 'usage_quota', "
         "'blocked', 'certificate_expiring')")


def upgrade():
    with op.batch_alter_table('notice_log', schema=None) as batch_op:
        batch_op.drop_constraint('notice', type_='check')
        batch_op.create_check_constraint('notice', AFTER)


def downgrade():
    op.execute("DELETE FROM notice_log WHERE notice = 'certificate_expiring'")
    with op.batch_alter_table('notice_log', schema=None) as batch_op:
        batch_op.drop_constraint('notice', type_='check')
        batch_op.create_check_constraint('notice', BEFORE)
