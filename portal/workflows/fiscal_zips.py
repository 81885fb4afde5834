"""Preparing a large month's ZIP (portal.services.fiscal.prepared): the month is read in its own read-only
session, chunk by chunk, and written to a part file that becomes the ZIP when it is whole; the state says how
many XMLs are in it as it goes. Nothing is written to the database, so SQLite writers never wait for it."""

import logging
import os

from flask_babel import force_locale
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Organisation
from portal.services.fiscal import month_zip, prepared
from portal.services.fiscal.months import Month

log = logging.getLogger(__name__)


def prepare(job_id: str) -> prepared.Prepared | None:
    """Write the job's ZIP; the job as it ended (None: no such job). A job already ready is left as it is."""
    job = prepared.read(job_id)
    if job is None or job.state == prepared.READY:
        return job
    job.state, job.done = prepared.RUNNING, 0
    prepared.save(job)

    def progress(done: int) -> None:
        job.done = done
        prepared.save(job)

    year, month = (int(part) for part in job.month.split("-"))
    try:
        with Session(db.engine) as session, force_locale(job.locale):
            client = session.get(Organisation, job.client_id)
            if client is None or client.reseller_id != job.reseller_id:
                raise LookupError(f"organisation {job.client_id} is no client of reseller {job.reseller_id}")
            with open(prepared.part_path(job), "wb") as target:
                for chunk in month_zip.month_zip(client, Month(year, month), job.model, job.kind, session=session,
                                                 progress=progress, locale=job.locale):
                    target.write(chunk)
            session.rollback()
        os.replace(prepared.part_path(job), prepared.zip_path(job))
    except Exception:
        log.exception("could not prepare the fiscal ZIP %s", job.id)
        prepared.part_path(job).unlink(missing_ok=True)
        job.state = prepared.FAILED
        prepared.save(job)
        return job
    job.state = prepared.READY
    prepared.save(job)
    log.info("prepared the fiscal ZIP %s (%d XMLs)", job.id, job.done)
    return job
