"""why and since when an organisation is blocked

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 04:30:00

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('blocked_reason', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('blocked_at', portal.orm.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            'blocked_reason', "blocked_reason IS NULL OR blocked_reason IN ('unpaid', 'reseller', 'staff')")
        batch_op.create_check_constraint(
            'blocked_has_reason', "(status = 'blocked' AND blocked_reason IS NOT NULL AND blocked_at IS NOT NULL)"
            " OR (status = 'active' AND blocked_reason IS NULL)")


def downgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_constraint('blocked_has_reason', type_='check')
        batch_op.drop_constraint('blocked_reason', type_='check')
        batch_op.drop_column('blocked_at')
        batch_op.drop_column('blocked_reason')
