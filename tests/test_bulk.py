"""Bulk statements (portal/bulk.py): a batch's reads by many ids, and its changes written in one statement."""

from datetime import UTC, datetime

from sqlalchemy import event

from portal.bulk import BulkWriter, among
from portal.extensions import db
from portal.models import Invoice
from tests import factories

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _statements(block) -> list[str]:
    sent = []

    def keep(_conn, _cursor, statement, *_args):
        sent.append(statement)

    connection = db.session.connection()  # the transaction's: listeners on the engine miss it once it is open
    event.listen(connection, "before_cursor_execute", keep)
    try:
        block()
    finally:
        event.remove(connection, "before_cursor_execute", keep)
    return sent


def test_among_reads_the_rows_of_many_ids_as_in_does(app):
    org = factories.make_org()
    invoices = [factories.make_invoice(org) for _ in range(5)]
    db.session.commit()
    wanted = {invoices[0].id, invoices[3].id, 10**9}
    found = set(db.session.scalars(db.select(Invoice.id).where(among(Invoice.id, wanted))))
    assert found == {invoices[0].id, invoices[3].id}
    assert db.session.scalars(db.select(Invoice.id).where(among(Invoice.id, []))).all() == []
    assert db.session.scalars(db.select(Invoice.id).where(
        among(Invoice.currency, ["CLP"]), Invoice.organisation_id == org.id)).all() == sorted(i.id for i in invoices)


def test_write_changes_stores_a_batch_in_one_statement_and_leaves_the_rest_to_the_flush(app):
    org = factories.make_org()
    invoices = [factories.make_invoice(org) for _ in range(4)]
    db.session.commit()
    db.session.scalars(db.select(Invoice).where(Invoice.organisation_id == org.id)).all()  # loaded, as a batch's
    pending = Invoice(organisation_id=org.id, kind="invoice", currency="CLP", locale="es", status="draft",
                      created_at=NOW)
    db.session.add(pending)  # not stored yet: the flush inserts it whole
    for invoice in invoices[:3]:
        invoice.status, invoice.paid_at = "paid", NOW
    invoices[0].locale = "pt_BR"  # a change outside the columns written: the flush's

    sent = _statements(lambda: BulkWriter().write_changes([*invoices, invoices[1], pending],
                                                          {"status": "text", "paid_at": "timestamptz"}))
    # SQLite: one executemany; PostgreSQL: one UPDATE … FROM unnest on the driver's cursor, below SQLAlchemy.
    assert [statement.split()[0] for statement in sent] == (["UPDATE"] if db.engine.dialect.name == "sqlite" else [])
    updates = [statement for statement in _statements(db.session.flush) if statement.startswith("UPDATE invoice")]
    assert len(updates) == 1 and "locale" in updates[0] and "status" not in updates[0]  # invoices[0]'s locale
    db.session.commit()
    db.session.expire_all()
    stored = {invoice.id: (invoice.status, invoice.paid_at, invoice.locale)
              for invoice in db.session.scalars(db.select(Invoice).where(Invoice.organisation_id == org.id))}
    assert [stored[invoice.id][:2] for invoice in invoices[:3]] == [("paid", NOW)] * 3
    assert stored[invoices[0].id][2] == "pt_BR" and stored[invoices[3].id][0] == "open"
    assert stored[pending.id][0] == "draft"
