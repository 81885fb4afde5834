"""Authorisation codes: 19 random characters and a check character, read aloud and typed in groups of four.

The alphabet leaves out the characters people mistake for one another (0/O, 1/I/L) and has 31 characters, a
prime: a check character that weights each position by its place (mod 31) catches every single mistyped
character and every swap of two neighbours. 19 random characters carry 19 × log2(31) ≈ 94 bits.
"""

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RANDOM_LENGTH = 19
GROUP = 4
_VALUE = {character: value for value, character in enumerate(ALPHABET)}
_SEPARATORS = re.compile(r"[\s\-_.]+")


def _check(body: str) -> str:
    total = sum((place + 1) * _VALUE[character] for place, character in enumerate(body))
    return ALPHABET[-total % len(ALPHABET)]


def new_code(choice=secrets.choice) -> str:
    """A fresh code in its compact form (20 characters, no separators), its characters drawn by `choice` (the
    system's cryptographic random source; a seeded one only for generated test data)."""
    body = "".join(choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + _check(body)


def grouped(code: str) -> str:
    """The code as shown and read aloud: ABCD-EFGH-JKMN-PQRS-TUVW."""
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def normalise(typed: str | None) -> str | None:
    """The compact code a person typed (lower case, spaces and dashes allowed), or None when it cannot be
    one: wrong length, a character outside the alphabet, or a wrong check character."""
    compact = _SEPARATORS.sub("", (typed or "").upper())
    if len(compact) != RANDOM_LENGTH + 1 or any(character not in _VALUE for character in compact):
        return None
    return compact if _check(compact[:-1]) == compact[-1] else None
