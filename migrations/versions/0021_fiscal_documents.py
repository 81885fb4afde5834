"""fiscal documents sent by a client's software

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 13:45:06

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fiscal_document',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('access_key', sa.String(length=44), nullable=False),
    sa.Column('model', sa.String(length=2), nullable=False),
    sa.Column('series', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('issued_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issuer_tax_id', sa.String(length=14), nullable=False),
    sa.Column('issuer_name', sa.String(length=200), nullable=False),
    sa.Column('recipient_tax_id', sa.String(length=14), nullable=True),
    sa.Column('recipient_name', sa.String(length=200), nullable=True),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_code', sa.String(length=3), nullable=True),
    sa.Column('status_reason', sa.String(length=255), nullable=True),
    sa.Column('cfops', sa.JSON(), nullable=False),
    sa.Column('xml', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('issued', 'received')", name=op.f('ck_fiscal_document_direction')),
    sa.CheckConstraint("model IN ('55', '65')", name=op.f('ck_fiscal_document_model')),
    sa.CheckConstraint("status IN ('authorised', 'denied', 'rejected', 'not_authorised')", name=op.f('ck_fiscal_document_status')),
    sa.CheckConstraint('number >= 1 AND number <= 999999999', name=op.f('ck_fiscal_document_number_range')),
    sa.CheckConstraint('series >= 0 AND series <= 999', name=op.f('ck_fiscal_document_series_range')),
    sa.CheckConstraint('total >= 0', name=op.f('ck_fiscal_document_total_not_negative')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_fiscal_document_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fiscal_document')),
    sa.UniqueConstraint('organisation_id', 'access_key', name=op.f('uq_fiscal_document_organisation_id_access_key'))
    )
    with op.batch_alter_table('fiscal_document', schema=None) as batch_op:
        batch_op.create_index('ix_fiscal_document_org_direction_model_issued', ['organisation_id', 'direction', 'model', 'issued_at'], unique=False)


def downgrade():
    with op.batch_alter_table('fiscal_document', schema=None) as batch_op:
        batch_op.drop_index('ix_fiscal_document_org_direction_model_issued')

    op.drop_table('fiscal_document')
