"""the failed automatic payment notice in the log of notices sent

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 10:40:00

"""
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

BEFORE = ("notice IN ('renewal_upcoming', 'invoice_issued', 'due_soon', 'overdue', 'low_balance', 'usage_quota', "
          "'blocked', 'certificate_expiring')")
AFTER = ("notice IN ('renewal_upcoming', 'invoice_issued', 'due_soon', 'overdue', 'payment_failed', 'low_balance', "
         "'usage_quota', 'blocked', 'certificate_expiring')")


def upgrade():
    with op.batch_alter_table('notice_log', schema=None) as batch_op:
        batch_op.drop_constraint('notice', type_='check')
        batch_op.create_check_constraint('notice', AFTER)


def downgrade():
    op.execute("DELETE FROM notice_log WHERE notice = 'payment_failed'")
    with op.batch_alter_table('notice_log', schema=None) as batch_op:
        batch_op.drop_constraint('notice', type_='check')
        batch_op.create_check_constraint('notice', BEFORE)
