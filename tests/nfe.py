"""The NF-e / NFC-e specimens of the tests: built by portal.services.fiscal.specimens, which the demo uses too."""

from portal.services.fiscal.specimens import (
    BILLION_LAUGHS,
    EXTERNAL_DTD,
    EXTERNAL_ENTITY,
    ISSUER,
    NAMESPACE,
    RECIPIENT,
    access_key,
    check_digit,
    make_nfce,
    make_nfe,
    with_doctype,
)

__all__ = ["BILLION_LAUGHS", "EXTERNAL_DTD", "EXTERNAL_ENTITY", "ISSUER", "NAMESPACE", "RECIPIENT", "access_key",
           "check_digit", "make_nfce", "make_nfe", "with_doctype"]
