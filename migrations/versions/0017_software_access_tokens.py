"""the single-use tokens that open a client's software for its reseller's manager

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 04:50:00

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('software_access_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('software_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', portal.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_software_access_token_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['software_id'], ['software.id'], name=op.f('fk_software_access_token_software_id_software')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_software_access_token_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_software_access_token')),
    sa.UniqueConstraint('jti', name=op.f('uq_software_access_token_jti'))
    )
    with op.batch_alter_table('software_access_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_software_access_token_organisation_id'), ['organisation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('software_access_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_software_access_token_organisation_id'))

    op.drop_table('software_access_token')
