"""an index on the invoice a credit note credits: what an open invoice still asks is read without a scan of
every invoice

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:50:00

"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_credit_for_id'), ['credit_for_id'], unique=False)


def downgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_credit_for_id'))
