"""E-mail messages: rendered in the recipient's language and stored in the outbox, in the caller's transaction.

Once that transaction commits, the ids of the messages it stored are handed on (`hooks.after_commit`) to the
job that sends them (`portal.workflows.outbox`), so nothing is sent for a rolled-back change and nothing
committed is lost (the periodic job picks up anything left pending).

A message queued with `render_at_send` is stored with the values it is rendered from (plain JSON values:
names, numbers, amounts already formatted for the reader) and rendered by its sender just before its first try
(`render_stored`), in its recipient's language: a batch that pays hundreds of invoices stores their receipts
without rendering three templates for each inside its transaction.
"""

from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import event

from portal.bulk import BulkWriter
from portal.extensions import db
from portal.models import OutboxMessage
from portal.orm import utcnow
from portal.services import hooks


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an e-mail, always under PORTAL_BASE_URL (which may end in a URL prefix).

    Never built from the request's Host header: a forged host must not end up in a password reset link.
    """
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def queue_email(recipient: str, template: str, locale: str, flush: bool = True, render_at_send: bool = False,
                **context) -> OutboxMessage | None:
    """Render templates/email/<template>.{subject.txt,txt,html} in `locale` and store the message. Without
    `flush`, a batch's messages are held and stored in one statement (`hand_on`, or when the transaction
    commits), and None is returned. With `render_at_send`, the message keeps `context` (JSON values only) and
    its sender renders it (`render_stored`)."""
    if render_at_send:
        values = dict(recipient=recipient, subject="", text_body="", html_body="", locale=locale,
                      template=template, context=context)
    else:
        values = dict(recipient=recipient, **rendered(template, locale, context), locale=locale, template=template,
                      context=None)
    if not flush:
        db.session.info.setdefault(_HELD, []).append(values)
        return None
    message = OutboxMessage(**values)
    db.session.add(message)
    db.session.flush()
    hooks.after_commit("send_email", [message.id])
    return message


def rendered(template: str, locale: str, context: dict) -> dict:
    """The subject, text and HTML of templates/email/<template> in `locale`, the context processors run once
    for the three (what flask.render_template does for each: a batch of notices renders hundreds)."""
    context = dict(context)
    context.setdefault("brand", current_app.config["BRAND_NAME"])
    shades = current_app.extensions["vitrine_brand"].shades  # portal/branding.py: the vendor's colour, if set
    context.setdefault("brand_colour", shades.get("brand", "#0b5cab"))
    context.setdefault("brand_bar", shades.get("brand-bar", "#0b4f94"))
    app = current_app._get_current_object()
    with force_locale(locale):
        app.update_template_context(context)
        subject, text_body, html_body = (app.jinja_env.get_template(f"email/{template}.{part}").render(context)
                                         for part in ("subject.txt", "txt", "html"))
    return {"subject": " ".join(subject.split())[:300], "text_body": text_body, "html_body": html_body}


def render_stored(message: OutboxMessage) -> dict:
    """What a message queued with `render_at_send` is to store once rendered (its subject and bodies, its
    values cleared), set on `message` too; {} for a message rendered when it was queued."""
    if message.context is None:
        return {}
    values = {**rendered(message.template, message.locale, message.context), "context": None}
    for name, value in values.items():
        setattr(message, name, value)
    return values


_HELD = "outbox_held"  # the messages queued without a flush, in the session's transaction


def hand_on(session=None) -> None:
    """Store the messages queued without a flush, in one statement, and have them sent once the transaction
    commits."""
    session = session if session is not None else db.session()
    rows = session.info.pop(_HELD, None)
    if rows:
        bulk = BulkWriter()
        stored = bulk.time(utcnow())
        hooks.after_commit("send_email", bulk.insert_new(OutboxMessage, [
            {**row, "context": bulk.json(row["context"]) if row["context"] is not None else None,
             "status": "pending", "attempts": 0, "last_error": None, "created_at": stored, "sent_at": None}
            for row in rows]))


def _drop_held(session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_HELD, None)


event.listen(db.session, "before_commit", hand_on)
event.listen(db.session, "after_rollback", _drop_held)


def compose(message: OutboxMessage, sender: str) -> EmailMessage:
    """The MIME message: a plain-text part and an HTML alternative."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    # The same for every try of one stored message: should it reach the recipient twice (its sender died after
    # the SMTP server took it), mail programs see one message.
    domain = sender.rpartition("@")[2].strip("> ") or "vitrine.localhost"
    stamp = f"{message.created_at:%Y%m%d%H%M%S%f}" if message.created_at else "0"
    email["Message-ID"] = f"<outbox.{message.id}.{stamp}@{domain}>" if message.id else make_msgid(domain=domain)
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    return email
