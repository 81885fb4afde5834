"""a supplier's fiscal document recognised by the client's reseller: when, and by whom

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 10:40:00

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('fiscal_document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recognised_at', portal.orm.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('recognised_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_fiscal_document_recognised_by_id_user'), 'user',
                                    ['recognised_by_id'], ['id'])
        batch_op.create_check_constraint('recognised_received', "recognised_at IS NULL OR direction = 'received'")
        batch_op.create_check_constraint('recognised_by', '(recognised_at IS NULL) = (recognised_by_id IS NULL)')


def downgrade():
    with op.batch_alter_table('fiscal_document', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_fiscal_document_recognised_by'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_fiscal_document_recognised_received'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_fiscal_document_recognised_by_id_user'), type_='foreignkey')
        batch_op.drop_column('recognised_by_id')
        batch_op.drop_column('recognised_at')
