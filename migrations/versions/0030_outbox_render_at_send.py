"""an outbox message's values, for the sender to render it from

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 18:40:00

A batch of automatic payments stores hundreds of receipts in one transaction. Rendering each one's three
templates there cost the batch a quarter of its time; the message now keeps the values it is rendered from
(`context`), with its subject and bodies left empty, and its sender renders it once, just before the first try,
storing the subject and bodies and clearing `context`.
"""
import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('context', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('context')
