"""Real PFX (PKCS#12) files made with `cryptography`, shaped like ICP-Brasil A1 certificates."""

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

CNPJ_OID = x509.ObjectIdentifier("2.16.76.1.3.3")
PASSWORD = "segredo-123"  # noqa: S105 — a test file's password
PERSON_OID = x509.ObjectIdentifier("2.16.76.1.3.1")


def _octets(text: str) -> bytes:
    """A DER OCTET STRING, as ICP-Brasil wraps the otherName values."""
    raw = text.encode()
    return bytes([0x04, len(raw)]) + raw


def make_pfx(cnpj: str | None = "45398765000160", cpf: str | None = None, password: str = PASSWORD,
             days_left: int = 365, starts_in_days: int = -30, holder: str = "PADARIA PAO DOURADO LTDA",
             mismatched_key: bool = False, now: datetime | None = None) -> bytes:
    """A PFX with a certificate for `cnpj` (or an e-CPF for `cpf`) valid until `days_left` days from now."""
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    others = []
    if cnpj:
        others.append(x509.OtherName(CNPJ_OID, _octets(cnpj)))
    if cpf:
        others.append(x509.OtherName(PERSON_OID, _octets("01011980" + cpf + "00000000000")))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{holder}:{cnpj or cpf}")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AC TESTE RFB v5")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=starts_in_days))
        .not_valid_after(now + timedelta(days=days_left))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
    )
    if others:
        builder = builder.add_extension(x509.SubjectAlternativeName(others), critical=False)
    certificate = builder.sign(issuer_key, hashes.SHA256())
    encryption = serialization.BestAvailableEncryption(password.encode())
    if mismatched_key:  # cryptography refuses to pair them: the certificate travels beside another key
        other = ec.generate_private_key(ec.SECP256R1())
        return pkcs12.serialize_key_and_certificates(b"certificado", other, None, [certificate], encryption)
    return pkcs12.serialize_key_and_certificates(b"certificado", key, certificate, None, encryption)


def der_of(pfx: bytes, password: str = PASSWORD) -> bytes:
    return pkcs12.load_pkcs12(pfx, password.encode()).cert.certificate.public_bytes(serialization.Encoding.DER)
