"""A customer's billing data: the legal and trade names, the tax id of its country, the fiscal address, the
e-mails invoices go to and, in Mexico, the receiver's fields a CFDI 4.0 needs (LATAM.md)."""

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Organisation, User
from portal.services import audit
from portal.services.accounts import taxid
from portal.services.accounts.accountants import normalise_email
from portal.services.errors import DomainError

MAX_INVOICE_EMAILS = 5
# The SAT's catalogues (c_RegimenFiscal and c_UsoCFDI of CFDI 4.0), by code.
TAX_REGIMES = {
    "601": "General de Ley Personas Morales",
    "603": "Personas Morales con Fines no Lucrativos",
    "605": "Sueldos y Salarios e Ingresos Asimilados a Salarios",
    "606": "Arrendamiento",
    "607": "Régimen de Enajenación o Adquisición de Bienes",
    "608": "Demás ingresos",
    "610": "Residentes en el Extranjero sin Establecimiento Permanente en México",
    "611": "Ingresos por Dividendos (socios y accionistas)",
    "612": "Personas Físicas con Actividades Empresariales y Profesionales",
    "614": "Ingresos por intereses",
    "615": "Régimen de los ingresos por obtención de premios",
    "616": "Sin obligaciones fiscales",
    "620": "Sociedades Cooperativas de Producción que optan por diferir sus ingresos",
    "621": "Incorporación Fiscal",
    "622": "Actividades Agrícolas, Ganaderas, Silvícolas y Pesqueras",
    "623": "Opcional para Grupos de Sociedades",
    "624": "Coordinados",
    "625": "Régimen de las Actividades Empresariales con ingresos a través de Plataformas Tecnológicas",
    "626": "Régimen Simplificado de Confianza",
}
CFDI_USES = {
    "G01": "Adquisición de mercancías",
    "G02": "Devoluciones, descuentos o bonificaciones",
    "G03": "Gastos en general",
    "I01": "Construcciones",
    "I02": "Mobiliario y equipo de oficina por inversiones",
    "I03": "Equipo de transporte",
    "I04": "Equipo de computo y accesorios",
    "I05": "Dados, troqueles, moldes, matrices y herramental",
    "I06": "Comunicaciones telefónicas",
    "I07": "Comunicaciones satelitales",
    "I08": "Otra maquinaria y equipo",
    "D01": "Honorarios médicos, dentales y gastos hospitalarios",
    "D02": "Gastos médicos por incapacidad o discapacidad",
    "D03": "Gastos funerales",
    "D04": "Donativos",
    "D05": "Intereses reales efectivamente pagados por créditos hipotecarios (casa habitación)",
    "D06": "Aportaciones voluntarias al SAR",
    "D07": "Primas por seguros de gastos médicos",
    "D08": "Gastos de transportación escolar obligatoria",
    "D09": "Depósitos en cuentas para el ahorro, primas que tengan como base planes de pensiones",
    "D10": "Pagos por servicios educativos (colegiaturas)",
    "S01": "Sin efectos fiscales",
}
POSTAL_CODE_MX = re.compile(r"\d{5}")
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class BillingData:
    legal_name: str
    trade_name: str
    tax_id: str
    address: str
    invoice_emails: str  # as typed: separated by commas, semicolons, spaces or lines
    tax_regime: str = ""
    postal_code: str = ""
    cfdi_use: str = ""


def _invoice_emails(text: str) -> list[str]:
    found: list[str] = []
    for part in _SEPARATORS.split(text or ""):
        if not part:
            continue
        try:
            email = normalise_email(part)
        except DomainError as error:
            raise DomainError(_l("%(email)s is not a valid e-mail address.", email=part[:254]),
                              code="invalid_email", field="invoice_emails") from error
        if email not in found:
            found.append(email)
    if len(found) > MAX_INVOICE_EMAILS:
        raise DomainError(_l("Give at most %(num)d e-mails for invoices.", num=MAX_INVOICE_EMAILS),
                          code="too_many_emails", field="invoice_emails")
    return found


def _mexican_fields(data: BillingData) -> dict:
    regime, postal_code, use = data.tax_regime.strip(), data.postal_code.strip(), data.cfdi_use.strip().upper()
    if regime not in TAX_REGIMES:
        raise DomainError(_l("Choose the régimen fiscal of the Constancia de Situación Fiscal."),
                          code="invalid_tax_regime", field="tax_regime")
    if not POSTAL_CODE_MX.fullmatch(postal_code):
        raise DomainError(_l("The código postal has 5 digits."), code="invalid_postal_code", field="postal_code")
    if use not in CFDI_USES:
        raise DomainError(_l("Choose the uso CFDI of your invoices."), code="invalid_cfdi_use", field="cfdi_use")
    return {"tax_regime": regime, "postal_code": postal_code, "cfdi_use": use}


def _values(organisation: Organisation, data: BillingData) -> dict:
    legal_name = " ".join((data.legal_name or "").split())
    if not legal_name:
        raise DomainError(_l("Enter the legal name."), code="missing_name", field="legal_name")
    if len(legal_name) > 200 or len(data.trade_name or "") > 200:
        raise DomainError(_l("Use at most %(num)d characters.", num=200), code="too_long", field="legal_name")
    address = (data.address or "").strip()
    if not address:
        raise DomainError(_l("Enter the fiscal address."), code="missing_address", field="address")
    if len(address) > 300:
        raise DomainError(_l("Use at most %(num)d characters.", num=300), code="too_long", field="address")
    try:
        tax_id = taxid.normalise_tax_id(organisation.country, data.tax_id or "")
    except taxid.TaxIdError as error:
        raise DomainError(error.args[0], code="invalid_tax_id", field="tax_id") from error
    values = {"name": legal_name, "trade_name": " ".join((data.trade_name or "").split()) or None,
              "tax_id": tax_id, "address": address, "invoice_emails": _invoice_emails(data.invoice_emails)}
    if organisation.country == "MX":
        values |= _mexican_fields(data)
    return values


def tax_id_taken(organisation: Organisation, tax_id: str) -> bool:
    """Whether another organisation of the same country already has `tax_id`."""
    return db.session.scalar(db.select(Organisation.id).where(
        Organisation.country == organisation.country, Organisation.tax_id == tax_id,
        Organisation.id != organisation.id)) is not None


def update_billing_data(organisation: Organisation, data: BillingData, actor: User,
                        address: str | None = None) -> dict:
    """Check and keep the billing data; returns what changed ({field: [before, after]}), audited."""
    return keep_organisation_fields(organisation, _values(organisation, data), "billing_data_updated", actor,
                                    address)


def keep_organisation_fields(organisation: Organisation, values: dict, action: str, actor: User | None,
                             address: str | None = None) -> dict:
    """Write checked `values` (one of them the tax id) on `organisation`, audited as `action`; returns what
    changed ({field: [before, after]}). A tax id another organisation has is a 409 that writes nothing, also
    when two requests take it at once (the unique index refuses the second)."""
    taken = DomainError(_l("Another organisation already has this tax id."), code="tax_id_taken", field="tax_id",
                        status=409)
    if tax_id_taken(organisation, values["tax_id"]):
        raise taken
    changed = {field: [getattr(organisation, field), value] for field, value in values.items()
               if getattr(organisation, field) != value}
    if not changed:
        return changed
    try:
        with db.session.begin_nested():
            for field in changed:
                setattr(organisation, field, values[field])
    except IntegrityError as error:
        raise taken from error
    audit.record(action, actor=actor, organisation=organisation, obj=organisation,
                 details={"changed": sorted(changed)}, address=address)
    return changed
