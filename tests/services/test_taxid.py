"""Tax ids of every supported country: validated, normalised, printed, and refused with a message that
names what is wrong, in the reader's language."""

import pytest
from flask_babel import force_locale

from portal.services.accounts.taxid import COUNTRIES, TaxIdError, format_tax_id, normalise_tax_id, tax_id_label

VALID = [
    ("CL", "12.345.678-5", "123456785", "12.345.678-5"),
    ("CL", "76543210-3", "765432103", "76.543.210-3"),
    ("CL", " 12345678-5 ", "123456785", "12.345.678-5"),
    ("BR", "11.222.333/0001-81", "11222333000181", "11.222.333/0001-81"),  # CNPJ
    ("BR", "11222333000181", "11222333000181", "11.222.333/0001-81"),
    ("BR", "390.533.447-05", "39053344705", "390.533.447-05"),  # CPF
    ("MX", "ALE120315KT1", "ALE120315KT1", "ALE120315KT1"),  # a company: the SAT prints it without spaces
    ("MX", "gode-561231-gr8", "GODE561231GR8", "GODE561231GR8"),  # a person
    ("AR", "20-26756539-3", "20267565393", "20-26756539-3"),
    ("CO", "900.373.115-3", "9003731153", "900.373.115-3"),
    ("PE", "20512333797", "20512333797", "20512333797"),  # no printed form of its own
    ("UY", "21 100342 001 7", "211003420017", "21-100342-001-7"),
]


@pytest.mark.parametrize(("country", "typed", "compact", "printed"), VALID)
def test_valid_tax_ids_are_normalised_and_printed(app, country, typed, compact, printed):
    assert normalise_tax_id(country, typed) == compact
    assert format_tax_id(country, compact) == printed


INVALID = [
    ("CL", "12.345.678-K", "The RUT check digit is wrong.", "El dígito verificador del RUT es incorrecto."),
    ("CL", "1234", "The RUT has the wrong number of digits.", "El RUT tiene una cantidad incorrecta de dígitos."),
    ("BR", "11.222.333/0001-82", "The CNPJ check digit is wrong.", "El dígito verificador del CNPJ es incorrecto."),
    ("BR", "390.533.447-06", "The CPF check digit is wrong.", "El dígito verificador del CPF es incorrecto."),
    ("BR", "123", "The CNPJ / CPF has the wrong number of digits.",
     "El CNPJ / CPF tiene una cantidad incorrecta de dígitos."),
    ("BR", "390.533.447-0#", "The CNPJ / CPF contains characters it cannot have.",
     "El CNPJ / CPF contiene caracteres no permitidos."),
    ("MX", "ALE121315KT1", "Part of the RFC is not valid.", "Una parte del RFC no es válida."),  # 15th month
    ("MX", "ABC", "The RFC has the wrong number of digits.", "El RFC tiene una cantidad incorrecta de dígitos."),
    ("AR", "20-26756539-4", "The CUIT check digit is wrong.", "El dígito verificador del CUIT es incorrecto."),
    ("CO", "900.373.115-4", "The NIT check digit is wrong.", "El dígito verificador del NIT es incorrecto."),
    ("PE", "20512333798", "The RUC check digit is wrong.", "El dígito verificador del RUC es incorrecto."),
    ("UY", "21 100342 001 8", "The RUT check digit is wrong.", "El dígito verificador del RUT es incorrecto."),
    ("CL", "", "Enter the RUT.", "Ingresa el RUT."),
    ("US", "12-3456789", "Tax ids from US are not supported.", "No se admiten identificaciones fiscales de US."),
]


@pytest.mark.parametrize(("country", "typed", "english", "spanish"), INVALID)
def test_invalid_tax_ids_are_refused_naming_what_is_wrong(app, country, typed, english, spanish):
    with pytest.raises(TaxIdError) as refused:
        normalise_tax_id(country, typed)
    with force_locale("en"):
        assert str(refused.value) == english
    with force_locale("es"):
        assert str(refused.value) == spanish


def test_the_portuguese_message_too(app):
    with pytest.raises(TaxIdError) as refused:
        normalise_tax_id("BR", "390.533.447-06")
    with force_locale("pt_BR"):
        assert str(refused.value) == "O dígito verificador do CPF está errado."


def test_every_country_has_a_label_and_the_lower_case_country_works(app):
    assert {c: tax_id_label(c) for c in COUNTRIES} == {
        "CL": "RUT", "BR": "CNPJ / CPF", "MX": "RFC", "AR": "CUIT", "CO": "NIT", "PE": "RUC", "UY": "RUT"}
    assert normalise_tax_id("cl", "12.345.678-5") == "123456785"


def test_an_unrecognised_stored_value_is_printed_as_it_is(app):
    assert format_tax_id("CL", "not a rut") == "not a rut"
    assert format_tax_id("CL", None) == ""
