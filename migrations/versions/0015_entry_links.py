"""entry links used

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 05:12:53

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('entry_link_use',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('used_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_entry_link_use_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_link_use')),
    sa.UniqueConstraint('link_id', name=op.f('uq_entry_link_use_link_id'))
    )


def downgrade():
    op.drop_table('entry_link_use')
