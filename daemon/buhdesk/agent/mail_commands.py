"""Staff commands by mail that read rather than act: «#история» (in a reply to a notice: the
request's story), «#мои» (one's open requests) and «#найти слова» (up to 20 requests one may see),
the last two also in a letter of their own to the service address.

Every command checks the sender: a staff address, and authenticated — by a notice token issued
to a staff member in a reply, otherwise by our mail server's verdict when ``[auth]`` is set up.
The answer always goes to the address in the staff file, never to a client; a letter of
commands only from anyone else gets a polite refusal and opens no request.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from buhdesk.agent.find import FindError, Query, find_requests, found_line
from buhdesk.agent.mylist import absences_now, send_my_list
from buhdesk.agent.story import build_story, story_lines
from buhdesk.agent.visibility import can_see, visible_condition
from buhdesk.reply.outbox import AcksToday, enqueue
from buhdesk.route.mime import ParsedMessage
from buhdesk.route.quoting import split_signature, strip_quoted
from buhdesk.rules.routing import Absence, StaffMember
from buhdesk.service.runtime import Runtime
from buhdesk.store.append_rows import insert_event
from buhdesk.store.models import Message, Request
from buhdesk.trust.sender_auth import header_fields, trusted_reports, verdict
from buhdesk.trust.settings import auth_settings
from buhdesk.trust.tokens import Token

log = logging.getLogger(__name__)

QUERY = re.compile(r"^\s*#(история|мои|найти)\b[ \t]*(.*)$", re.IGNORECASE)
# Any command line of a staff letter (the answer's commands too): a letter of such lines only is
# a letter of commands.
ANY_COMMAND = re.compile(r"^\s*#[^\W\d_][\w-]*", re.IGNORECASE)
FIND_LIMIT = 20
TEMPLATE = "agent_reply"


@dataclass(frozen=True)
class Asked:
    word: str  # история | мои | найти
    arg: str


def asked_in(text: str) -> list[Asked]:
    """The read commands on their own lines of a letter's own text."""
    found = []
    for line in text.splitlines():
        m = QUERY.match(line)
        if m:
            found.append(Asked(m[1].lower(), m[2].strip()))
    return found


def own_text(parsed: ParsedMessage) -> str:
    own, _signature = split_signature(strip_quoted(parsed.body_text))
    return own


def commands_only(text: str) -> bool:
    """Every line with words is a command line."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return bool(lines) and all(ANY_COMMAND.match(ln) for ln in lines)


def handle_commands(session: Session, rt: Runtime, msg: Message, parsed: ParsedMessage,
                    data: bytes | bytearray, *, member: StaffMember | None,
                    request: Request | None,
                    token: Token | None) -> bool:
    """Answer the read commands of a letter; True when the letter was commands only and is
    done with (it is neither an answer nor a client's letter), False to route it on."""
    own = own_text(parsed)
    asked = asked_in(own)
    if not asked:
        return False
    alone = commands_only(own)
    if member is None:
        if not alone:
            return False  # a client's letter that mentions a command is the client's letter
        _refuse(session, rt, msg, parsed, request)
        return True
    why = _unauthenticated(rt, data, parsed, token)
    for item in asked:
        _answer(session, rt, msg, parsed, member, request, item, refused=why)
    if alone:
        msg.kind, msg.status = "command", "routed"
        msg.request_id = request.id if request else None
    return alone


def _unauthenticated(rt: Runtime, data: bytes | bytearray, parsed: ParsedMessage,
                     token: Token | None) -> str | None:
    """Why the sender is not taken as the staff member they claim to be (Russian), or None."""
    if token is not None and token.staff and not token.legacy:
        return None  # a reply to a letter we sent to a staff member
    settings = auth_settings(rt.config)
    if not settings.enabled:
        return None  # no verdicts to read; the reply goes to the staff file's address anyway
    found = verdict(trusted_reports(header_fields(data), settings.trusted_ids), parsed.from_addr)
    if found.outcome == "pass":
        return None
    return ("почтовый сервер не подтвердил, что письмо отправлено с вашего адреса "
            f"({found.detail}); отправьте команду ещё раз из своей служебной почты")


def _answer(session: Session, rt: Runtime, msg: Message, parsed: ParsedMessage,
            member: StaffMember, request: Request | None, item: Asked, *,
            refused: str | None) -> None:
    now = rt.now()
    day = now.astimezone(rt.config.service.tz).date()
    absences = absences_now(session, rt)
    lines: list[str] = []
    title, outcome = "", "answered"
    if refused:
        title, outcome = "команда не выполнена", "refused"
        lines = [f"Команда «#{item.word}» не выполнена: {refused}."]
    elif item.word == "мои":
        send_my_list(session, rt, member, now, on_demand=True, reply_to=parsed.message_id)
        _record(session, msg, member, request, item, outcome)
        return
    elif item.word == "история":
        if request is None:
            title, outcome = "история не найдена", "refused"
            lines = ["Команда «#история» работает в ответе на уведомление об обращении: "
                     "ответьте на уведомление (или на напоминание) и напишите в ответе "
                     "«#история»."]
        elif not can_see(rt.rules.staff, absences, member, request, day):
            title, outcome = "нет доступа", "refused"
            lines = [f"Обращение {request.number} ведёт сотрудник другого отдела: его история "
                     "вам недоступна."]
        else:
            title = f"история обращения {request.number}"
            lines = story_lines(rt.rules, build_story(session, rt.rules, request),
                                rt.config.service.tz)
    else:  # найти
        title, lines, outcome = _found(session, rt, member, item.arg, absences, day)
    rendered = rt.templates.render(TEMPLATE, service={"name": rt.config.service.name,
                                                      "address": rt.config.service.address},
                                   member=member, title=title, lines=lines, command=item.word)
    enqueue(session, rt, request=None, kind="info", to=[member.email], rendered=rendered,
            reply_to_ids=[parsed.message_id] if parsed.message_id else [], auto="auto-replied")
    _record(session, msg, member, request, item, outcome)


def _found(session: Session, rt: Runtime, member: StaffMember, words: str,
           absences: list[Absence], day: date) -> tuple[str, list[str], str]:
    tz = rt.config.service.tz
    try:
        found = find_requests(session, rt.rules.ruleset.classifier.lemmatizer,
                              Query(words=words, limit=FIND_LIMIT), tz=tz,
                              visible=visible_condition(rt.rules.staff, absences, member, day))
    except FindError as e:
        return "поиск не выполнен", [f"Поиск не выполнен: {e}.",
                                     "Пример: «#найти справка 2-НДФЛ»."], "refused"
    names = {login: m.name for login, m in rt.rules.staff.items()}
    if not found:
        return f"по запросу «{words}» ничего не найдено", [
            f"По запросу «{words}» обращений не найдено (искали в темах и текстах писем "
            "клиентов, в любых формах слов)."], "answered"
    head = (f"Найдено обращений: {len(found)}" + (f" (показаны последние {FIND_LIMIT})"
                                                    if len(found) >= FIND_LIMIT else "") + ".")
    lines = [head, "", *(found_line(f, tz, names) for f in found)]
    return f"найдено по запросу «{words}»", lines, "answered"


def _record(session: Session, msg: Message, member: StaffMember, request: Request | None,
            item: Asked, outcome: str) -> None:
    insert_event(session, stage="route", action="staff-command", request_id=request.id if request
                 else None, message_pk=msg.id, actor=member.login, detail=json.dumps(
                     {"command": f"#{item.word}", "argument": item.arg, "outcome": outcome},
                     ensure_ascii=False))
    log.info("route: %s:%s #%s from %s: %s", msg.source, msg.source_key, item.word, member.login,
             outcome)


def _refuse(session: Session, rt: Runtime, msg: Message, parsed: ParsedMessage,
            request: Request | None) -> None:
    """A polite letter to someone outside the staff; nothing about any request is in it."""
    address = parsed.from_addr or ""
    msg.kind, msg.status = "command", "ignored"
    msg.request_id = request.id if request else None
    insert_event(session, stage="route", action="staff-command-refused",
                 request_id=request.id if request else None, message_pk=msg.id,
                 actor=address, detail=json.dumps({"from": address}, ensure_ascii=False))
    log.info("route: %s:%s commands from %s, not staff: refused", msg.source, msg.source_key,
             address)
    if not address or AcksToday().today(session, rt, address) >= \
            rt.config.service.auto_reply_daily_cap:
        return
    rendered = rt.templates.render("agent_refused", service={
        "name": rt.config.service.name, "address": rt.config.service.address})
    enqueue(session, rt, request=None, kind="info", to=[address], rendered=rendered,
            reply_to_ids=[parsed.message_id] if parsed.message_id else [], auto="auto-replied")
