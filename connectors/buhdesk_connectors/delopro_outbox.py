"""Answer packages for «ДелоПро» as a buhdesk Transport: each outbox row's JSON description
(see ``buhdesk.reply.answer_packages``) becomes ``outgoing/RPKG/`` with answer.xml, the files
and READY.

Writing is idempotent: a package already in outgoing/ (a crash after writing, before the row was
marked sent) counts as sent.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime

from buhdesk.interfaces import Envelope, PermanentDeliveryError, TransientDeliveryError
from buhdesk.reply.package_format import AnswerPackageData, PersonData
from buhdesk.store.blobs import BlobStore

from .delopro import AnswerPackage, DeloproFolder, DeloproUnavailable, InReplyTo, Person

log = logging.getLogger(__name__)


def _person(data: PersonData) -> Person:
    return Person(fio=data.get("fio") or "", post=data.get("post") or "",
                  department=data.get("department") or "", email=data.get("email") or None,
                  phone=data.get("phone") or None)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def answer_from_payload(payload: AnswerPackageData, blobs: BlobStore) -> AnswerPackage:
    """The AnswerPackage an outbox row describes; file bytes come from the blob store."""
    ref = payload["in_reply_to"]
    name = payload["package"]
    files = []
    for f in payload.get("files", []):
        try:
            files.append((f["name"], blobs.get(f["sha256"])))
        except FileNotFoundError as e:
            raise PermanentDeliveryError(
                f"файл ответа «{f['name']}» отсутствует в хранилище вложений") from e
    return AnswerPackage(
        name=name,
        in_reply_to=InReplyTo(ref["number"], _day(ref.get("date")), ref["doc_uid"],
                              ref.get("resolution_id")),
        request_id=payload["request"], result=payload["result"],
        executor=_person(payload["executor"]), summary=payload["summary"],
        addressee=_person(payload["addressee"]), files=tuple(files),
        created=datetime.fromisoformat(payload["created"]),
        package_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"buhdesk:answer:{name}")),
    )


class DeloproAnswerTransport:
    def __init__(self, folder: DeloproFolder, blobs: BlobStore) -> None:
        self.folder, self.blobs = folder, blobs

    def send(self, envelopes: Sequence[Envelope], *,
             on_sent: Callable[[str], None] | None = None) -> dict[str, Exception | None]:
        results: dict[str, Exception | None] = {}
        for env in envelopes:
            results[env.key] = self._one(env)
            if results[env.key] is None and on_sent is not None:
                on_sent(env.key)
        return results

    def _one(self, env: Envelope) -> Exception | None:
        try:
            answer = answer_from_payload(json.loads(env.data), self.blobs)
        except PermanentDeliveryError as e:
            return e
        except (ValueError, KeyError, TypeError) as e:
            return PermanentDeliveryError(f"описание пакета ответа повреждено: {e!r}")
        try:
            path = self.folder.write_answer(answer)
        except FileExistsError:
            log.info("answer package %s is already in outgoing/", answer.name)
            return None
        except ValueError as e:
            return PermanentDeliveryError(f"пакет ответа не может быть записан: {e}")
        except (DeloproUnavailable, OSError) as e:
            return TransientDeliveryError(f"папка «ДелоПро» недоступна: {e}")
        log.info("answer package %s written to %s", answer.name, path)
        return None

    def close(self) -> None:
        pass
