"""billing data of an organisation

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 04:29:04

"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_emails', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('tax_regime', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('postal_code', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('cfdi_use', sa.String(length=4), nullable=True))



def downgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('cfdi_use')
        batch_op.drop_column('postal_code')
        batch_op.drop_column('tax_regime')
        batch_op.drop_column('invoice_emails')

