"""Receiving a gateway's webhook: verified by its signature, recorded, applied once."""

from flask import Blueprint, abort, jsonify, request

from portal.database import writing
from portal.extensions import csrf, db
from portal.orm import utcnow
from portal.services.payments import webhooks

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)


@bp.post("/<gateway>")
def receive(gateway: str):
    """Take one webhook of `gateway`; the answer says what came of it (2xx: stop sending it)."""
    body = request.get_data(cache=False)
    with writing():
        received = webhooks.receive(gateway[:20], request.headers, body, utcnow())
        if received is None:
            abort(404)
        db.session.commit()
    return jsonify({"outcome": received.event.outcome}), received.status
