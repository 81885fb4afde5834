"""reseller linked e-mails and the customer's accountant e-mail

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:22:41

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reseller_email',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], name=op.f('fk_reseller_email_added_by_id_user')),
    sa.ForeignKeyConstraint(['reseller_id'], ['organisation.id'], name=op.f('fk_reseller_email_reseller_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reseller_email')),
    sa.UniqueConstraint('email', name=op.f('uq_reseller_email_email'))
    )
    with op.batch_alter_table('reseller_email', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reseller_email_reseller_id'), ['reseller_id'], unique=False)

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accountant_email', sa.String(length=254), nullable=True))



def downgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('accountant_email')

    with op.batch_alter_table('reseller_email', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reseller_email_reseller_id'))

    op.drop_table('reseller_email')
