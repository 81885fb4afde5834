"""Safe methods (QUALITY.md R9): GET, HEAD and OPTIONS change nothing, on any route, for anyone.

The walk requests every rule of the URL map with each safe method, as a visitor, as every role of every
kind of organisation and with an integration key, its path filled with real rows. Every INSERT, UPDATE
and DELETE the portal sends is counted per request, and every table is compared before and after.

What a read may write, and why it is not a change of state:
- the signed session cookie (the idle clock's "seen at", the organisation acted for): the browser's, not
  the database's;
- an issued invoice's PDF, when none was kept yet (a job died): the download renders the document fixed
  at issue and keeps it, as the job would have; the invoice itself does not change.
"""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from portal.extensions import db
from portal.models import (
    ROLES,
    Activation,
    AuditEvent,
    CartLine,
    IntegrationKey,
    InvoicePdf,
    Membership,
    StatementImport,
    StatementLine,
    User,
)
from portal.orm import utcnow
from portal.services import catalog
from portal.services.accounts import accountants, auth, integration
from portal.services.fiscal import prepared
from tests import factories
from tests.isolation import _offline_payment
from tests.services.payments.helpers import make_card

SAFE = ("GET", "HEAD", "OPTIONS")
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|COPY)\b", re.IGNORECASE)
# A download's first look at an issued invoice keeps its PDF (see above); nothing else may be written.
ALLOWED_WRITE = re.compile(r'^\s*INSERT INTO "?invoice_pdf"?\b', re.IGNORECASE)


@pytest.fixture
def world(app):
    """One organisation of each kind with a member of every role, and a row of everything a URL can name."""
    people = {}
    orgs = {kind: factories.make_org(kind) for kind in ROLES}
    for kind, roles in ROLES.items():
        for role in roles:
            people[(kind, role)] = factories.make_member(kind, role, organisation=orgs[kind]).user.email
    customer = orgs["customer"]
    invoice = factories.make_invoice(customer)
    factories.make_invoice(customer, status="draft")
    software = factories.make_software()
    category = factories.make_category()
    product = factories.make_product(software=software, category=category)
    quota = catalog.set_quota(product, "users", 3)
    price = product.prices[0]
    invited = factories.make_user(password=None)
    admin = db.session.scalar(db.select(User).where(User.email == people[("customer", "admin")]))
    line = CartLine(organisation_id=customer.id, user_id=admin.id, product_id=product.id, quantity=1,
                    currency="CLP", unit_amount=19_990)
    activation = Activation(organisation_id=customer.id, user_id=admin.id, key="k" * 32, fingerprint="0" * 64,
                            currency="CLP")
    db.session.add_all([line, activation])
    payment_id = _offline_payment(customer)["payment_id"]
    statement = StatementImport(kind="bank", currency="CLP", filename="cartola.csv", sha256="0" * 64, size=10,
                                state="done", errors=[])
    db.session.add(statement)
    db.session.flush()
    statement_line = StatementLine(import_id=statement.id, line=2, paid_on=date(2026, 12, 2), amount=1000,
                                   currency="CLP", refs=[], text="ABONO", state="unmatched")
    db.session.add(statement_line)
    subscription = factories.make_subscription(customer)
    price_list, _products = factories.make_partner_catalog()
    customer.reseller_id = orgs["reseller"].id  # so that the reseller's manage pages have a client to show
    db.session.flush()
    values = {
        "payment_id": payment_id, "import_id": statement.id, "row_id": statement_line.id,
        "invoice_id": invoice.id, "software_id": software.id, "category_id": category.id,
        "product_id": product.id, "price_id": price.id, "quota_id": quota.id,
        "token": auth.issue_token(invited, "invite", timedelta(days=1)),
        "filename": "app.css", "gateway": "sandbox",
        "line_id": line.id, "activation_id": activation.id, "subscription_id": subscription.id,
        "method_id": make_card(customer).id, "organisation_id": customer.id,
        "membership_id": db.session.scalar(db.select(Membership.id).join(User, Membership.user_id == User.id)
                                           .where(User.email == people[("customer", "member")])),
        "client_id": customer.id, "tab": "certificate",
        "email_id": accountants.link_email(orgs["reseller"], "contato@escritorio.com.br", None).id,
        "order_id": 1, "price_list_id": price_list.id, "document_id": 1,
        "request_id": factories.make_advisor_request(customer, user=admin).id,
    }
    manager = db.session.scalar(db.select(User).where(User.email == people[("reseller", "manager")]))
    job = prepared.create(orgs["reseller"].id, customer.id, manager.id, "xml", "2026-11", "55", "en", 1, "NFe.zip",
                          utcnow())
    job.state = prepared.READY  # its progress page and its file, as a manager downloads them
    prepared.zip_path(job).write_bytes(b"PK\x05\x06" + bytes(18))
    prepared.save(job)
    values |= {"kind": "xml", "job_id": job.id}
    key = integration.generate_key(customer, None)
    db.session.commit()
    return {"people": people, "values": values, "objects": {"software": software.id, "category": category.id,
                                                            "product": product.id}, "api_key": key}


def _urls(app, rule, world) -> list[str]:
    """The rule's path with its arguments filled from the world (every choice of an any() converter)."""
    values = dict(world["values"])
    choices = [{}]
    if "what" in rule.arguments:
        choices = [{"what": what, "object_id": world["objects"][what]} for what in ("software", "category", "product")]
    urls = []
    with app.test_request_context():
        for choice in choices:
            arguments = {name: {**values, **choice}[name] for name in rule.arguments}
            urls.append(app.url_for(rule.endpoint, **arguments))
    return urls


def _snapshot() -> dict[str, list]:
    db.session.rollback()
    tables = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(table.select().order_by(*table.primary_key.columns)).all()
        tables[table.name] = [tuple(row) for row in rows]
    db.session.rollback()
    return tables


@pytest.fixture
def writes(app):
    """The write statements the portal sends, in order."""
    seen: list[str] = []

    def before(_connection, _cursor, statement, *_args):
        if WRITE.match(statement):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    yield seen
    event.remove(db.engine, "before_cursor_execute", before)


def test_head_on_the_key_generation_page_issues_no_key(login_as, writes):
    admin = login_as("customer", "admin")
    raw = integration.generate_key(admin.organisation, admin.user)
    db.session.commit()
    del writes[:]
    response = admin.head("/customer/integration/generate")
    assert response.status_code == 200
    db.session.rollback()
    assert integration.organisation_for_key(raw) == admin.organisation  # the key still works
    assert db.session.scalar(db.select(db.func.count()).select_from(IntegrationKey)) == 1
    generated = db.select(db.func.count()).where(AuditEvent.action == "integration_key_generated")
    assert db.session.scalar(generated) == 1
    assert not writes


def test_get_head_and_options_change_nothing_on_any_route_for_anyone(app, world, writes):
    clients = {"visitor": app.test_client()}
    for who, email in world["people"].items():
        client = app.test_client()
        client.login(email)
        clients[who] = client
    api = app.test_client()
    api.environ_base["HTTP_X_API_KEY"] = world["api_key"]
    clients["api key"] = api
    before = _snapshot()
    del writes[:]

    refused = []
    answered = 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for url in _urls(app, rule, world):
            for method in SAFE:
                for who, client in clients.items():
                    response = client.open(url, method=method, buffered=True)
                    # The test database is built from the models, not the migrations: readiness says so (503).
                    unready = rule.endpoint == "health.readyz" and response.status_code == 503
                    assert response.status_code < 500 or unready, (method, url, who, response.status_code)
                    answered += response.status_code < 300
                    wrote = [s for s in writes if not ALLOWED_WRITE.match(s)]
                    if wrote:
                        refused.append((method, url, who, wrote[0][:80]))
                    del writes[:]
    assert not refused, refused
    assert answered > 100  # the walk reached pages, not only refusals

    after = _snapshot()
    changed = [name for name in before if before[name] != after[name] and name != InvoicePdf.__tablename__]
    assert not changed, changed
