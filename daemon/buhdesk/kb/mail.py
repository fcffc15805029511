"""The knowledge base in letters: articles offered in the acknowledgment of a new request and
articles an accountant inserts into an answer with ``#статья slug``, each recorded in the audit
trail («kb-offered», «kb-inserted»).

An inserted article goes into the answer as its full plain text (title, text, link to the page and
to its blank forms): the order asks for exhaustive written answers, so the letter has to stand on
its own; the link is for the forms and for later updates. The answer's text check then covers the
whole letter, inserted articles included.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from sqlmodel import Session

from buhdesk.config import Config
from buhdesk.kb.article import Article
from buhdesk.kb.library import MIN_SHARE, KnowledgeBase
from buhdesk.kb.markdown import to_text
from buhdesk.route.quoting import split_quoted
from buhdesk.store.append_rows import event_values, insert_events
from buhdesk.store.models import Event, Request

DEFAULT_PUBLIC_URL = "http://localhost:8080"
KB_PATH = "/kb"
OFFER_LIMIT = 3
# the audit trail of articles: offered in an acknowledgment, inserted into an answer
KB_STAGE, OFFERED, INSERTED = "reply", "kb-offered", "kb-inserted"


def public_url(config: Config) -> str:
    """``[web] public_url`` from the configuration, without a trailing slash."""
    web = config.extra.get("web") or {}
    value = web.get("public_url") if isinstance(web, dict) else None
    return str(value or DEFAULT_PUBLIC_URL).rstrip("/")


class KbSettingsError(ValueError):
    """A ``[kb]`` value is wrong; the Russian message names the key."""


def min_share(config: Config) -> float:
    """``[kb] min_share``: an article after the first is offered only when it scores at least
    this share of the first (0 — every match, 1 — only articles as good as the best)."""
    kb = config.extra.get("kb") or {}
    if not isinstance(kb, dict):
        raise KbSettingsError("[kb] должен быть таблицей TOML")
    unknown = sorted(set(kb) - {"min_share"})
    if unknown:
        raise KbSettingsError(f"[kb] неизвестные ключи: {', '.join(unknown)} (допустим: min_share)")
    value = kb.get("min_share", MIN_SHARE)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise KbSettingsError(f"[kb] min_share: нужно число от 0 до 1, а указано {value!r}")
    return float(value)


def article_url(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}{KB_PATH}/{quote(slug)}"


def articles_for(kb: KnowledgeBase, request: Request, text: str, *,
                 base_url: str = DEFAULT_PUBLIC_URL,
                 limit: int = OFFER_LIMIT, share: float = MIN_SHARE) -> list[dict[str, Any]]:
    """Up to three articles for a new request: ``{title, url, slug, reasons}`` each, best first.
    ``text`` is the letter's body; quoted and forwarded parts are left out."""
    own = split_quoted(text).own or text
    found = kb.suggest(request.process, request.need, f"{request.subject}\n{own}", limit,
                       min_share=share)
    return [{"title": a.title, "url": article_url(base_url, a.slug), "slug": a.slug,
             "reasons": reasons} for a, reasons in found]


def record_offered(session: Session, request: Request, slugs: Sequence[str]) -> None:
    """Audit trail: which articles the acknowledgment offered (nothing when none)."""
    values = offered_event(request, slugs)
    if values is not None:
        insert_events(session, [values])


def offered_event(request: Request, slugs: Sequence[str]) -> dict[str, Any] | None:
    """The «kb-offered» audit-trail row (``event_values``), None when nothing was offered."""
    if not slugs:
        return None
    return event_values(request_id=request.id, stage=KB_STAGE, action=OFFERED,
                        detail=json.dumps({"articles": list(slugs)}, ensure_ascii=False))


def record_inserted(session: Session, request: Request, slugs: Sequence[str], *,
                    actor: str) -> None:
    """Audit trail: which articles an accountant inserted into an answer."""
    if slugs:
        session.add(Event(request_id=request.id, stage=KB_STAGE, action=INSERTED, actor=actor,
                          detail=json.dumps({"articles": list(slugs)}, ensure_ascii=False)))


def article_text(article: Article, *, base_url: str = DEFAULT_PUBLIC_URL) -> str:
    """An article as plain text for a letter: title, text, its page and its blank forms."""
    kb_base = f"{base_url.rstrip('/')}{KB_PATH}"
    lines = [article.title, "", to_text(article.body, base=kb_base).rstrip(), ""]
    for name in article.forms:
        lines.append(f"Бланк «{name}»: {kb_base}/forms/{quote(name)}")
    lines.append(f"Статья в базе знаний: {article_url(base_url, article.slug)}")
    return "\n".join(lines)


def insert_articles(kb: KnowledgeBase, text: str, slugs: Sequence[str], *,
                    base_url: str = DEFAULT_PUBLIC_URL) -> tuple[str, list[str]]:
    """The answer with each named article appended (once, in the given order), and the slugs
    that name no article."""
    parts, missing, seen = [text.rstrip()] if text.strip() else [], [], set()
    for slug in slugs:
        if slug in seen:
            continue
        seen.add(slug)
        article = kb.get(slug)
        if article is None:
            missing.append(slug)
        else:
            parts.append(article_text(article, base_url=base_url))
    return "\n\n".join(parts), missing


def missing_articles_message(missing: Sequence[str]) -> str:
    """A finding for the returned answer when ``#статья`` names no article (Russian)."""
    names = ", ".join(f"«{s}»" for s in missing)
    return (f"в базе знаний нет статьи {names}; проверьте адрес статьи (часть ссылки после /kb/)"
            if len(missing) == 1 else
            f"в базе знаний нет статей {names}; проверьте адреса статей (часть ссылки после /kb/)")
