"""billing preferences and the log of notices sent

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 05:05:00

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('billing_preferences',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('renewal_days', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('renewal_days BETWEEN 1 AND 60', name=op.f('ck_billing_preferences_renewal_days')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_billing_preferences_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_billing_preferences_updated_by_id_user')),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_billing_preferences'))
    )
    op.create_table('notice_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('notice', sa.String(length=20), nullable=False),
    sa.Column('trigger', sa.String(length=80), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('sent_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("notice IN ('renewal_upcoming', 'invoice_issued', 'due_soon', 'overdue', 'blocked')", name=op.f('ck_notice_log_notice')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_notice_log_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_log')),
    sa.UniqueConstraint('organisation_id', 'notice', 'trigger', name=op.f('uq_notice_log_organisation_id_notice_trigger'))
    )
    with op.batch_alter_table('notice_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_log_organisation_id'), ['organisation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notice_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_log_organisation_id'))
    op.drop_table('notice_log')
    op.drop_table('billing_preferences')
