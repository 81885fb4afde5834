"""A client's digital certificate (ICP-Brasil A1, a PFX / PKCS#12 file): checked whole before it is kept.

Before anything is stored the file must be small (MAX_BYTES), really PKCS#12, opened by its password, carry a
private key that matches its certificate, be within its validity, allow digital signatures and name the client:
the company's CNPJ in the Subject Alternative Name (ICP-Brasil otherName 2.16.76.1.3.3) or, for a person, the CPF
(2.16.76.1.3.1). Each refusal says which check failed. The file and its password are kept only encrypted
(portal.services.crypto: a key derived from SECRET_KEY, rotated through SECRET_KEY_FALLBACKS); the bytes never
touch the disk in the clear (the upload is read from memory).
"""

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import ClientCertificate, Organisation, User
from portal.services import audit, crypto
from portal.services.errors import DomainError

MAX_BYTES = 100 * 1024  # an A1 PFX is 3-10 KB; anything far larger is not one
EXPIRING_DAYS = 30  # "expiring" (a warning on the list) this many days before the end of validity
CNPJ_OID = x509.ObjectIdentifier("2.16.76.1.3.3")
# The holder's data of an e-CPF: birth date (8 digits), then the CPF (11), then NIS, RG…
PERSON_OID = x509.ObjectIdentifier("2.16.76.1.3.1")
# A PFX is a DER SEQUENCE with version 3 whose content is PKCS#7 data (RFC 7292): how its first bytes look.
_PKCS7_DATA = bytes.fromhex("06092a864886f70d010701")


@dataclass
class CertificateFacts:
    holder: str
    tax_id: str
    issuer: str
    serial: str
    fingerprint: str
    not_before: datetime
    not_after: datetime


def _refuse(message, code: str) -> DomainError:
    return DomainError(message, code=code, field="pfx")


def _looks_like_pkcs12(data: bytes) -> bool:
    return len(data) > 16 and data[0] == 0x30 and b"\x02\x01\x03" in data[:8] and _PKCS7_DATA in data[:32]


def _der_text(value: bytes) -> str:
    """The text of a DER-wrapped otherName value (OCTET STRING, PrintableString, UTF8String…)."""
    if len(value) < 2:
        return ""
    length, offset = value[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, offset = int.from_bytes(value[2:2 + count], "big"), 2 + count
    return value[offset:offset + length].decode("latin-1")


def _tax_ids(certificate: x509.Certificate) -> tuple[str | None, str | None]:
    """(CNPJ, CPF) the certificate's Subject Alternative Name carries, each None when absent."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None, None
    cnpj = cpf = None
    for other in names.get_values_for_type(x509.OtherName):
        digits = "".join(ch for ch in _der_text(other.value) if ch.isalnum())
        if other.type_id == CNPJ_OID and len(digits) >= 14:
            cnpj = digits[:14]
        elif other.type_id == PERSON_OID and len(digits) >= 19:
            cpf = digits[8:19]
    return cnpj, cpf


def _name(name: x509.Name) -> str:
    found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(found[0].value) if found else name.rfc4514_string()


def read_certificate(data: bytes, password: str, client: Organisation, now: datetime) -> CertificateFacts:
    """Every check, in order; a DomainError saying which one failed. Nothing is written."""
    if not data:
        raise _refuse(_l("Choose the certificate's PFX file."), "certificate_missing")
    if len(data) > MAX_BYTES:
        raise _refuse(_l("This file is larger than 100 KB: a PFX certificate file is much smaller. Choose the .pfx "
                         "or .p12 file of the certificate."), "certificate_too_large")
    if not _looks_like_pkcs12(data):
        raise _refuse(_l("This file is not a PFX (PKCS#12) certificate. Choose the .pfx or .p12 file of the "
                         "certificate."), "certificate_not_pkcs12")
    try:
        bundle = pkcs12.load_pkcs12(data, password.encode())
    except ValueError as error:
        raise _refuse(_l("The password does not open this certificate. Type the PFX file's password again."),
                      "certificate_wrong_password") from error
    key = bundle.key
    # A certificate bag whose key id matches no key comes back among the others: the first is the holder's.
    holder = bundle.cert or next(iter(bundle.additional_certs), None)
    certificate = holder.certificate if holder is not None else None
    if key is None or certificate is None:
        raise _refuse(_l("This file has no certificate with its private key. Export the certificate again with its "
                         "private key."), "certificate_incomplete")
    public = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*public) != certificate.public_key().public_bytes(*public):
        raise _refuse(_l("The private key in this file does not belong to its certificate. Export the certificate "
                         "again with its own private key."), "certificate_key_mismatch")
    if now < certificate.not_valid_before_utc:
        raise _refuse(_l("This certificate is not valid yet (from %(day)s). Send it again from that day.",
                         day=certificate.not_valid_before_utc.date().isoformat()), "certificate_not_yet_valid")
    if now > certificate.not_valid_after_utc:
        raise _refuse(_l("This certificate expired on %(day)s. Get a new certificate and send it.",
                         day=certificate.not_valid_after_utc.date().isoformat()), "certificate_expired")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            raise _refuse(_l("This certificate cannot sign documents (its key usage has no digital signature)."),
                          "certificate_cannot_sign")
        cnpj, cpf = _tax_ids(certificate)
    except x509.ExtensionNotFound:
        cnpj, cpf = _tax_ids(certificate)
    except ValueError as error:  # a malformed extension (cryptography refuses to read it)
        raise _refuse(_l("This certificate's extensions cannot be read. Get a new certificate and send it."),
                      "certificate_malformed") from error
    own = client.tax_id or ""
    if own not in {cnpj, cpf}:
        raise _refuse(_l("This certificate belongs to another holder (%(found)s), not to %(client)s. Send the "
                         "certificate of %(client)s.", found=cnpj or cpf or "?", client=client.name),
                      "certificate_other_holder")
    return CertificateFacts(
        holder=_name(certificate.subject)[:300], tax_id=own, issuer=_name(certificate.issuer)[:300],
        serial=format(certificate.serial_number, "x")[:64],
        fingerprint=hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest(),
        not_before=certificate.not_valid_before_utc, not_after=certificate.not_valid_after_utc,
    )


def current_certificate(client: Organisation) -> ClientCertificate | None:
    return db.session.scalar(db.select(ClientCertificate).where(ClientCertificate.organisation_id == client.id))


def store_certificate(client: Organisation, data: bytes, password: str, now: datetime, actor: User | None = None,
                      address: str | None = None) -> ClientCertificate:
    """Check the PFX (read_certificate) and keep it, encrypted, in place of the client's previous one; audited."""
    facts = read_certificate(data, password, client, now)
    row = current_certificate(client)
    replaced = row.fingerprint if row is not None else None
    if row is None:
        row = ClientCertificate(organisation_id=client.id)
        db.session.add(row)
    row.encrypted_pfx = crypto.encrypt(base64.b64encode(data).decode("ascii"))
    row.encrypted_password = crypto.encrypt(password)
    for name, value in vars(facts).items():
        setattr(row, name, value)
    row.uploaded_at = now
    row.uploaded_by_id = actor.id if actor is not None else None
    db.session.flush()
    audit.record("certificate_uploaded", actor=actor, organisation=client, obj=row,
                 details={"fingerprint": row.fingerprint, "not_after": row.not_after.isoformat(),
                          "replaced": replaced}, address=address)
    return row


def certificate_file(row: ClientCertificate) -> tuple[bytes, str]:
    """The PFX file and its password in the clear, for the software that signs with them."""
    return base64.b64decode(crypto.decrypt(row.encrypted_pfx)), crypto.decrypt(row.encrypted_password)


def certificate_state(not_after: datetime | None, now: datetime) -> str:
    """missing, expired, expiring (under EXPIRING_DAYS days left) or valid."""
    if not_after is None:
        return "missing"
    if not_after.tzinfo is None:
        not_after = not_after.replace(tzinfo=now.tzinfo)
    if not_after < now:
        return "expired"
    return "expiring" if not_after - now < timedelta(days=EXPIRING_DAYS) else "valid"
