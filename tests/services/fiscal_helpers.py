"""A Brazilian client with issued NF-e and NFC-e in its months, kept through the documents' service."""

from datetime import UTC, datetime, timedelta

from portal.extensions import db
from portal.orm import utcnow
from portal.services.fiscal import documents, months
from tests import factories, nfe
from tests.reseller.helpers import make_client

CNPJ = nfe.ISSUER  # the client issues the documents


def office_with_client():
    office = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda")
    client = make_client(office, "Distribuidora Aurora Ltda", tax_id=CNPJ, timezone="America/Sao_Paulo")
    db.session.flush()
    return office, client


def this_month(client) -> months.Month:
    return months.current_month(client, utcnow())


def local_moment(month: months.Month, day: int, hour: int = 10, minute: int = 0) -> str:
    """dhEmi in São Paulo (-03:00) on `day` of `month`."""
    return f"{month.year:04d}-{month.month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00-03:00"


def issue(client, month: months.Month, day: int, number: int, total: str, model: str = "55",
          cfops: tuple[str, ...] = ("5102",), hour: int = 10, minute: int = 0) -> bytes:
    """Keep one issued document of `client`; its XML."""
    make = nfe.make_nfce if model == "65" else nfe.make_nfe
    xml = make(issuer=CNPJ, number=number, issued_at=local_moment(month, day, hour, minute), total=total,
               cfops=cfops, code=f"{number:08d}")
    documents.keep_document(client, xml, datetime.now(UTC))
    return xml


def received(client, month: months.Month, day: int, number: int) -> bytes:
    """A supplier's document to `client` (not one of its issued XMLs)."""
    xml = nfe.make_nfe(issuer="45398765000160", recipient=CNPJ, number=number,
                       issued_at=local_moment(month, day), code=f"{number:08d}")
    documents.keep_document(client, xml, datetime.now(UTC))
    return xml


def days_ago(count: int) -> datetime:
    return utcnow() - timedelta(days=count)
