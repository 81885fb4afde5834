"""Bank transfer: the vendor's account details and a reference that identifies what is paid.

The reference is an ISO 11649 structured creditor reference ("RF" + two check digits + up to 21
characters): a mistyped one fails its mod-97 check instead of paying someone else's invoice.
"""

import re

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

_CANDIDATE = re.compile(r"RF\s?\d{2}(?:[ .-]?\d){1,21}", re.IGNORECASE)


def creditor_reference(payload: str) -> str:
    """"RF" + check digits + `payload` (digits only, at most 21: easy to dictate and to find in a statement)."""
    if not (payload.isascii() and payload.isdigit() and 1 <= len(payload) <= 21):
        raise ValueError("payload: 1 to 21 digits")
    return "RF" + mod_97_10.calc_check_digits(payload + "RF") + payload


def is_valid(reference: str) -> bool:
    return iso11649.is_valid(reference)


def normalise(reference: str) -> str:
    return iso11649.compact(reference)


def format_reference(reference: str) -> str:
    """In groups of four, as on paper ("RF18 5390 0754 7034")."""
    return iso11649.format(reference)


def find_references(text: str) -> list[str]:
    """The valid RF references written anywhere in a free-text field (a transfer's description)."""
    found: list[str] = []
    for match in _CANDIDATE.finditer(text or ""):
        candidate = "".join(char for char in match.group().upper() if char.isalnum())
        # The greedy match may have swallowed words after the reference: try the longest valid prefix.
        for end in range(len(candidate), 4, -1):
            if is_valid(candidate[:end]):
                found.append(candidate[:end])
                break
    return found
