"""The demo's fiscal documents: Horizonte's Brazilian clients issued NF-e and NFC-e and received their suppliers'
NF-e over the last three months, each kept as the fiscal documents API keeps a file (read and checked), and the
supplier XMLs of the months before this one already recognised by Horizonte's manager."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from stdnum.br import cnpj

from portal.extensions import db
from portal.models import Membership, Organisation
from portal.services.fiscal import client_documents, documents
from portal.services.fiscal.specimens import make_nfce, make_nfe

ZONE = ZoneInfo("America/Sao_Paulo")
MONTHS = 3
ISSUED_NFE, ISSUED_NFCE, SUPPLIED = 3, 4, 3  # each client, each month
SUPPLIERS = ["DISTRIBUIDORA AURORA LTDA", "ATACADÃO PAULISTA S.A.", "LATICÍNIOS SERRA AZUL LTDA",
             "EMBALAGENS RIO CLARO LTDA", "MOINHO SANTA CLARA LTDA", "BEBIDAS VALE DO PARAÍBA LTDA"]
CFOPS = [("5102",), ("5102", "5405"), ("6102",), ("5405",)]


def _supplier_cnpj(n: int) -> str:
    body = f"{70_000_000 + n:08d}0001"
    return body + cnpj.calc_check_digits(body)


def _moments(now: datetime, count: int, months_back: int, salt: int) -> list[datetime]:
    """`count` moments spread over the month `months_back` before this one (São Paulo time), none in the future."""
    local = now.astimezone(ZONE)
    year, month = local.year, local.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    start = datetime(year, month, 1, 8, tzinfo=ZONE)
    days = (local.day if months_back == 0 else 28) - 1
    found = [start + timedelta(days=(days * (n + 1)) // (count + 1), hours=(salt + 3 * n) % 10, minutes=7 * n)
             for n in range(count)]
    return [moment for moment in found if moment < now]


def _local(moment: datetime) -> tuple[str, str]:
    """The dhEmi of `moment` and the YYMM of its access key."""
    return moment.isoformat(timespec="seconds"), moment.strftime("%y%m")


def _reais(seed: int) -> str:
    return f"{(seed * 7919) % 480_000 / 100 + 12:.2f}"


def load(clients: list[Organisation], now: datetime) -> None:
    """Issued and supplier documents for each of `clients` (Brazilian, with digits-only CNPJs)."""
    reseller = db.session.get(Organisation, clients[0].reseller_id)
    manager = db.session.scalar(db.select(Membership).where(Membership.organisation_id == reseller.id,
                                                            Membership.role == "manager").order_by(Membership.id))
    for index, client in enumerate(clients):
        number = 1000 * (index + 1)
        older = []
        for back in range(MONTHS):
            for n, moment in enumerate(_moments(now, ISSUED_NFE + ISSUED_NFCE, back, index)):
                number += 1
                issued_at, year_month = _local(moment)
                buyer = _supplier_cnpj((index + n) % len(SUPPLIERS))
                common = dict(issuer=client.tax_id, number=number, issued_at=issued_at, year_month=year_month,
                              issuer_name=client.name.upper(), total=_reais(number), code=f"{number:08d}",
                              cfops=CFOPS[n % len(CFOPS)])
                xml = (make_nfe(recipient=buyer, recipient_name=SUPPLIERS[(index + n) % len(SUPPLIERS)], **common)
                       if n < ISSUED_NFE else make_nfce(series=2, **common))
                documents.keep_document(client, xml, moment)
            for n, moment in enumerate(_moments(now, SUPPLIED, back, index + 5)):
                which = (index * 2 + n + back) % len(SUPPLIERS)
                issued_at, year_month = _local(moment)
                xml = make_nfe(issuer=_supplier_cnpj(which), issuer_name=SUPPLIERS[which], recipient=client.tax_id,
                               recipient_name=client.name.upper(), number=50_000 + index * 100 + back * 10 + n,
                               issued_at=issued_at, year_month=year_month, total=_reais(index * 31 + n + back),
                               code=f"{index:04d}{back}{n:03d}")
                kept = documents.keep_document(client, xml, moment + timedelta(minutes=20)).document
                if back > 0:
                    older.append(str(kept.id))
        if older and manager is not None:
            client_documents.recognise(client, older, manager.user, now - timedelta(days=1))
    db.session.flush()
