"""Payments: gateways (`gateway`: the interface and its registry; `sandbox`: the built-in card provider),
claiming and recording payments once per idempotency key (`checkout`), what an outcome changes
(`settlement`), stored methods (`methods`), the wallet's ledger (`wallet`) and the gateways' webhooks
(`webhooks`); the offline methods — bank transfer, boleto, Pix, OXXO — and statement reconciliation
(`offline`).

Adding a provider means writing one `gateway.Gateway` subclass and naming it in GATEWAYS.
"""

from importlib import import_module

# "module:Class" of every gateway the portal offers, registered at start-up (a later one for a method kind
# takes its payments).
GATEWAYS = ["portal.services.payments.sandbox:SandboxGateway"] + [
    f"portal.services.payments.offline.gateways:{name}"
    for name in ("BankTransferGateway", "BoletoGateway", "PixGateway", "OxxoGateway")]


def register_gateways() -> None:
    from portal.services.payments import gateway

    for path in GATEWAYS:
        module, _, name = path.partition(":")
        gateway.register(getattr(import_module(module), name)())


def wire_billing() -> None:
    """What billing hands on to payments without importing them: what a credit note gives back beyond what its
    open invoice still owed (a cancellation's or the sweep's leftover credits) goes to the payer's wallet."""
    from portal.services.billing import refunds
    from portal.services.payments.suspension import excess_to_wallet

    refunds.give_excess_back_to(excess_to_wallet)
