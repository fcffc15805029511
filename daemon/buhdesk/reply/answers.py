"""Accountants' answers: a staff reply to a notice (our signed token in its references) is an
answer. Commands on their own lines steer it; the whole rendered letter is checked before it goes
out, or returned to the accountant with the findings.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.agent.merging import MergeError, find_request, merge, merged_clients
from buhdesk.agent.mylist import absences_now
from buhdesk.agent.notes import record_notes
from buhdesk.agent.visibility import can_see
from buhdesk.kb.mail import insert_articles, missing_articles_message, public_url, record_inserted
from buhdesk.reply.addressing import addressee, drop_greeting, formal_greeting, starts_with_greeting
from buhdesk.reply.answer_packages import CHANNEL, queue_answer_package
from buhdesk.reply.compose import FileToSend
from buhdesk.reply.outbox import client_thread, enqueue, notify, request_vars
from buhdesk.reply.templating import Rendered
from buhdesk.route.lifecycle import next_state
from buhdesk.route.mime import ParsedMessage
from buhdesk.route.participants import answer_copies, copies_settings
from buhdesk.route.quoting import new_text
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Event, Message, Request
from buhdesk.textcheck import Finding
from buhdesk.textcheck.learned import STAGE as TEXTCHECK_STAGE
from buhdesk.textcheck.learned import WORD_ADDED, words_of

log = logging.getLogger(__name__)

COMMAND_WORDS = ("закрыть", "открыть", "ожидание", "передать", "отправить-как-есть", "статья",
                 "слово", "заметка", "объединить", "история", "мои", "найти")
_COMMAND = re.compile(rf"^\s*#({'|'.join(COMMAND_WORDS)})(?![\w-])\s*(.*)$", re.IGNORECASE)
_COMMAND_LIKE = re.compile(r"^\s*#([^\W\d_][\w-]*)(.*)$")
_WORD = re.compile(r"[^\W\d_]{2,40}(?:-[^\W\d_]{1,40})?")
_NUMBER = re.compile(r"[А-ЯЁа-яёA-Za-z]{2,10}-\d{4}-\d{3,9}")


@dataclass
class Commands:
    close: bool = False
    reopen: bool = False
    wait: bool = False
    transfer_to: str | None = None
    force: bool = False
    articles: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    problems: list[dict[str, object]] = field(default_factory=list)  # lines that did not parse
    notes: list[str] = field(default_factory=list)  # «#заметка …»: kept, never sent
    merge: list[str] = field(default_factory=list)  # «#объединить НОМЕР»: duplicates to join


def parse_commands(text: str) -> tuple[str, Commands]:
    """Split the accountant's text into the answer and the commands written on their own lines.

    ``text`` is the new text of the letter only (:func:`buhdesk.route.quoting.new_text`): a
    command is never read from quoted history. A line that looks like a command but is none, or
    a command without what it needs, goes to ``problems``: it is reported back, not run."""
    commands, kept = Commands(), []
    for number, line in enumerate(text.splitlines(), 1):
        m = _COMMAND.match(line)
        if not m:
            if _COMMAND_LIKE.match(line):
                commands.problems.append(_unknown_command(number, line))
                continue
            kept.append(line)
            continue
        if problem := _missing_argument(number, line, m[1].lower(), m[2].strip()):
            commands.problems.append(problem)
            continue
        word, arg = m[1].lower(), m[2].strip()
        if word == "закрыть":
            commands.close = True
        elif word == "открыть":
            commands.reopen = True
        elif word == "ожидание":
            commands.wait = True
        elif word == "передать":
            commands.transfer_to = arg.split()[0] if arg else ""
        elif word == "отправить-как-есть":
            commands.force = True
        elif word == "статья" and arg:
            commands.articles.append(arg.split()[0])
        elif word == "заметка" and arg:
            commands.notes.append(arg)
        elif word == "объединить":
            commands.merge += [n.upper() for n in _NUMBER.findall(arg)]
        # «#история», «#мои», «#найти» are answered by buhdesk.agent.mail_commands
        elif word == "слово" and arg:
            commands.words += [w for w in (part.strip(",;.«»\"") for part in arg.split())
                               if _WORD.fullmatch(w)]
    return "\n".join(kept).strip(), commands


def _unknown_command(number: int, line: str) -> dict[str, object]:
    word = line.strip().split()[0].lstrip("#").lower()
    close = difflib.get_close_matches(word, COMMAND_WORDS, n=3, cutoff=0.6)
    return {"line": number, "text": line.strip(),
            "message": f"неизвестная команда «#{word}»; команды: "
                       + ", ".join(f"#{w}" for w in COMMAND_WORDS),
            "suggestions": [f"#{w}" for w in close]}


def _missing_argument(number: int, line: str, word: str, arg: str) -> dict[str, object] | None:
    needs = {"передать": "логин сотрудника, например «#передать petrova»",
             "статья": "имя статьи базы знаний, например «#статья spravka-2ndfl»",
             "слово": "слово, которое написано верно, например «#слово Буханцевой»",
             "заметка": "текст заметки, например «#заметка клиент перезвонит в пятницу»",
             "объединить": "номер обращения, которое нужно присоединить к этому, например "
                           "«#объединить БУХ-2026-000123»",
             "найти": "слова для поиска, например «#найти справка 2-НДФЛ»"}
    if word == "объединить":
        if _NUMBER.search(arg):
            return None
    elif word not in needs or (arg and (word != "слово" or any(
            _WORD.fullmatch(w.strip(",;.«»\"")) for w in arg.split()))):
        return None
    return {"line": number, "text": line.strip(),
            "message": f"после команды «#{word}» нужно указать {needs[word]}", "suggestions": []}


def greeting(client_name: str) -> str:
    """«Уважаемая Мария Петровна!» when the first name and patronymic are known, a neutral
    greeting otherwise."""
    return formal_greeting(client_name)


def render_answer(rt: Runtime, request: Request, accountant: str, text: str) -> Rendered:
    member = rt.rules.staff[accountant]
    author = {"login": member.login, "name": member.name, "position": member.position,
              "phone": member.phone, "email": member.email}
    if addressee(request.client_name) is not None:  # the form greets the client by name
        text, salutation = drop_greeting(text) or text, greeting(request.client_name)
    else:  # the form could only say «Добрый день!»: the accountant's own greeting stays
        salutation = "" if starts_with_greeting(text) else greeting(request.client_name)
    return rt.templates.render("answer", **request_vars(
        rt, request, greeting=salutation, text=text, author=author))


def check_letter(rt: Runtime, request: Request, rendered: Rendered,
                 learned: Sequence[str] = ()) -> list[Finding]:
    """Findings in the whole letter body; staff and the client's names, the service's own name
    from the configuration and the words accountants marked as correct are known words."""
    names = [s.name for s in rt.rules.staff.values()] + [rt.config.service.name, *learned]
    if request.client_name:
        names.append(request.client_name)
    return rt.rules.textcheck.with_names(names).check(rendered.body)


def learned_words(session: Session) -> list[str]:
    """Words accountants marked as correct with «#слово» (read back from the audit trail)."""
    query = select(col(Event.detail)).where(col(Event.stage) == TEXTCHECK_STAGE,
                                            col(Event.action) == WORD_ADDED)
    return words_of(list(session.execute(query).scalars()))


def _learn(session: Session, request: Request, words: Sequence[str], login: str) -> None:
    """Record «#слово» words in the audit trail: from now on the check accepts them."""
    for word in words:
        session.add(Event(request_id=request.id, stage=TEXTCHECK_STAGE, action=WORD_ADDED,
                          actor=login, detail=json.dumps({"word": word}, ensure_ascii=False)))
    if words:
        session.flush()
        log.info("textcheck: %s added %d word(s) to the dictionary", login, len(words))


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _attachments(rt: Runtime, parsed: ParsedMessage) -> list[FileToSend]:
    return [FileToSend(a.filename, a.content_type, a.data)
            for a in parsed.attachments if not a.truncated]


def handle_answer(session: Session, rt: Runtime, msg: Message, parsed: ParsedMessage,
                  request: Request) -> None:
    """The route stage's handler for a staff reply to a notice or to a returned answer."""
    member = rt.rules.staff_by_email(parsed.from_addr)
    if member is None:
        raise LookupError(f"handle_answer is for staff letters; {parsed.from_addr!r} is not staff")
    text, commands = parse_commands(new_text(parsed.body_text))
    msg.kind, msg.status = "answer", "routed"
    process_answer(session, rt, request, member.login, text, commands,
                   files=_attachments(rt, parsed), source_message=msg)


def process_answer(session: Session, rt: Runtime, request: Request, login: str, text: str,
                   commands: Commands, *, files: Sequence[FileToSend] = (),
                   source_message: Message | None = None) -> list[Finding]:
    """Apply commands, check and send (or return) the answer; return the findings. A command
    line that did not parse returns the letter unsent, and no command of it is run."""
    if commands.problems:
        _return_items(session, rt, request, login, commands.problems, "", source_message)
        return []
    if commands.merge and (refused := _merge(session, rt, request, login, commands.merge)):
        _return_items(session, rt, request, login, [refused], "", source_message)
        return []
    if commands.transfer_to is not None:
        try:
            transfer(session, rt, request, commands.transfer_to, actor=login)
        except TransferError as e:
            problem = {"line": 0, "text": f"#передать {commands.transfer_to}", "message": str(e),
                       "suggestions": sorted(rt.rules.staff)}
            _return_items(session, rt, request, login, [problem], "", source_message)
            return []
    inserted: list[str] = []
    if commands.articles:
        text, inserted, missing = _with_articles(rt, text, commands.articles)
        if missing:
            problem = {"line": 0, "text": " ".join(f"#статья {s}" for s in missing),
                       "message": missing_articles_message(missing), "suggestions": []}
            _return_items(session, rt, request, login, [problem], "", source_message)
            return []
    _learn(session, request, commands.words, login)
    record_notes(session, request, commands.notes, actor=login)
    if not text:
        _apply_state(session, request, commands, actor=login, answered=False, now=rt.now())
        return []
    rendered = render_answer(rt, request, login, text)
    findings = check_letter(rt, request, rendered, learned_words(session))
    if any(f.blocking for f in findings) and not commands.force:
        _return(session, rt, request, login, rendered, findings, source_message)
        return findings
    _send(session, rt, request, login, rendered, files, findings, commands)
    record_inserted(session, request, inserted, actor=login)
    _apply_state(session, request, commands, actor=login, answered=True, now=rt.now())
    return findings


def _merge(session: Session, rt: Runtime, request: Request, login: str,
           numbers: Sequence[str]) -> dict[str, object] | None:
    """Merge the named duplicates into ``request`` (each one the sender may see); a problem for
    the returned letter when one cannot be merged — then none is."""
    member = rt.rules.staff[login]
    day = rt.now().astimezone(rt.config.service.tz).date()
    absences = absences_now(session, rt)
    try:
        with session.begin_nested():  # all of them or none
            for number in numbers:
                other = find_request(session, number)
                if not can_see(rt.rules.staff, absences, member, other, day):
                    raise MergeError(f"обращение {other.number} " + (
                        "ещё никому не назначено: объединить его может руководитель"
                        if other.assignee is None else "ведёт сотрудник другого отдела: "
                        "объединить его может он сам или руководитель"))
                merge(session, rt, request, other, actor=login)
    except MergeError as e:
        return {"line": 0, "text": " ".join(f"#объединить {n}" for n in numbers),
                "message": str(e), "suggestions": []}
    return None


def _with_articles(rt: Runtime, text: str,
                   slugs: Sequence[str]) -> tuple[str, list[str], list[str]]:
    """The answer with the named knowledge-base articles appended; and found and missing slugs."""
    if rt.kb is None:
        return text, [], list(slugs)
    full, missing = insert_articles(rt.kb.get(), text, slugs, base_url=public_url(rt.config))
    return full, [s for s in slugs if s not in missing], missing


def _send(session: Session, rt: Runtime, request: Request, login: str, rendered: Rendered,
          files: Sequence[FileToSend], findings: list[Finding], commands: Commands) -> None:
    edms = request.channel == CHANNEL
    if not request.client_email and not edms:
        raise ValueError(f"{request.number}: the client has no e-mail address")
    if request.client_email:
        enqueue(session, rt, request=request, kind="answer", to=[request.client_email],
                rendered=rendered, reply_to_ids=client_thread(session, request), files=files,
                cc=list(dict.fromkeys([*answer_copies(request, copies_settings(rt.config)),
                                       *merged_clients(session, request)])))
    if edms:  # the answer also goes back into the EDMS the document came from
        queue_answer_package(session, rt, request, login, rendered, files, closing=commands.close)
    detail = {"accountant": login,
              "override": bool(any(f.blocking for f in findings) and commands.force),
              "findings": [f.to_dict() for f in findings], "articles": commands.articles}
    session.add(Event(request_id=request.id, stage="reply", action="answered", actor=login,
                      detail=json.dumps(detail, ensure_ascii=False)))
    log.info("reply: %s answered by %s%s", request.number, login,
             " (check overridden)" if detail["override"] else "")


def _return(session: Session, rt: Runtime, request: Request, login: str, rendered: Rendered,
            findings: list[Finding], source_message: Message | None) -> None:
    items = [{"line": line_of(rendered.body, f.start), "text": f.text,
              "message": f.message if f.blocking else f"Совет: {f.message}",
              "suggestions": list(f.suggestions)} for f in findings]
    _return_items(session, rt, request, login, items, rendered.body, source_message)


def _return_items(session: Session, rt: Runtime, request: Request, login: str,
                  items: list[dict[str, object]], checked_body: str,
                  source_message: Message | None) -> None:
    letter = rt.templates.render("returned", **request_vars(
        rt, request, findings=items, checked_body=checked_body))
    member = rt.rules.staff[login]
    enqueue(session, rt, request=request, kind="return", to=[member.email], rendered=letter,
            reply_to_ids=[source_message.message_id] if source_message and
            source_message.message_id else [], auto="auto-replied")
    session.add(Event(request_id=request.id, stage="reply", action="answer-returned", actor=login,
                      detail=json.dumps({"findings": items}, ensure_ascii=False)))
    log.info("reply: answer to %s returned to %s with %d finding(s)", request.number, login,
             len(items))


def _apply_state(session: Session, request: Request, commands: Commands, *, actor: str,
                 answered: bool, now: datetime) -> None:
    """The request's state after the accountant's letter. An answer to a closed request (the
    promised scan after «#закрыть») goes out and leaves it closed; «#открыть» reopens it."""
    was = request.state
    if was == "closed" and commands.reopen and not commands.close:
        request.state = next_state(request.state, "reopen")
        request.closed_at = None
    if answered:
        request.state = next_state(request.state, "answer")
        request.answered_at = request.answered_at or now
    if commands.wait and request.state != "closed":
        request.state = next_state(request.state, "wait")
    if commands.close and request.state != "closed":
        request.state = next_state(request.state, "close")
        request.closed_at = now
    request.updated_at = now
    if was == "closed":
        action = "answered-after-close" if request.state == "closed" else "reopened"
        if answered or request.state != "closed":
            session.add(Event(request_id=request.id, stage="reply", action=action, actor=actor,
                              detail="{}"))
    elif (commands.wait or commands.close) and request.state in ("waiting", "closed"):
        session.add(Event(request_id=request.id, stage="reply", action=request.state, actor=actor,
                          detail="{}"))


class TransferError(Exception):
    pass


def transfer(session: Session, rt: Runtime, request: Request, login: str, *, actor: str) -> None:
    """Pass a request to another accountant and send them the notice."""
    if login not in rt.rules.staff:
        raise TransferError(f"сотрудник с логином «{login}» не найден в списке сотрудников")
    previous = request.assignee
    request.assignee = login
    request.state = next_state(request.state, "assign")
    session.add(Event(request_id=request.id, stage="route", action="transferred", actor=actor,
                      detail=json.dumps({"from": previous, "to": login}, ensure_ascii=False)))
    body = next((m.body_text for m in _client_messages(session, request)), "") or ""
    from buhdesk.route.absences import absences_from_store  # route imports this module
    from buhdesk.trust.staff_letters import for_assignee

    absences = [*rt.rules.ruleset.absences, *absences_from_store(session)]
    for_assignee(rt, request, absences, lambda to: notify(
        session, rt, request, "notice", login=to, body_text=body, attachments=[],
        reasons=[f"передано сотрудником {actor}"]))


def _client_messages(session: Session, request: Request) -> list[Message]:
    return list(session.execute(
        select(Message).where(col(Message.request_id) == request.id, col(Message.direction) == "in",
                              col(Message.kind).in_(("request", "followup")))
        .order_by(col(Message.id))).scalars())
