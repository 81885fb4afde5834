"""refunds of payments; a staff wallet adjustment's form key

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:23:26

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('credit_note_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('destination', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('gateway_refund_id', sa.String(length=120), nullable=True),
    sa.Column('failure_code', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', portal.orm.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("destination IN ('method', 'wallet')", name=op.f('ck_refund_destination')),
    sa.CheckConstraint("state IN ('processing', 'succeeded', 'failed')", name=op.f('ck_refund_state')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refund_amount_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_refund_created_by_id_user')),
    sa.ForeignKeyConstraint(['credit_note_id'], ['invoice.id'], name=op.f('fk_refund_credit_note_id_invoice')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_refund_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_refund_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_refund_payment_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund')),
    sa.UniqueConstraint('organisation_id', 'idempotency_key', name=op.f('uq_refund_organisation_id_idempotency_key')),
    sa.UniqueConstraint('reference', name=op.f('uq_refund_reference'))
    )
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_payment_id'), ['payment_id'], unique=False)

    with op.batch_alter_table('wallet_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_wallet_entry_organisation_id_idempotency_key'),
                                          ['organisation_id', 'idempotency_key'])



def downgrade():
    with op.batch_alter_table('wallet_entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_wallet_entry_organisation_id_idempotency_key'), type_='unique')
        batch_op.drop_column('idempotency_key')

    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refund_payment_id'))
        batch_op.drop_index(batch_op.f('ix_refund_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_refund_invoice_id'))

    op.drop_table('refund')
