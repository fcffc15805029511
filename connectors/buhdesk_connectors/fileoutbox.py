"""A folder of .eml files as a buhdesk Transport, for the demo and for inspection.

Each envelope becomes ``<key>.eml`` (the exact message bytes) and ``<key>.json`` (the SMTP
envelope). Both are written atomically (temporary file, fsync, rename); the sidecar goes first,
so whoever sees an .eml also finds its envelope.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from buhdesk.interfaces import Envelope, TransientDeliveryError

log = logging.getLogger(__name__)


def file_stem(key: str) -> str:
    """A file-name-safe, reversible form of an outbox key (``urllib.parse.unquote`` undoes it)."""
    stem = quote(key, safe="")
    if stem.startswith("."):  # no hidden files, no "." or ".."
        stem = "%2E" + stem[1:]
    return stem or "_"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see either nothing or the whole file."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileTransport:
    """Deliver into ``outbox``: one ``.eml`` and one ``.json`` per envelope."""

    def __init__(self, outbox: str | Path) -> None:
        self.outbox = Path(outbox)
        self.outbox.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"FileTransport({str(self.outbox)!r})"

    def send(self, envelopes: Sequence[Envelope], *,
             on_sent: Callable[[str], None] | None = None) -> dict[str, Exception | None]:
        results: dict[str, Exception | None] = {}
        for envelope in envelopes:
            try:
                self._write(envelope)
                results[envelope.key] = None
            except OSError as e:
                log.warning("outbox %s: cannot write %s: %s", self.outbox, envelope.key, e)
                results[envelope.key] = TransientDeliveryError(f"cannot write to outbox: {e}")
                continue
            if on_sent is not None:
                on_sent(envelope.key)
        if envelopes:
            try:
                _fsync_dir(self.outbox)
            except OSError as e:
                log.warning("outbox %s: fsync failed: %s", self.outbox, e)
        return results

    def _write(self, envelope: Envelope) -> None:
        stem = file_stem(envelope.key)
        sidecar = {"key": envelope.key, "sender": envelope.sender,
                   "recipients": list(envelope.recipients)}
        text = json.dumps(sidecar, ensure_ascii=False, indent=2) + "\n"
        write_atomic(self.outbox / f"{stem}.json", text.encode("utf-8"))
        write_atomic(self.outbox / f"{stem}.eml", envelope.data)

    def close(self) -> None:
        """Nothing to release."""
