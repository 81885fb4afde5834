"""A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives, for e-mail tests.

    with SmtpSink() as sink:
        app.config.update(sink.config)
        ...
        message = sink.wait_for("someone@example.test")
"""

import re
import socket
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

LINK_RE = re.compile(r"https?://\S+")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    """Accepts every message (or refuses them while `refusing` is set) and keeps the parsed messages."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.refusing = False
        self.on_message = None  # called with each message before it is accepted (from the server's thread)
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        if self.refusing:
            return "451 Requested action aborted: try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        message.envelope_recipients = list(envelope.rcpt_tos)
        if self.on_message is not None:
            self.on_message(message)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    @property
    def config(self) -> dict:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.controller.port, "SMTP_STARTTLS": False,
                "SMTP_USER": ""}

    def __enter__(self) -> "SmtpSink":
        # The free port is found before the server binds it, so another process may take it meanwhile
        # (xdist workers run side by side): try another one.
        for attempt in range(5):
            self.controller = Controller(self, hostname="127.0.0.1", port=free_port())
            try:
                self.controller.start()
            except OSError:
                if attempt == 4:
                    raise
            else:
                return self

    def __exit__(self, *_exc) -> None:
        self.controller.stop()

    def to(self, recipient: str) -> list[EmailMessage]:
        return [m for m in self.messages if recipient in m.envelope_recipients]

    def wait_for(self, recipient: str, count: int = 1, timeout: float = 5) -> EmailMessage:
        """The latest message to `recipient`, once `count` of them have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.to(recipient)) < count:
            assert time.monotonic() < deadline, f"no e-mail to {recipient} arrived: {self.messages}"
            time.sleep(0.02)
        return self.to(recipient)[-1]


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies of a message."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def link_in(message: EmailMessage) -> str:
    text, _html = parts(message)
    found = LINK_RE.search(text)
    assert found, text
    return found.group(0)
