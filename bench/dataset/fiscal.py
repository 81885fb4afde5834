"""Fiscal documents of the large data set: the supplier XMLs ("XMLs de fornecedores") that the bench reseller's
first client received this month and the two before — real NF-e files (portal.services.fiscal.specimens),
stored zlib-compressed as the fiscal documents API keeps them — so its supplier XMLs screen pages through more
than one page of the month, in both states.
"""

import zlib
from datetime import timedelta

from bench.dataset import Context
from portal.models import FiscalDocument
from portal.services.fiscal.specimens import access_key, make_nfe

SUPPLIER = "11222333000181"
PER_MONTH = 60  # more than two pages of 25


def generate_fiscal(ctx: Context) -> None:
    """PER_MONTH supplier NF-e a month for the bench reseller's first client, a third of them recognised by the
    bench reseller's manager; issued at noon UTC, inside the day in every American time zone."""
    organisations = ctx.made["organisations"]
    reseller = ctx.made["bench_org"]["reseller"]
    client = min(org_id for org_id, facts in organisations.items() if facts[0] == "customer" and facts[4] == reseller)
    manager = ctx.made["members_of"][reseller][0]  # its first person is its manager
    recipient = "45398765000160"
    rows = []
    day = ctx.today.replace(day=1)
    for back in range(3):
        if back:
            day = (day - timedelta(days=1)).replace(day=1)  # the month before
        last = ctx.today.day if back == 0 else 28
        for n in range(PER_MONTH):
            number = 1 + back * PER_MONTH + n
            moment = day + timedelta(days=(n * last) // PER_MONTH, hours=12, minutes=n)
            dh = moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")
            key = access_key(SUPPLIER, number=number, year_month=moment.strftime("%y%m"), code=f"{number:08d}")
            xml = make_nfe(recipient=recipient, number=number, issued_at=dh, key=key, total=f"{number * 3.17:.2f}")
            recognised = n % 3 == 0 and back > 0
            rows.append({
                "id": number, "organisation_id": client, "direction": "received", "access_key": key, "model": "55",
                "series": 1, "number": number, "issued_at": moment, "issuer_tax_id": SUPPLIER,
                "issuer_name": "DISTRIBUIDORA AURORA LTDA", "recipient_tax_id": recipient,
                "recipient_name": "PADARIA PAO DOURADO LTDA", "total": round(number * 317), "currency": "BRL",
                "status": "authorised", "status_code": "100", "status_reason": "Autorizado o uso da NF-e",
                "cfops": ["5102"], "xml": zlib.compress(xml, 6), "received_at": moment + timedelta(minutes=5),
                "recognised_at": moment + timedelta(days=2) if recognised else None,
                "recognised_by_id": manager if recognised else None,
            })
    ctx.insert(FiscalDocument, rows)
