"""Nothing secret is ever logged: every record any test makes is scanned as it is written.

Installed on the root logger for the whole suite (tests/conftest.py), at INFO, so that the portal's own
request and job records are seen too. A test that makes a record holding a password, a test card number,
an integration key or the token of an e-mailed link fails with that record.
"""

import logging
import re

from portal.services.accounts.integration import KEY_PREFIX
from portal.services.payments.sandbox import TEST_CARDS
from tests import factories

_PASSWORDS = (factories.PASSWORD, "vitrine-demo", "vitrine-bench")
_KEY = re.compile(re.escape(KEY_PREFIX) + r"[A-Za-z0-9_-]{16,}")
_LINK_TOKEN = re.compile(r"/(?:password/reset|invitation|signup/confirm)/[A-Za-z0-9_.-]{16,}")


def secrets_in(text: str) -> list[str]:
    found = [f"password {p!r}" for p in _PASSWORDS if p in text]
    digits = re.sub(r"(?<=\d)[ -](?=\d)", "", text)
    found += [f"card {number[:4]}…" for number in TEST_CARDS if number in digits]
    found += [f"integration key {m.group()[:len(KEY_PREFIX) + 4]}…" for m in _KEY.finditer(text)]
    found += [f"link token {m.group()[:30]}…" for m in _LINK_TOKEN.finditer(text)]
    return found


class SecretScanner(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.findings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "werkzeug":
            return  # the development server's own access lines (browser tests' live portal), not the portal's
        try:
            text = record.getMessage()
        except Exception:  # a broken record is not ours to judge
            return
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]}"
        for secret in secrets_in(text):
            self.findings.append(f"{record.name}: {secret} in {text[:160]!r}")


scanner = SecretScanner()


def install() -> None:
    root = logging.getLogger()
    if scanner not in root.handlers:
        root.addHandler(scanner)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
