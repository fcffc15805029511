"""A staff member's letter on a request: an answer (with its commands) when the rules entitle
the sender and the letter replies to a notice issued to them; otherwise an internal note — kept
in the request's audit trail and passed to the assignee, never sent to the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from sqlmodel import Session

from buhdesk.agent.merging import surviving
from buhdesk.reply.answers import handle_answer, parse_commands
from buhdesk.reply.outbox import notify
from buhdesk.route.mime import ParsedMessage
from buhdesk.route.quoting import new_text
from buhdesk.rules.routing import Absence, StaffMember
from buhdesk.service.runtime import Runtime
from buhdesk.store.append_rows import insert_event
from buhdesk.store.models import Message, Request
from buhdesk.trust.entitlement import Authority, acting_deputy, token_authority
from buhdesk.trust.floods import notify_capped
from buhdesk.trust.tokens import Token

log = logging.getLogger(__name__)


def handle_staff_letter(session: Session, rt: Runtime, msg: Message, parsed: ParsedMessage,
                        request: Request, token: Token | None, member: StaffMember,
                        absences: Sequence[Absence]) -> None:
    day = rt.now().astimezone(rt.config.service.tz).date()
    token, merged_number = _through_merge(session, request, token)
    authority = token_authority(rt.rules.staff, absences, request, member.login, token, day)
    if merged_number:
        authority = Authority(authority.allowed, f"{authority.why}; ответ на уведомление по "
                              f"обращению {merged_number}, объединённому с этим")
    msg.request_id = request.id
    if authority.allowed:
        insert_event(session, stage="route", action="authorised", request_id=request.id,
                     message_pk=msg.id, actor=member.login,
                     detail=json.dumps({"why": authority.why}, ensure_ascii=False))
        handle_answer(session, rt, msg, parsed, request)
        return
    record_note(session, rt, msg, parsed, request, member, authority, token, absences)


def _through_merge(session: Session, request: Request,
                   token: Token | None) -> tuple[Token | None, str]:
    """A notice of a request merged into ``request`` stands for ``request``: its accountant
    may still reply to the notice they had (the rules decide as for the survivor's own). The
    token for ``request`` and the merged request's number, or the token as it was and ""."""
    if token is None or request.id is None or token.request_id == request.id:
        return token, ""
    merged = session.get(Request, token.request_id)
    if merged is None or merged.merged_into is None or surviving(session, merged).id != request.id:
        return token, ""
    return replace(token, request_id=request.id), merged.number


def record_note(session: Session, rt: Runtime, msg: Message, parsed: ParsedMessage,
                request: Request, member: StaffMember, authority: Authority,
                token: Token | None, absences: Sequence[Absence]) -> None:
    """The letter as an internal note on ``request``; the assignee hears of it (capped)."""
    _text, commands = parse_commands(new_text(parsed.body_text))
    ignored = [name for name, on in (("#закрыть", commands.close), ("#открыть", commands.reopen),
                                     ("#ожидание", commands.wait),
                                     ("#передать", commands.transfer_to is not None),
                                     ("#отправить-как-есть", commands.force),
                                     ("#статья", bool(commands.articles)),
                                     ("#объединить", bool(commands.merge))) if on]
    msg.kind, msg.status = "note", "routed"
    insert_event(session, stage="route", action="staff-note", request_id=request.id,
                 message_pk=msg.id, actor=member.login, detail=json.dumps({
                     "why": authority.why, "token_issued_to": token.staff if token else None,
                     "ignored_commands": ignored}, ensure_ascii=False))
    log.warning("route: %s:%s from %s kept as a note on %s, not an answer: %s", msg.source,
                msg.source_key, member.login, request.number, authority.why)
    if not request.assignee or request.assignee == member.login:
        return
    author = f"{member.name} <{member.email}>"
    why = authority.why + (f"; команды не выполнены: {', '.join(ignored)}" if ignored else "")
    notify_capped(session, rt, request, member.email, lambda: for_assignee(
        rt, request, absences, lambda login: notify(
            session, rt, request, "note", login=login, note_author=author, why=why,
            body_text=parsed.body_text, attachments=[a.filename for a in parsed.attachments])))


def for_assignee(rt: Runtime, request: Request, absences: Sequence[Absence],
                 send: Callable[[str | None], None]) -> None:
    """Send a notice to the assignee (``send(None)``) and, while they are absent, to their
    acting deputy too (``send(login)``): the deputy's own token lets them answer."""
    send(None)
    day = rt.now().astimezone(rt.config.service.tz).date()
    deputy = acting_deputy(rt.rules.staff, absences, request.assignee, day)
    if deputy:
        send(deputy)
