"""memberships are accepted (an invitation waits for its answer); an invitation link names its membership

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:50:00

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepted_at', portal.orm.UTCDateTime(timezone=True), nullable=True))
    # Every membership so far was effective at once: accepted when it was made.
    op.execute("UPDATE membership SET accepted_at = created_at")
    with op.batch_alter_table('auth_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('membership_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_auth_token_membership_id_membership'), 'membership',
                                    ['membership_id'], ['id'])


def downgrade():
    with op.batch_alter_table('auth_token', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_auth_token_membership_id_membership'), type_='foreignkey')
        batch_op.drop_column('membership_id')
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_column('accepted_at')
