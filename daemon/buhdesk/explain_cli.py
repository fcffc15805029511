"""Printing `buhdesk explain` results, as JSON lines or as Russian text for an administrator."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from buhdesk.config import ConfigError, load_config, package_data_dir
from buhdesk.secretkeys import THREAD
from buhdesk.explain import ExplainContext, explain_path
from buhdesk.kb import KbError, KnowledgeBase
from buhdesk.printsafe import safe_json, safe_line
from buhdesk.rulebook import RuleBook, RuleBookError, load_rulebook
from buhdesk.store import make_engine
from buhdesk.trust_settings import auth_settings
from buhdesk_connectors.delopro_source import load_document

ACTIONS = {
    "new-request": "будет зарегистрировано новое обращение",
    "followup": "письмо будет добавлено к обращению",
    "answer": "ответ бухгалтера будет проверен и отправлен клиенту",
    "note": "письмо сотрудника, которому не положено отвечать по этому обращению: служебная "
            "заметка исполнителю, клиенту ничего не уйдёт",
    "ignore": "автоматическое письмо: ответа не будет",
    "hold": "письмо будет задержано для разбора",
    "fail": "пакет «ДелоПро» не может быть принят и будет перемещён в failed",
    "amendment": "пакет «ДелоПро» будет записан как изменение обращения",
    "duplicate": "пакет «ДелоПро» уже зарегистрирован: он будет перемещён в processed без изменений",
    "conflict": "конфликт: документ уже зарегистрирован с другим номером или датой, пакет будет "
                "перемещён в failed",
}


def _kb(rules_dir: Path, rules: RuleBook) -> KnowledgeBase:
    return KnowledgeBase.load(rules_dir, lemmatizer=rules.ruleset.classifier.lemmatizer)


def _context(config: Path | None) -> ExplainContext:
    if config is None:
        rules = load_rulebook(package_data_dir("rules"))
        return ExplainContext(rules=rules, own_address="buh@localhost", load_package=load_document,
                              kb=_kb(package_data_dir("rules"), rules))
    cfg = load_config(config)
    try:
        thread_keys = cfg.keyring(purposes=(THREAD,)).keys(THREAD)
    except ConfigError:  # no usable secret: explain without looking up threads
        thread_keys = ()
    engine = make_engine(cfg.store.url) if thread_keys else None
    rules = load_rulebook(cfg.rules_dir)
    return ExplainContext(
        rules=rules, own_address=cfg.service.address, kb=_kb(cfg.rules_dir, rules),
        thread_keys=thread_keys, engine=engine,
        max_attachment_bytes=cfg.limits.max_attachment_bytes,
        duty_accountant=cfg.service.duty_accountant, load_package=load_document,
        auth=auth_settings(cfg),
    )


def _text(raw: dict[str, Any], out: TextIO) -> None:
    result = {k: (v if k in ("rules", "attachments") else safe_line(v) if v else v)
              for k, v in raw.items()}
    print(f"== {result['file']}", file=out)
    if result["error"]:
        print(f"   ошибка: {result['error']}", file=out)
    print(f"   от: {result['from'] or '—'}; тема: «{result['subject'] or ''}»", file=out)
    if result["attachments"]:
        print(f"   вложения: {safe_line(', '.join(result['attachments']))}", file=out)
    print(f"   решение: {ACTIONS.get(result['action'] or '', result['action'])}", file=out)
    if result["request"] and result["request"] != "new":
        print(f"   обращение: {result['request']}", file=out)
    for key, label in (("process", "процесс"), ("need", "потребность"),
                       ("assignee", "исполнитель"), ("due_at", "срок")):
        if result[key]:
            print(f"   {label}: {result[key]}", file=out)
    for rule in result["rules"]:
        print(f"   правило: {safe_json(rule)}", file=out)


def run_explain(files: list[Path], *, config: Path | None, as_json: bool,
                at: datetime | None, out: TextIO) -> int:
    try:
        ctx = _context(config)
    except (ConfigError, RuleBookError, KbError) as e:
        print(f"Ошибка: {e}", file=sys.stderr)
        return 2
    for path in files:
        result = explain_path(ctx, path, at=at)
        if as_json:
            print(safe_json(result, default=str), file=out)
        else:
            _text(result, out)
    return 0
