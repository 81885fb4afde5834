"""Reminders that a client's digital certificate is about to expire: 30 days before and again 7 days before,
each once, to the client's administrators and to the managers of its reseller (who keep the certificate), each
in their own language. A certificate replaced by a new one starts its own reminders (the trigger names it)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from portal.extensions import db
from portal.models import ClientCertificate, Membership, NoticeLog, Organisation, User
from portal.services.notices.dunning import send_once

STAGES = (30, 7)  # days before the expiry; the nearest one reached is the one sent
NOTICE = "certificate_expiring"


@dataclass
class CertificateReminders:
    sent: dict[int, int] = field(default_factory=dict)  # stage → reminders sent


def _people(organisation_ids: list[int], role: str) -> dict[int, list[tuple[str, str | None]]]:
    """(e-mail, language) of the accepted, active members with `role` of each organisation, in one query."""
    found: dict[int, list[tuple[str, str | None]]] = {}
    for org_id, email, locale in db.session.execute(
            db.select(Membership.organisation_id, User.email, User.locale).join(User, User.id == Membership.user_id)
            .where(Membership.organisation_id.in_(organisation_ids), Membership.role == role,
                   Membership.accepted_at.is_not(None), User.is_active).order_by(User.email)):
        found.setdefault(org_id, []).append((email.lower(), locale))
    return found


def _trigger(certificate: ClientCertificate, stage: int) -> str:
    return f"cert:{certificate.fingerprint[:32]}:{stage}"


def run_certificate_reminders(now: datetime) -> CertificateReminders:
    """Send every reminder due now: a certificate expiring within 30 days gets the 30-day one, within 7 days the
    7-day one (a certificate first seen at 5 days gets only that one). The client's administrators are told
    from the client's account, its reseller's managers from the reseller's, each with the link they can open.
    Statements: a fixed number to find them, plus the sending of each."""
    from portal.services.mail import composing as mail

    result = CertificateReminders()
    rows = db.session.execute(
        db.select(ClientCertificate, Organisation)
        .join(Organisation, Organisation.id == ClientCertificate.organisation_id)
        .where(ClientCertificate.not_after > now, ClientCertificate.not_after <= now + timedelta(days=STAGES[0]))
        .order_by(ClientCertificate.not_after)).all()
    if not rows:
        return result
    reseller_ids = sorted({client.reseller_id for _c, client in rows if client.reseller_id})
    resellers = {org.id: org for org in db.session.scalars(db.select(Organisation).where(
        Organisation.id.in_(reseller_ids)))}
    told_from = [client.id for _c, client in rows] + reseller_ids
    sent = {(org_id, trigger) for org_id, trigger in db.session.execute(
        db.select(NoticeLog.organisation_id, NoticeLog.trigger).where(
            NoticeLog.notice == NOTICE, NoticeLog.organisation_id.in_(told_from)))}
    admins = _people([client.id for _c, client in rows], "admin")
    managers = _people(reseller_ids, "manager")
    for certificate, client in rows:
        stage = min(days for days in STAGES if certificate.not_after <= now + timedelta(days=days))
        trigger = _trigger(certificate, stage)
        facts = {"certificate": certificate, "client": client, "days": max((certificate.not_after - now).days, 0)}
        told = False
        if (client.id, trigger) not in sent:
            told |= send_once(client, NOTICE, trigger, now, mail.external_url("customer.home"),
                              recipients=[(email, locale or client.locale)
                                          for email, locale in admins.get(client.id, [])],
                              reseller=resellers.get(client.reseller_id), **facts)
        reseller = resellers.get(client.reseller_id)
        if reseller is not None and (reseller.id, f"{trigger}:{client.id}") not in sent:
            told |= send_once(reseller, NOTICE, f"{trigger}:{client.id}", now,
                              mail.external_url("reseller.client_settings", client_id=client.id, tab="certificate"),
                              recipients=[(email, locale or reseller.locale)
                                          for email, locale in managers.get(reseller.id, [])],
                              reseller=None, **facts)
        if told:
            result.sent[stage] = result.sent.get(stage, 0) + 1
    return result
