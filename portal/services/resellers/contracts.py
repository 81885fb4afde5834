"""A client's contract as its reseller's manager sets it ("Contrato"): the client's status and who pays.

Blocked ("Bloqueado") is the one blocked state of portal.services.accounts.blocking, with the reason `reseller`:
the client's users see the blocked page and its integration key answers 403 account_blocked. A manager lifts only
a block it set (an unpaid one is lifted by paying, a staff one by staff). Cancelled ("Cancelado") cancels the
current subscription at the end of its period through the subscriptions service. Active and Trial follow the
subscription: a client goes from blocked back to what its plan says. Who pays goes through change_payer."""

from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.models import Organisation, User
from portal.services import audit
from portal.services.accounts import blocking
from portal.services.billing import subscriptions as subs
from portal.services.errors import DomainError
from portal.services.resellers.clients import CONTRACT_STATUSES, contract_status, current_subscription


def change_contract(reseller: Organisation, client: Organisation, status: str, payer: str, now: datetime,
                    actor: User | None = None, address: str | None = None) -> str | None:
    """Set the client's status and who pays (`client` or `reseller`); returns the status it then has. Checks
    everything before writing; a DomainError (the caller rolls back) otherwise."""
    if client.reseller_id != reseller.id:
        raise DomainError(_l("This account is not one of your clients."), code="not_your_client", status=404)
    if status not in CONTRACT_STATUSES:
        raise DomainError(_l("Choose the client's status from the list."), code="invalid_status", field="status")
    if payer not in ("client", "reseller"):
        raise DomainError(_l("Choose who pays the monthly fee."), code="invalid_payer", field="payer")
    sub = current_subscription(client)
    before = contract_status(client)
    if status != before:
        if before == "blocked":
            if client.blocked_reason != "reseller":
                raise DomainError(_l("This client is blocked for a balance overdue or by the vendor's staff: the "
                                     "block is lifted when it pays, or by the staff."), code="block_not_yours",
                                  field="status")
            blocking.unblock_client(reseller, client, now, actor=actor)
        if status == "blocked":
            blocking.block_client(reseller, client, now, actor=actor)
        elif status == "cancelled":
            if sub is None:
                raise DomainError(_l("%(client)s has no plan to cancel.", client=client.name), code="no_plan",
                                  field="status")
            subs.cancel(sub, now, at_period_end=True, actor=actor)
        elif contract_status(client) != status:
            raise DomainError(_l("Active or Trial follows the client's plan: a client is in trial only during its "
                                 "free month."), code="invalid_status", field="status")
    if sub is not None and sub.status != "cancelled":
        subs.change_payer(sub, client if payer == "client" else reseller, now, actor=actor)
    after = contract_status(client)
    audit.record("client_contract_changed", actor=actor, organisation=client, obj=client,
                 details={"status": after, "previous_status": before, "payer": payer}, address=address)
    return after
