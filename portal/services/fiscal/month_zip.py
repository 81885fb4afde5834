"""A month's issued XMLs as a ZIP written as it goes: each XML (the bytes as received, named by its access key)
is compressed into the archive and the archive's bytes handed on in chunks, so that neither the web process
nor the job ever holds the month in memory — nor its list of entries, which goes to a temporary file until the
central directory is written from it. zipfile writes to a sink that cannot seek: each entry is followed
by its data descriptor, and the central directory comes at the end, as every unzip tool expects.

The reports' ZIP ("Relatórios e documentos") is the same archive with the month's summary PDF
(portal.services.fiscal.summary_pdf) as its last entry, drawn from the figures gathered while the XMLs went by.
"""

import io
import pickle
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from portal.models import Organisation
from portal.services.fiscal import months, summary_pdf
from portal.services.fiscal.months import Month

XMLS, REPORTS = "xml", "reports"
KINDS = (XMLS, REPORTS)
CHUNK_BYTES = 256 * 1024


class _Sink(io.RawIOBase):
    """Where zipfile writes: keeps what was written until it is taken. Not seekable, so zipfile streams. While
    the archive closes, nothing can be handed on: the central directory it writes then goes to a temporary
    file past `limit` bytes, to be handed on in chunks afterwards (`drain`)."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self.limit: int | None = None  # set when the archive closes
        self._spilled = None

    @property
    def size(self) -> int:
        return len(self._buffer)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._buffer += data
        if self.limit is not None and len(self._buffer) > self.limit:
            if self._spilled is None:
                self._spilled = tempfile.TemporaryFile()  # noqa: SIM115 — closed by drain() or close()
            self._spilled.write(self._buffer)
            self._buffer.clear()
        return len(data)

    def take(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def close(self) -> None:
        if self._spilled is not None:
            self._spilled.close()
            self._spilled = None
        super().close()

    def drain(self, chunk_bytes: int) -> Iterator[bytes]:
        """Everything still kept, in chunks (the spilled part first)."""
        if self._spilled is not None:
            self._spilled.seek(0)
            while chunk := self._spilled.read(chunk_bytes):
                yield chunk
            self._spilled.close()
            self._spilled = None
        yield self.take()


class _SpilledEntries:
    """zipfile's list of the entries written, kept in a temporary file instead of memory: the central directory
    (which a ZIP writes at its end, one record per file) is read back from it when the archive closes, so that
    memory does not grow with the month. zipfile appends each entry once it is whole (its CRC and sizes known,
    its data descriptor written), counts them and iterates them for the central directory; that is all it asks."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 — closed by close(), when the archive is written
        self._count = 0

    def append(self, info: zipfile.ZipInfo) -> None:
        pickle.dump(info, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[zipfile.ZipInfo]:
        self._file.seek(0)
        for _ in range(self._count):
            yield pickle.load(self._file)  # noqa: S301 — our own records, in a file only this process wrote

    def close(self) -> None:
        self._file.close()


class _NoNames(dict):
    """zipfile's name → entry map, kept empty: the names are access keys, unique for a client (the database
    says so), so there is no duplicate to warn about and nothing to look up."""

    def __setitem__(self, _name, _info) -> None:
        return None


def _info(name: str, moment: datetime) -> zipfile.ZipInfo:
    stamp = moment.timetuple()[:6] if moment.year >= 1980 else (1980, 1, 1, 0, 0, 0)
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def zip_chunks(entries: Iterable[tuple[str, bytes, datetime]], chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The bytes of a ZIP of `entries` (name, content, time), in chunks of about `chunk_bytes`."""
    sink, written = _Sink(), _SpilledEntries()
    archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    try:
        archive.filelist, archive.NameToInfo = written, _NoNames()
        for name, content, moment in entries:
            archive.writestr(_info(name, moment), content)
            if sink.size >= chunk_bytes:
                yield sink.take()
        yield sink.take()
        sink.limit = chunk_bytes  # the central directory, written at once, is handed on in chunks afterwards
        archive.close()
        yield from sink.drain(chunk_bytes)
    finally:
        archive.fp = None  # a download stopped halfway leaves nothing for zipfile to finish (it writes no more)
        written.close()
        sink.close()


def xml_name(access_key: str) -> str:
    """An XML's name in the ZIP: its access key, as the NF-e's own file is named (…-nfe.xml by SEFAZ)."""
    return f"{access_key}.xml"


def zip_filename(client: Organisation, month: Month, model: str, kind: str) -> str:
    """NFe-2026-11-45398765000160.zip, or with "relatorio" for the reports' ZIP; plain ASCII."""
    prefix = "relatorio-" if kind == REPORTS else ""
    tax_id = "".join(char for char in (client.tax_id or str(client.id)) if char.isalnum())
    return f"{prefix}{months.MODEL_NAMES[model]}-{month.code}-{tax_id}.zip"


def month_entries(client: Organisation, month: Month, model: str, kind: str, session=None,
                  progress: Callable[[int], None] | None = None,
                  locale: str | None = None) -> Iterator[tuple[str, bytes, datetime]]:
    """The entries of the month's ZIP: each issued XML of `model` in date order, then (for REPORTS) the summary
    PDF. `progress(n)` is told how many XMLs went by, every chunk."""
    summary = summary_pdf.Summary(months.zone_of(client)) if kind == REPORTS else None
    done = 0
    for row in months.issued_rows(client, month, model, session=session):
        content = zlib.decompress(row.xml)
        if summary is not None:
            summary.add(row.issued_at, row.total, content)
        yield xml_name(row.access_key), content, row.issued_at
        done += 1
        if progress is not None and done % months.CHUNK == 0:
            progress(done)
    if progress is not None:
        progress(done)
    if summary is not None:
        pdf = summary_pdf.render_summary(summary, client, month, model, locale=locale)
        yield summary_pdf.pdf_filename(month, model), pdf, datetime.now(months.zone_of(client))


def month_zip(client: Organisation, month: Month, model: str, kind: str, session=None,
              progress: Callable[[int], None] | None = None, locale: str | None = None) -> Iterator[bytes]:
    """The month's ZIP (issued XMLs, and for REPORTS the summary PDF), streamed in chunks."""
    return zip_chunks(month_entries(client, month, model, kind, session=session, progress=progress, locale=locale))
