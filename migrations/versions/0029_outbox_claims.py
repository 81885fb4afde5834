"""an outbox message's claim: when a worker took it to send

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 02:50:00

A message being sent stays "pending" until the SMTP server has answered. Its claim used to be only a bump of
its attempts, which a second sender (the periodic safety net, another worker) could make again at once and send
the message twice. `claimed_at` makes the claim a lease: nobody else takes the message until it is answered or
the lease has run out (the sender died mid-way).
"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', portal.orm.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
