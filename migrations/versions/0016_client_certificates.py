"""the digital certificates of resellers' client companies, kept encrypted

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 04:40:00

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('client_certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('encrypted_pfx', sa.Text(), nullable=False),
    sa.Column('encrypted_password', sa.Text(), nullable=False),
    sa.Column('holder', sa.String(length=300), nullable=False),
    sa.Column('tax_id', sa.String(length=32), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('not_before', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('not_after', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uploaded_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_client_certificate_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_client_certificate_uploaded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_certificate')),
    sa.UniqueConstraint('organisation_id', name=op.f('uq_client_certificate_organisation_id'))
    )
    with op.batch_alter_table('client_certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_certificate_not_after'), ['not_after'], unique=False)


def downgrade():
    with op.batch_alter_table('client_certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_certificate_not_after'))

    op.drop_table('client_certificate')
