"""A request's story: its letters in and out (with their first lines) and the audit trail's
decisions — assignment and why, deadlines, commands, returned answers with the findings, notes,
the survey — as one timeline, oldest first.

Read from the ``messages`` and ``events`` tables; the text is Russian, the JSON keys English
(``buhdesk show NUMBER --json`` and ``#история`` by mail give the same entries).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.feedback.models import SurveyInvited
from buhdesk.reply.compose import text_of
from buhdesk.route.quoting import split_signature, strip_quoted
from buhdesk.rules.book import RuleBook
from buhdesk.store.models import Event, Message, Request, flushed_id
from buhdesk.store.raw import read_raws

FIRST_LINE_MAX = 140

# The kinds of entries (stable: they are JSON values).
LETTER_IN, LETTER_OUT = "letter-in", "letter-out"
KINDS = (LETTER_IN, LETTER_OUT, "registered", "assigned", "transferred", "deadline", "corrected",
         "answered", "returned", "command", "state", "note", "survey", "merged", "delivery",
         "other")

_IN_LABELS = {"request": "Письмо клиента (обращение)", "followup": "Письмо клиента",
              "answer": "Письмо сотрудника", "note": "Письмо сотрудника (служебная заметка)",
              "automated": "Автоматическое письмо", "amendment": "Изменённая карточка из СЭД",
              "document": "Документ из СЭД"}
_OUT_LABELS = {"ack": "Клиенту отправлено подтверждение регистрации",
               "notice": "Уведомление сотруднику", "answer": "Ответ клиенту",
               "return": "Ответ возвращён сотруднику для исправления",
               "reminder": "Напоминание о сроке ответа", "info": "Служебное письмо",
               "survey": "Приглашение к опросу",
               "merged": "Клиенту сообщено об объединении обращений"}
_STATE_LABELS = {"waiting": "ожидание сведений от клиента («#ожидание»)",
                 "closed": "обращение закрыто", "reopened": "обращение открыто снова",
                 "answered-after-close": "ответ после закрытия, обращение осталось закрытым"}
# Events a letter row already shows, and bookkeeping nobody reads in a story.
_SKIPPED = {"authorised", "kb-offered", "parsed-with-defects", "notice-capped", "ack-capped",
            "document-snapshot", "stored", "package-failed", "sent"}


@dataclass(frozen=True)
class Entry:
    at: datetime  # aware UTC
    kind: str
    actor: str  # a login, "buhdesk", a client's address
    text: str  # Russian
    letter: int | None = None  # the letter's number (``buhdesk split`` names letters by it)

    def to_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        out: dict[str, Any] = {"at": self.at.astimezone(tz).isoformat(), "kind": self.kind,
                               "actor": self.actor, "text": self.text}
        if self.letter is not None:
            out["letter"] = self.letter
        return out


@dataclass(frozen=True)
class Story:
    request: Request
    entries: list[Entry]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def first_line(text: str | None, *, own: bool = False) -> str:
    """The first line with words of a letter (of its own text, without quote and signature,
    when ``own``), shortened."""
    body = text or ""
    if own:
        body, _signature = split_signature(strip_quoted(body))
    lines = [ln.strip() for ln in body.splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    if len(lines) > 1 and lines[0].endswith("!"):  # «Уважаемая Мария Петровна!»
        lines = lines[1:]
    line = lines[0] if lines else ""
    return line if len(line) <= FIRST_LINE_MAX else line[:FIRST_LINE_MAX - 1] + "…"


class _Names:
    def __init__(self, rules: RuleBook) -> None:
        self.rules = rules

    def __call__(self, login: object) -> str:
        if not login:
            return "никто"
        member = self.rules.staff.get(str(login))
        return member.name if member else str(login)


def _texts(session: Session, messages: Sequence[Message]) -> dict[int, str]:
    """The letters' texts by id: an outgoing letter's is kept only in its stored bytes, read for
    all of them in one query (none once the retention term has destroyed them)."""
    texts = {flushed_id(m): m.body_text for m in messages if m.body_text is not None}
    kept = read_raws(session, [flushed_id(m) for m in messages
                               if m.body_text is None and m.direction == "out"])
    texts.update((pk, text_of(data)) for pk, data in kept.items())
    return texts


def _letter(msg: Message, name: _Names, rules: RuleBook, body: str | None) -> Entry:
    at = _aware(msg.created_at)
    if msg.direction == "in":
        label = _IN_LABELS.get(msg.kind, "Входящее письмо")
        member = rules.staff_by_email(msg.from_addr)
        who = f"{member.name}" if member else (msg.from_addr or "отправитель неизвестен")
        line = first_line(body, own=True)
        text = f"{label} от {who}" + (f": «{line}»" if line else "")
        actor = member.login if member else (msg.from_addr or "")
        return Entry(at, LETTER_IN, actor, text, msg.id)
    label = _OUT_LABELS.get(msg.kind, "Исходящее письмо")
    member = rules.staff_by_email(msg.to_addrs.split(",")[0].strip()) if msg.to_addrs else None
    to = member.name if member else msg.to_addrs
    line = first_line(body)
    state = {"pending": " (ещё не отправлено)", "held": " (задержано)",
             "cancelled": " (отменено)"}.get(msg.status, "")
    text = f"{label} — {to}{state}" + (f": «{line}»" if line else "")
    return Entry(at, LETTER_OUT, "buhdesk", text, msg.id)


def _findings(items: object) -> str:
    if not isinstance(items, list) or not items:
        return "замечаний нет"
    shown = [f"«{i.get('text', '')}» — {i.get('message', '')}" for i in items[:5]
             if isinstance(i, dict)]
    more = f" и ещё {len(items) - 5}" if len(items) > 5 else ""
    return "; ".join(shown) + more


def _decided(d: dict[str, Any], name: _Names) -> list[tuple[str, str]]:
    out = []
    for rule in d.get("rules", []):
        if not isinstance(rule, dict):
            continue
        if rule.get("stage") == "assign":
            reasons = "; ".join(str(r) for r in rule.get("reasons", []) if r)
            out.append(("assigned", f"Назначено: {name(rule.get('login'))}"
                                    + (f" ({reasons})" if reasons else "")))
        elif rule.get("stage") == "deadline" and rule.get("explanation"):
            out.append(("deadline", f"Срок ответа: {rule['explanation']}"))
    return out


def _event(ev: Event, name: _Names) -> list[tuple[str, str]]:
    d: dict[str, Any] = json.loads(ev.detail or "{}") if ev.detail else {}
    who = name(ev.actor) if ev.actor != "buhdesk" else "buhdesk"
    a = ev.action
    if a in _SKIPPED or a.startswith("queued-"):
        return []
    simple: dict[str, Callable[[], list[tuple[str, str]]]] = {
        "registered": lambda: [("registered", f"Зарегистрировано обращение {d.get('number', '')}")],
        "decided": lambda: _decided(d, name),
        "transferred": lambda: [("transferred", f"Передано: {name(d.get('from'))} → "
                                                f"{name(d.get('to'))} (передал(а) {who})")],
        "corrected": lambda: [("corrected", "Исправлена классификация: процесс "
                                            f"{d.get('old_process')} → {d.get('new_process')}, "
                                            f"потребность {d.get('old_need')} → "
                                            f"{d.get('new_need')} ({who})")],
        "answered": lambda: [("answered", f"Ответ принят к отправке, автор — {who}" + (
            "; отправлен без исправления замечаний («#отправить-как-есть»)"
            if d.get("override") else ""))],
        "answer-returned": lambda: [("returned", f"Ответ {who} возвращён: "
                                                 f"{_findings(d.get('findings'))}")],
        "operator-command": lambda: [("command", f"Команда администратора {who}: "
                                                 f"{d.get('command', d)}")],
        "word-added": lambda: [("command", f"«#слово {d.get('word', '')}» ({who})")],
        "kb-inserted": lambda: [("command", "«#статья»: в ответ вставлены статьи "
                                            + ", ".join(map(str, d.get("slugs",
                                                                       d.get("articles", []))))
                                            + f" ({who})")],
        "staff-note": lambda: [("note", f"Письмо {who} сохранено как служебная заметка: "
                                        f"{d.get('why', '')}")],
        "note": lambda: [("note", f"Заметка {who}: {d.get('text', '')}")],
        "followup": lambda: [("state", "Обращение открыто снова письмом клиента")]
        if d.get("reopened") else [],
        "followup-linked": lambda: [("other", "Письмо клиента после закрытия открыло новое "
                                              f"обращение {d.get('new', '')}")],
        "courtesy-after-close": lambda: [("other", "Благодарность клиента после закрытия "
                                                   "записана, обращение не открыто")],
        "amended": lambda: [("deadline" if "deadline" in (d.get("changes") or {}) else "other",
                             "Карточка СЭД изменена: "
                             f"{', '.join(map(str, d.get('changes') or {})) or 'без изменений'}")],
        "bounced": lambda: [("delivery", f"Письмо не доставлено: {d.get('reason', '')}")],
        "delivery-delayed": lambda: [("delivery", "Доставка письма задерживается")],
        "held-untrusted": lambda: [("other", f"Письмо задержано: {d.get('reason', '')}")],
        "purged": lambda: [("other", "Письма уничтожены по сроку хранения")],
        "merged": lambda: [("merged", f"Присоединено обращение {d.get('from', '')} ({who})")],
        "merged-into": lambda: [("merged", f"Обращение присоединено к {d.get('into', '')} "
                                           f"({who})")],
        "split": lambda: [("merged", f"Письма клиента ({len(d.get('letters') or [])}) выделены "
                                     f"в обращение {d.get('new', '')} ({who})")],
        "split-from": lambda: [("merged", "Письма клиента выделены из обращения "
                                          f"{d.get('from', '')} ({who})")],
    }
    if a in simple:
        return simple[a]()
    if a in _STATE_LABELS:
        return [("state", f"{_STATE_LABELS[a][0].upper()}{_STATE_LABELS[a][1:]} ({who})")]
    return [("other", f"{ev.stage}/{a} ({who})")]


def build_story(session: Session, rules: RuleBook, request: Request) -> Story:
    """Every letter and event of ``request`` in time order (the same moment: the event first)."""
    name = _Names(rules)
    entries: list[tuple[datetime, int, int, Entry]] = []
    messages = session.execute(select(Message).where(col(Message.request_id) == request.id)
                               .order_by(col(Message.id))).scalars().all()
    texts = _texts(session, messages)
    for msg in messages:
        entry = _letter(msg, name, rules, texts.get(flushed_id(msg)))
        entries.append((entry.at, 1, msg.id or 0, entry))
    events = session.execute(select(Event).where(col(Event.request_id) == request.id)
                             .order_by(col(Event.id))).scalars().all()
    for ev in events:
        for kind, text in _event(ev, name):
            at = _aware(ev.at)
            entries.append((at, 0, ev.id or 0, Entry(at, kind, ev.actor, text)))
    if session.get(SurveyInvited, request.id) is not None:
        at = _aware(request.closed_at or request.updated_at)
        entries.append((at, 2, 0, Entry(at, "survey", "buhdesk",
                                        "Обращение рассмотрено для опроса удовлетворённости "
                                        "(ответы анонимны и с обращением не связаны)")))
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    return Story(request, [e[3] for e in entries])


def summary(rules: RuleBook, request: Request, tz: ZoneInfo) -> dict[str, Any]:
    """The request's card (English keys), shown above the story."""
    return {"number": request.number, "state": request.state, "subject": request.subject,
            "client_email": request.client_email, "client_name": request.client_name,
            "process": request.process, "process_label": rules.process_label(request.process),
            "need": request.need, "need_label": rules.need_label(request.need),
            "assignee": request.assignee,
            "created_at": _aware(request.created_at).astimezone(tz).isoformat(),
            "due_at": _aware(request.due_at).astimezone(tz).isoformat() if request.due_at
            else None}


def story_json(rules: RuleBook, story: Story, tz: ZoneInfo) -> dict[str, Any]:
    return {**summary(rules, story.request, tz),
            "entries": [e.to_dict(tz) for e in story.entries]}


STATE_NAMES = {"new": "новое", "assigned": "в работе", "answered": "дан ответ",
               "waiting": "ожидание сведений от клиента", "closed": "закрыто",
               "held": "задержано", "merged": "присоединено к другому"}


def story_lines(rules: RuleBook, story: Story, tz: ZoneInfo) -> list[str]:
    """The story as Russian text lines: the card, then one line per entry."""
    r = story.request
    name = _Names(rules)
    lines = [f"Обращение {r.number}: {r.subject or 'без темы'}",
             f"Клиент: {r.client_name or 'имя не указано'} "
             f"<{r.client_email or 'адрес неизвестен'}>",
             f"Состояние: {STATE_NAMES.get(r.state, r.state)}; исполнитель: {name(r.assignee)}",
             f"Процесс: {rules.process_label(r.process)}; потребность: {rules.need_label(r.need)}"]
    if r.due_at:
        lines.append(f"Срок ответа: {_aware(r.due_at).astimezone(tz):%d.%m.%Y %H:%M}")
    lines.append("")
    lines += [f"{e.at.astimezone(tz):%d.%m.%Y %H:%M}  {e.text}"
              + (f" [письмо {e.letter}]" if e.letter is not None and e.kind == LETTER_IN else "")
              for e in story.entries]
    return lines


def find_by_number(session: Session, number: str) -> Request | None:
    return session.execute(select(Request).where(
        col(Request.number) == number.strip().upper())).scalars().first()


def staff_names(rules: RuleBook) -> Mapping[str, str]:
    return {login: m.name for login, m in rules.staff.items()}
