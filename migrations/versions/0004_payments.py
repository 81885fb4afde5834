"""payments: stored payment methods, payments, the wallet's ledger and settings, gateway webhook events

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:06:00

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('payment_method',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('gateway', sa.String(length=20), nullable=False),
    sa.Column('token', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('brand', sa.String(length=20), nullable=False),
    sa.Column('last4', sa.String(length=4), nullable=False),
    sa.Column('exp_month', sa.Integer(), nullable=False),
    sa.Column('exp_year', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('auto_pay', sa.Boolean(), nullable=False),
    sa.Column('failure_code', sa.String(length=40), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', portal.orm.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('active', 'expired', 'failing', 'removed')", name=op.f('ck_payment_method_state')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_payment_method_created_by_id_user')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_payment_method_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_method')),
    sa.UniqueConstraint('gateway', 'token', name=op.f('uq_payment_method_gateway_token'))
    )
    with op.batch_alter_table('payment_method', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_method_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('installment_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method_kind', sa.String(length=16), nullable=False),
    sa.Column('gateway', sa.String(length=20), nullable=False),
    sa.Column('payment_method_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('gateway_payment_id', sa.String(length=120), nullable=True),
    sa.Column('payer_reference', sa.String(length=64), nullable=True),
    sa.Column('failure_code', sa.String(length=40), nullable=True),
    sa.Column('instructions', sa.JSON(), nullable=False),
    sa.Column('expires_at', portal.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refunded_amount', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('succeeded_at', portal.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', portal.orm.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("method_kind IN ('card', 'wallet', 'bank_transfer', 'boleto', 'pix', 'oxxo', 'manual')", name=op.f('ck_payment_method_kind')),
    sa.CheckConstraint("purpose IN ('invoice', 'top_up')", name=op.f('ck_payment_purpose')),
    sa.CheckConstraint("state IN ('pending', 'processing', 'succeeded', 'failed', 'expired', 'cancelled')", name=op.f('ck_payment_state')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_amount_positive')),
    sa.CheckConstraint('refunded_amount >= 0 AND refunded_amount <= amount', name=op.f('ck_payment_refunded_within_amount')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_payment_created_by_id_user')),
    sa.ForeignKeyConstraint(['installment_id'], ['installment.id'], name=op.f('fk_payment_installment_id_installment')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_payment_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_payment_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['payment_method_id'], ['payment_method.id'], name=op.f('fk_payment_payment_method_id_payment_method')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    sa.UniqueConstraint('gateway', 'gateway_payment_id', name=op.f('uq_payment_gateway_gateway_payment_id')),
    sa.UniqueConstraint('gateway', 'payer_reference', name=op.f('uq_payment_gateway_payer_reference')),
    sa.UniqueConstraint('organisation_id', 'idempotency_key', name=op.f('uq_payment_organisation_id_idempotency_key')),
    sa.UniqueConstraint('reference', name=op.f('uq_payment_reference'))
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_state'), ['state'], unique=False)

    op.create_table('wallet_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('top_up', 'spend', 'refund_in', 'adjustment')", name=op.f('ck_wallet_entry_kind')),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_wallet_entry_amount_not_zero')),
    sa.CheckConstraint('balance_after >= 0', name=op.f('ck_wallet_entry_balance_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_wallet_entry_created_by_id_user')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_wallet_entry_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_wallet_entry_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_wallet_entry_payment_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_entry')),
    sa.UniqueConstraint('organisation_id', 'currency', 'sequence', name=op.f('uq_wallet_entry_organisation_id_currency_sequence'))
    )
    with op.batch_alter_table('wallet_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_entry_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wallet_entry_payment_id'), ['payment_id'], unique=False)

    op.create_table('webhook_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gateway', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.String(length=120), nullable=True),
    sa.Column('accepted_id', sa.String(length=120), nullable=True),
    sa.Column('event_type', sa.String(length=60), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('received_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("outcome IN ('processed', 'already_applied', 'bad_signature', 'stale', 'replayed', 'unknown_type', 'unknown_payment', 'malformed', 'mismatch')", name=op.f('ck_webhook_event_outcome')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_webhook_event_payment_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_event')),
    sa.UniqueConstraint('gateway', 'accepted_id', name=op.f('uq_webhook_event_gateway_accepted_id'))
    )
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_event_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_event_received_at'), ['received_at'], unique=False)

    op.create_table('wallet_settings',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('pay_from_wallet', sa.Boolean(), nullable=False),
    sa.Column('auto_recharge', sa.Boolean(), nullable=False),
    sa.Column('recharge_threshold', sa.Integer(), nullable=False),
    sa.Column('recharge_amount', sa.Integer(), nullable=False),
    sa.Column('recharged_for_entry_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('recharge_amount >= 0', name=op.f('ck_wallet_settings_amount_not_negative')),
    sa.CheckConstraint('recharge_threshold >= 0', name=op.f('ck_wallet_settings_threshold_not_negative')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_wallet_settings_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['recharged_for_entry_id'], ['wallet_entry.id'], name=op.f('fk_wallet_settings_recharged_for_entry_id_wallet_entry')),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_wallet_settings'))
    )


def downgrade():
    op.drop_table('wallet_settings')
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_event_received_at'))
        batch_op.drop_index(batch_op.f('ix_webhook_event_payment_id'))

    op.drop_table('webhook_event')
    with op.batch_alter_table('wallet_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_entry_payment_id'))
        batch_op.drop_index(batch_op.f('ix_wallet_entry_organisation_id'))

    op.drop_table('wallet_entry')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_state'))
        batch_op.drop_index(batch_op.f('ix_payment_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_payment_invoice_id'))

    op.drop_table('payment')
    with op.batch_alter_table('payment_method', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_method_organisation_id'))

    op.drop_table('payment_method')
