"""Tax ids per country, validated and normalised with python-stdnum."""

from flask_babel import lazy_gettext as _l
from stdnum import exceptions
from stdnum.ar import cuit
from stdnum.br import cnpj, cpf
from stdnum.cl import rut as cl_rut
from stdnum.co import nit
from stdnum.mx import rfc
from stdnum.pe import ruc
from stdnum.uy import rut as uy_rut

# country: [(name shown to users, stdnum module)]
SCHEMES = {
    "CL": [("RUT", cl_rut)],
    "BR": [("CNPJ", cnpj), ("CPF", cpf)],
    "MX": [("RFC", rfc)],
    "AR": [("CUIT", cuit)],
    "CO": [("NIT", nit)],
    "PE": [("RUC", ruc)],
    "UY": [("RUT", uy_rut)],
}
COUNTRIES = tuple(SCHEMES)
# Printed as one word where that is how the country's tax office writes them: the SAT prints an RFC as
# "ALE120315KT1" (on the Constancia de Situación Fiscal and in every CFDI); python-stdnum's spaced
# "ALE 120315 KT1" is its own presentation, and people copy the RFC from the screen into other systems.
PRINTED_COMPACT = frozenset({"MX"})


class TaxIdError(ValueError):
    """The tax id is not valid; str(error) is a translated sentence naming what is wrong."""


def tax_id_label(country: str) -> str:
    return " / ".join(name for name, _m in SCHEMES.get(country, []))


def _problem(error: exceptions.ValidationError, label: str):
    if isinstance(error, exceptions.InvalidLength):
        return _l("The %(label)s has the wrong number of digits.", label=label)
    if isinstance(error, exceptions.InvalidChecksum):
        return _l("The %(label)s check digit is wrong.", label=label)
    if isinstance(error, exceptions.InvalidFormat):
        return _l("The %(label)s contains characters it cannot have.", label=label)
    if isinstance(error, exceptions.InvalidComponent):
        return _l("Part of the %(label)s is not valid.", label=label)
    return _l("The %(label)s is not valid.", label=label)


def normalise_tax_id(country: str, value: str) -> str:
    """Return the tax id in its compact form, or raise TaxIdError saying what is wrong with it.

    Where a country has several kinds (Brazil: CNPJ for companies, CPF for people), the message is about
    the kind the value looks like: a wrong check digit in an 11-digit number is a CPF's, not "a CNPJ of
    the wrong length".
    """
    country = (country or "").upper()
    schemes = SCHEMES.get(country)
    if not schemes:
        raise TaxIdError(_l("Tax ids from %(country)s are not supported.", country=country or "?"))
    value = (value or "").strip()
    if not value:
        raise TaxIdError(_l("Enter the %(label)s.", label=tax_id_label(country)))
    failures = []
    for name, module in schemes:
        try:
            return module.validate(value)
        except exceptions.ValidationError as error:
            failures.append((name, error))
    if len({type(error) for _name, error in failures}) == 1:
        raise TaxIdError(_problem(failures[0][1], tax_id_label(country)))
    name, error = next((n, e) for n, e in failures if not isinstance(e, exceptions.InvalidLength))
    raise TaxIdError(_problem(error, name))


def scheme_name(country: str, value: str | None) -> str:
    """The name of the kind of tax id `value` is (CNPJ or CPF in Brazil); the country's label when none fits."""
    for name, module in SCHEMES.get(country, []):
        if value and module.is_valid(value):
            return name
    return tax_id_label(country)


def format_tax_id(country: str, value: str | None) -> str:
    """The usual printed form (12.345.678-5, 11.222.333/0001-81, ALE120315KT1); the compact form where
    there is none. Only separators are ever added: the characters stay those stored."""
    if not value:
        return ""
    for _name, module in SCHEMES.get(country, []):
        try:
            compact = module.validate(value)
        except exceptions.ValidationError:
            continue
        formatter = None if country in PRINTED_COMPACT else getattr(module, "format", None)
        return formatter(compact) if formatter else compact
    return value
