"""Requests a customer sends its commercial advisor, and staff's answers (DESIGN.md §2.1, seed 000).

A request goes to the organisation's advisor; an organisation without one reaches the vendor's
administrators, and every request is listed in the back office whoever it was addressed to. Sending,
answering and closing are audited, and each side is e-mailed in its own language.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import (
    ADVISOR_REQUEST_STATUSES,
    CONTACT_CHOICES,
    AdvisorRequest,
    Membership,
    Organisation,
    User,
)
from portal.models.advisor_requests import ANSWER_MAX, MESSAGE_MAX, PHONE_MAX, SUBJECT_MAX, TIME_MAX
from portal.orm import utcnow
from portal.services import audit
from portal.services.accounts.staff import vendor_organisation
from portal.services.errors import DomainError
from portal.services.mail import composing as mail

PHONE_CHARACTERS = frozenset("0123456789+-() .")


@dataclass(frozen=True)
class RequestData:
    subject: str
    message: str
    contact: str
    phone: str = ""
    preferred_time: str = ""


def _clean(data: RequestData) -> RequestData:
    """The request's fields trimmed, or the first broken rule as a DomainError naming its field."""
    subject, message = (data.subject or "").strip(), (data.message or "").strip()
    phone, when = (data.phone or "").strip(), (data.preferred_time or "").strip()
    if not subject:
        raise DomainError(_l("Write the subject of your request."), code="subject_required", field="subject")
    if len(subject) > SUBJECT_MAX:
        raise DomainError(_l("The subject can be at most %(max)d characters.", max=SUBJECT_MAX),
                          code="subject_too_long", field="subject")
    if not message:
        raise DomainError(_l("Write your request: what you would like to know or activate."),
                          code="message_required", field="message")
    if len(message) > MESSAGE_MAX:
        raise DomainError(_l("The message can be at most %(max)d characters. Keep the essentials; your advisor "
                             "will ask for the rest.", max=MESSAGE_MAX), code="message_too_long", field="message")
    if data.contact not in CONTACT_CHOICES:
        raise DomainError(_l("Choose how you would like to be contacted: e-mail, phone or video call."),
                          code="unknown_contact", field="contact")
    if data.contact == "phone" and not phone:
        raise DomainError(_l("Give the phone number to call you on."), code="phone_required", field="phone")
    if len(phone) > PHONE_MAX or not set(phone) <= PHONE_CHARACTERS or (phone and not any(c.isdigit() for c in phone)):
        raise DomainError(_l("This phone number is not valid: use digits, spaces and + - ( ), at most %(max)d.",
                             max=PHONE_MAX), code="invalid_phone", field="phone")
    if data.contact == "video" and not when:
        raise DomainError(_l("Say when a video call suits you (days and hours)."), code="time_required",
                          field="preferred_time")
    if len(when) > TIME_MAX:
        raise DomainError(_l("The preferred time can be at most %(max)d characters.", max=TIME_MAX),
                          code="time_too_long", field="preferred_time")
    return RequestData(subject, message, data.contact, phone if data.contact == "phone" else "",
                       when if data.contact in ("phone", "video") else "")


def _staff_recipients() -> list[User]:
    """Who reads a request of an organisation without an advisor: the vendor's administrators."""
    vendor = vendor_organisation()
    if vendor is None:
        return []
    return list(db.session.scalars(
        db.select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == vendor.id, Membership.role == "admin",
               Membership.accepted_at.is_not(None), User.is_active.is_(True))
        .order_by(User.id)))


def send_request(organisation: Organisation, user: User, data: RequestData,
                 address: str | None = None) -> AdvisorRequest:
    """Store a request to the organisation's advisor (or, without one, to the vendor's staff), e-mail it to
    them in their language and record it in the audit log."""
    data = _clean(data)
    advisor = organisation.advisor
    row = AdvisorRequest(organisation_id=organisation.id, user_id=user.id,
                         advisor_id=advisor.id if advisor is not None else None, subject=data.subject,
                         message=data.message, contact=data.contact, phone=data.phone or None,
                         preferred_time=data.preferred_time or None, status="open")
    db.session.add(row)
    db.session.flush()
    audit.record("advisor_request_sent", actor=user, organisation=organisation, obj=row,
                 details={"advisor_id": row.advisor_id, "contact": row.contact}, address=address)
    vendor = vendor_organisation()
    fallback = vendor.locale if vendor is not None else organisation.locale
    link = mail.external_url("backoffice.advisor_request", request_id=row.id)
    for recipient in [advisor] if advisor is not None else _staff_recipients():
        mail.queue_email(recipient.email, "advisor_request", recipient.locale or fallback, person=recipient,
                         sent=row, organisation=organisation, sender=user, link=link,
                         to_staff=advisor is None)
    return row


def _settle(row: AdvisorRequest) -> None:
    if row.status == "closed":
        raise DomainError(_l("This request is closed: it cannot change any more."), code="closed", status=409)


def answer_request(row: AdvisorRequest, staff: User, answer: str, address: str | None = None) -> AdvisorRequest:
    """Write staff's answer (the customer reads it and is e-mailed it); the request is then answered."""
    _settle(row)
    answer = (answer or "").strip()
    if not answer:
        raise DomainError(_l("Write the answer for the customer."), code="answer_required", field="answer")
    if len(answer) > ANSWER_MAX:
        raise DomainError(_l("The answer can be at most %(max)d characters.", max=ANSWER_MAX),
                          code="answer_too_long", field="answer")
    row.answer, row.status, row.answered_by_id, row.answered_at = answer, "answered", staff.id, utcnow()
    db.session.flush()
    audit.record("advisor_request_answered", actor=staff, organisation=row.organisation, obj=row,
                 details={"length": len(answer)}, address=address)
    sender = row.user
    mail.queue_email(sender.email, "advisor_request_answer", sender.locale or row.organisation.locale,
                     person=sender, sent=row, organisation=row.organisation, staff=staff,
                     link=mail.external_url("customer.advisor_request", request_id=row.id))
    return row


def close_request(row: AdvisorRequest, staff: User, address: str | None = None) -> AdvisorRequest:
    """Close a request: nothing more to do (it keeps its answer, if any)."""
    _settle(row)
    row.status, row.closed_at = "closed", utcnow()
    db.session.flush()
    audit.record("advisor_request_closed", actor=staff, organisation=row.organisation, obj=row, address=address)
    return row


def customer_requests(organisation: Organisation):
    """The organisation's requests, newest first (a select to page)."""
    return (db.select(AdvisorRequest).where(AdvisorRequest.organisation_id == organisation.id)
            .options(db.joinedload(AdvisorRequest.advisor), db.joinedload(AdvisorRequest.user))
            .order_by(AdvisorRequest.id.desc()))


def customer_request(organisation: Organisation, request_id: int) -> AdvisorRequest | None:
    """One of the organisation's requests (None for another organisation's)."""
    return db.session.scalar(db.select(AdvisorRequest).where(AdvisorRequest.id == request_id,
                                                             AdvisorRequest.organisation_id == organisation.id))


def staff_requests(status: str = ""):
    """Every organisation's requests for the back office, newest first, of one status or all."""
    query = (db.select(AdvisorRequest)
             .options(db.joinedload(AdvisorRequest.organisation), db.joinedload(AdvisorRequest.advisor))
             .order_by(AdvisorRequest.id.desc()))
    if status in ADVISOR_REQUEST_STATUSES:
        query = query.where(AdvisorRequest.status == status)
    return query


def staff_request(request_id: int) -> AdvisorRequest | None:
    return db.session.get(AdvisorRequest, request_id)
