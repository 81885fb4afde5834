"""sign-ups waiting for their e-mail to be confirmed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:50:33

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sign_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('organisation_name', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('tax_id', sa.String(length=40), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', portal.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_sign_up_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_up')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sign_up_token_hash'))
    )
    with op.batch_alter_table('sign_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_up_email'), ['email'], unique=False)



def downgrade():
    with op.batch_alter_table('sign_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_up_email'))

    op.drop_table('sign_up')
