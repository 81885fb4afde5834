"""The demo resellers' client companies: a dozen each in Brazil and Chile, in every contract status, who pays
either way, Brazilian certificates valid, expiring and expired (real PFX files made with `cryptography`), and the
Brazilian clients' issued and supplier XMLs (portal.services.demo_fiscal).

Horizonte pays for three of its active clients since months ago: they are subscribed before the demo's billing
sweeps run (`start_paid_clients`), so that each month's renewals become lines of Horizonte's consolidated invoice
of the month (services/billing/consolidated.py), issued when the month ended; the older ones are paid."""

import base64
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from stdnum.br import cnpj
from stdnum.cl import rut

from portal.extensions import db
from portal.models import ClientCertificate, Organisation
from portal.services import crypto, demo_fiscal
from portal.services.accounts import blocking
from portal.services.accounts import organisations as accounts
from portal.services.billing import subscriptions as subs
from portal.services.billing.rules import add_months
from portal.services.resellers.certificates import CNPJ_OID, read_certificate

CERTIFICATE_PASSWORD = "vitrine-demo"  # noqa: S105 — printed for people to try the demo
# name, contract (active, trial, blocked, cancelled), who pays, days the certificate has left (None: none sent)
HORIZONTE_CLIENTS = [
    ("Mercado Bom Preço Ltda", "active", "reseller", 300),
    ("Oficina Mecânica São Jorge Ltda", "active", "client", 20),
    ("Farmácia Vida Nova Ltda", "active", "client", -10),
    ("Livraria Página Certa Ltda", "trial", "reseller", 200),
    ("Pet Shop Amigo Fiel Ltda", "trial", "reseller", None),
    ("Açougue Boi Gordo Ltda", "blocked", "client", 120),
    ("Sorveteria Gelato Ltda", "cancelled", "client", None),
    ("Papelaria Traço Fino Ltda", "active", "reseller", 5),
    ("Restaurante Sabor Caseiro Ltda", "trial", "client", 400),
    ("Distribuidora Água Pura Ltda", "active", "reseller", None),
    ("Ótica Visão Clara Ltda", "blocked", "client", -40),
]
# Horizonte's active clients it pays for started this many months before the demo's billing day, after a trial
# of PAID_TRIAL_DAYS: their first period and each renewal since are lines of its consolidated invoices.
PAID_MONTHS, PAID_TRIAL_DAYS = 3, 14
CONTASUR_CLIENTS = [
    ("Minimarket Don Pepe SpA", "active", "client"),
    ("Botillería La Esquina Ltda.", "active", "client"),
    ("Librería El Quijote SpA", "trial", "reseller"),
    ("Taller Mecánico Ruta 5 Ltda.", "trial", "client"),
    ("Panadería San Camilo SpA", "blocked", "client"),
    ("Verdulería Los Andes SpA", "cancelled", "client"),
    ("Farmacia Cruz del Sur SpA", "active", "client"),
    ("Ferretería Austral Ltda.", "trial", "reseller"),
    ("Peluquería Estilo SpA", "active", "client"),
    ("Heladería Polar SpA", "blocked", "client"),
]


def _cnpj(n: int) -> str:
    body = f"{60_000_000 + n:08d}0001"
    return body + cnpj.calc_check_digits(body)


def _rut(n: int) -> str:
    body = str(78_000_000 + n)
    return body + rut.calc_check_digit(body)


def demo_pfx(tax_id: str, holder: str, now, days_left: int) -> bytes:
    """An A1-like certificate for the CNPJ `tax_id`, issued by a demo authority, valid `days_left` days more."""
    key = ec.generate_private_key(ec.SECP256R1())
    authority = ec.generate_private_key(ec.SECP256R1())
    raw = tax_id.encode()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{holder.upper()}:{tax_id}")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AC Demonstração Vitrine")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=365))
        .not_valid_after(now + timedelta(days=days_left))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.OtherName(CNPJ_OID, bytes([0x04, len(raw)]) + raw)]),
                       critical=False)
        .sign(authority, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        b"demo", key, certificate, None, serialization.BestAvailableEncryption(CERTIFICATE_PASSWORD.encode()))


def _keep_certificate(client: Organisation, now, days_left: int) -> None:
    """Kept as an upload is (encrypted), read with the upload's own checks at a moment it was valid."""
    data = demo_pfx(client.tax_id, client.name, now, days_left)
    facts = read_certificate(data, CERTIFICATE_PASSWORD, client, now - timedelta(days=300))
    db.session.add(ClientCertificate(
        organisation_id=client.id, encrypted_pfx=crypto.encrypt(base64.b64encode(data).decode("ascii")),
        encrypted_password=crypto.encrypt(CERTIFICATE_PASSWORD), uploaded_at=now - timedelta(days=300),
        **vars(facts)))


def _paid_since_long(status: str, payer: str) -> bool:
    return (status, payer) == ("active", "reseller")


def _client(reseller, name, country, tax_id, status, payer, plan, currency, now, index):
    client = accounts.create_organisation("customer", name, country, tax_id, reseller_id=reseller.id,
                                          locale="pt_BR" if country == "BR" else "es")
    db.session.flush()
    start = now - timedelta(days=2 + index)
    trial = 30 if status == "trial" else 0
    if status != "trial" and payer == "reseller":
        payer = "client"  # an active client its reseller pays for started long ago: start_paid_clients
    sub = subs.start_subscription(client, plan, currency, "monthly", start, trial_days=trial,
                                  payer=reseller if payer == "reseller" else None)
    if status == "cancelled":
        subs.cancel(sub, start + timedelta(hours=1), at_period_end=False)
    if status == "blocked":
        blocking.block_client(reseller, client, now - timedelta(days=1))
    return client


def _horizonte_plan(products: dict, index: int):
    return products["faznota-profissional" if index % 2 else "faznota-essencial"]


def start_paid_clients(orgs: dict[str, Organisation], products: dict, day) -> None:
    """Subscribe the active clients Horizonte pays for, PAID_MONTHS before `day` (the day of the month the demo's
    billing sweeps run on), each after a trial that ends on that day: from then on every sweep adds each of them
    as one line to Horizonte's consolidated invoice of the month. Call before the sweeps run."""
    reseller = orgs["horizonte"]
    start = add_months(day, -PAID_MONTHS) - timedelta(days=PAID_TRIAL_DAYS)
    for index, (name, status, payer, _days_left) in enumerate(HORIZONTE_CLIENTS):
        if _paid_since_long(status, payer):
            client = accounts.create_organisation("customer", name, "BR", _cnpj(index + 1), reseller_id=reseller.id,
                                                  locale="pt_BR")
            db.session.flush()
            subs.start_subscription(client, _horizonte_plan(products, index), "BRL", "monthly", start,
                                    trial_days=PAID_TRIAL_DAYS, payer=reseller)
    db.session.flush()


def load(orgs: dict[str, Organisation], products: dict, now) -> None:
    """Add the dozen clients of each demo reseller (after the billing history, so that their invoices, issued
    when each started, stay open: the newest of each organisation)."""
    _keep_certificate(orgs["paodourado"], now, 250)
    brazilian = [orgs["paodourado"]]
    for index, (name, status, payer, days_left) in enumerate(HORIZONTE_CLIENTS):
        if _paid_since_long(status, payer):  # subscribed by start_paid_clients
            client = db.session.scalar(db.select(Organisation).where(Organisation.reseller_id == orgs["horizonte"].id,
                                                                     Organisation.name == name))
        else:
            client = _client(orgs["horizonte"], name, "BR", _cnpj(index + 1), status, payer,
                             _horizonte_plan(products, index), "BRL", now, index)
        if days_left is not None:
            _keep_certificate(client, now, days_left)
        brazilian.append(client)
    for index, (name, status, payer) in enumerate(CONTASUR_CLIENTS):
        plan = products[("erp-basico", "erp-pro", "erp-diamante")[index % 3]]
        _client(orgs["contasur"], name, "CL", _rut(index + 1), status, payer, plan, "CLP", now, index)
    db.session.flush()
    demo_fiscal.load(brazilian, now)
