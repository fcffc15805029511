"""What every stage needs, built once from the configuration and passed explicitly."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import Engine

from buhdesk.config import Config
from buhdesk.kb.library import KnowledgeBaseCache
from buhdesk.reply.templating import Templates
from buhdesk.rules.book import RuleBook, load_rulebook
from buhdesk.rules.memo import set_budget as set_cache_budget
from buhdesk.store.blobs import BlobStore
from buhdesk.store.engine import open_store
from buhdesk.trust.keys import PURPOSES, KeyRing


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    config: Config
    engine: Engine
    keys: KeyRing
    blobs: BlobStore
    templates: Templates
    rules: RuleBook
    clock: Callable[[], datetime] = _utcnow
    wakeup: threading.Event = field(default_factory=threading.Event)
    kb: KnowledgeBaseCache | None = None

    def now(self) -> datetime:
        return self.clock()


def _local_day(clock: Callable[[], datetime], config: Config) -> date:
    return clock().astimezone(config.service.tz).date()


def build_runtime(config: Config, *, clock: Callable[[], datetime] = _utcnow,
                  rules: RuleBook | None = None, purposes: tuple[str, ...] = PURPOSES,
                  keys: KeyRing | None = None) -> Runtime:
    """Open the store (migrating it), load rules (unless given) and templates; raises on problems.
    The runtime holds the given ``keys``, or those of ``purposes`` derived from the secret."""
    set_cache_budget(config.service.cache_mb)
    book = rules or load_rulebook(config.rules_dir)
    keys = keys or config.keyring(today=lambda: _local_day(clock, config), purposes=purposes)
    rt = Runtime(
        config=config,
        engine=open_store(config.store.url),
        keys=keys,
        blobs=BlobStore(config.store.blobs),
        templates=Templates(config.templates_dir, config.service.tz),
        rules=book,
        clock=clock,
    )
    # the articles' owners are checked against the staff of the rule set in use (it may reload)
    rt.kb = KnowledgeBaseCache(config.rules_dir, lemmatizer=book.ruleset.classifier.lemmatizer,
                               staff=lambda: rt.rules.staff)
    return rt


@contextmanager
def command_runtime(config: Config, **options: Any) -> Iterator[Runtime]:
    """A runtime for one command: its store's connections are closed when the block ends."""
    rt = build_runtime(config, **options)
    try:
        yield rt
    finally:
        rt.engine.dispose()
