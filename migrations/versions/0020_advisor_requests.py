"""customers' requests to their commercial advisor

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 13:25:17

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('advisor_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('advisor_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('contact', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('preferred_time', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', portal.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', portal.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("contact != 'phone' OR phone IS NOT NULL", name=op.f('ck_advisor_request_phone_for_a_call')),
    sa.CheckConstraint("contact IN ('email', 'phone', 'video')", name=op.f('ck_advisor_request_contact')),
    sa.CheckConstraint("status = 'open' OR answered_at IS NOT NULL OR closed_at IS NOT NULL", name=op.f('ck_advisor_request_settled_when')),
    sa.CheckConstraint("status IN ('open', 'answered', 'closed')", name=op.f('ck_advisor_request_status')),
    sa.ForeignKeyConstraint(['advisor_id'], ['user.id'], name=op.f('fk_advisor_request_advisor_id_user')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user.id'], name=op.f('fk_advisor_request_answered_by_id_user')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_advisor_request_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_advisor_request_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_advisor_request'))
    )
    with op.batch_alter_table('advisor_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_advisor_request_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_advisor_request_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('advisor_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_advisor_request_status'))
        batch_op.drop_index(batch_op.f('ix_advisor_request_organisation_id'))

    op.drop_table('advisor_request')
