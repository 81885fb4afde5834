"""Matching an imported statement's rows to payments, one batch per transaction, so that the import's page
shows progress while a large file is matched and a worker stopped halfway resumes where it was."""

import logging

from flask import current_app

from portal.database import writing
from portal.extensions import db
from portal.orm import utcnow
from portal.services.payments.offline import reconciliation

log = logging.getLogger(__name__)


def match_statement(import_id: int, batch_rows: int = reconciliation.BATCH_ROWS) -> int:
    """Match every row of the import still to match; returns how many were processed by this call.

    Runs in an application context of its own, hence a session of its own: it may be called right after
    the import's commit (a job run at once), while the session that committed is still finishing."""
    processed = 0
    with current_app.app_context(), writing():
        while True:
            count = reconciliation.match_batch(import_id, utcnow(), batch_rows)
            db.session.commit()
            if not count:
                break
            processed += count
    log.info("statement import %s: %d rows matched or left for a person", import_id, processed)
    return processed
