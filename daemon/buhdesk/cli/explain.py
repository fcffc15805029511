"""Printing `buhdesk explain` results, as JSON lines or as Russian text for an administrator."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from buhdesk.config import ConfigError, load_config, package_data_dir
from buhdesk.kb.library import KbError, KnowledgeBase
from buhdesk.kb.mail import KbSettingsError, min_share
from buhdesk.route.explain import FIELDS, ExplainContext, explain_path
from buhdesk.rules.book import RuleBook, RuleBookError, load_rulebook
from buhdesk.store.engine import make_engine
from buhdesk.trust.keys import THREAD
from buhdesk.trust.printsafe import safe_json, safe_line
from buhdesk.trust.settings import auth_settings
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
    "duplicate": ("пакет «ДелоПро» уже зарегистрирован: он будет перемещён в processed "
                  "без изменений"),
    "conflict": "конфликт: документ уже зарегистрирован с другим номером или датой, пакет будет "
                "перемещён в failed",
}


def _kb(rules_dir: Path, rules: RuleBook) -> KnowledgeBase:
    return KnowledgeBase.load(rules_dir, lemmatizer=rules.ruleset.classifier.lemmatizer,
                              staff=rules.staff)


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
        auth=auth_settings(cfg), kb_share=min_share(cfg),
    )


def _text(raw: dict[str, Any], rules: RuleBook, out: TextIO) -> None:
    result: dict[str, Any] = {
        k: (v if k in ("rules", "attachments", "document") else safe_line(v) if v else v)
        for k, v in raw.items()}
    print(f"== {result['file']}", file=out)
    if result["error"]:
        print(f"   ошибка: {result['error']}", file=out)
    document = result.get("document")
    if document:
        when = (document["reg_date"].strftime("%d.%m.%Y") if document["reg_date"]
                else "дата не указана")
        print(f"   документ «ДелоПро»: № {document['reg_number'] or '—'} от {when}; "
              f"автор: {document['author'] or 'не указан'}", file=out)
    print(f"   от: {result['from'] or '—'}; тема: «{result['subject'] or ''}»", file=out)
    if result["attachments"]:
        print(f"   вложения: {safe_line(', '.join(result['attachments']))}", file=out)
    print(f"   решение: {ACTIONS.get(result['action'] or '', result['action'])}", file=out)
    if result["request"] and result["request"] != "new":
        print(f"   обращение: {result['request']}", file=out)
    for label, value in _named(result, rules):
        print(f"   {label}: {value}", file=out)
    for sentence in rule_sentences(result["rules"], rules):
        print(f"   почему: {safe_line(sentence)}", file=out)


def _named(result: dict[str, Any], rules: RuleBook) -> list[tuple[str, str]]:
    """Process, need and assignee by their Russian names, the code kept in brackets."""
    named = []
    if result["process"]:
        named.append(("процесс", f"{rules.process_label(result['process'])} ({result['process']})"))
    if result["need"]:
        named.append(("потребность", f"{rules.need_label(result['need'])} ({result['need']})"))
    if result["assignee"]:
        member = rules.staff.get(result["assignee"])
        name = f"{member.name} ({result['assignee']})" if member else result["assignee"]
        named.append(("исполнитель", name))
    if result["due_at"]:
        due = datetime.fromisoformat(result["due_at"])
        named.append(("срок", f"до {due:%d.%m.%Y %H:%M}"))
    return named


def rule_sentences(decisions: list[dict[str, Any]], rules: RuleBook) -> list[str]:
    """Each stage's decision as a Russian sentence; the assignment reasons are those the notice
    to the accountant gives («Почему назначено вам»)."""
    sentences = []
    for d in decisions:
        stage = d.get("stage")
        if stage == "classify":
            hits = "; ".join(f"правило «{h['rule']}» (слова: {', '.join(h['terms'])})"
                             for h in d.get("hits", [])) or "ни одно правило не сработало"
            verdict = ("уверенно определить процесс не удалось, обращение попадёт в очередь "
                       "неразобранных") if d.get("unsorted") else (
                f"процесс «{rules.process_label(d.get('process'))}», потребность "
                f"«{rules.need_label(d.get('need'))}»")
            sentences.append(f"классификация: {verdict}; {hits}")
            if d.get("model"):
                sentences.append(_model_sentence(d["model"], rules))
        elif stage == "assign":
            reasons = d.get("reasons") or (["исполнитель указан в карточке документа"]
                                           if d.get("rule") == "card-executor" else [])
            sentences.append("назначение: " + ("; ".join(reasons) or f"правило {d.get('rule')}"))
        elif stage == "deadline":
            sentences.append(f"срок: {d.get('explanation') or d.get('rule')}")
        elif stage == "route" and str(d.get("rule", "")).startswith("automated:"):
            sentences.append("письмо распознано как автоматическое "
                             f"({d['rule'].split(':', 1)[1]}): на него не отвечают")
        elif stage == "kb":
            slugs = [a["slug"] for a in d.get("articles", [])]
            sentences.append("база знаний: " + (f"будут предложены статьи {', '.join(slugs)}"
                                                if slugs else "подходящих статей нет"))
    return sentences


def _model_sentence(model: dict[str, Any], rules: RuleBook) -> str:
    """The statistical model's view: its choice, how sure it is, the words that weighed most."""
    def shown(name: str) -> str:  # the rules' totals are features too: named in words
        kind, _, code = name.removeprefix("rule:").partition(":")
        if not name.startswith("rule:"):
            return f"«{name}»"
        label = rules.process_label(code) if kind == "process" else rules.need_label(code)
        return f"оценка правил за «{label}»"

    def words(features: list[list[Any]]) -> str:
        return ", ".join(f"{shown(name)} ({weight:+.2f})" for name, weight in features[:5]) or "—"

    return (f"модель: процесс «{rules.process_label(model['process'])}» "
            f"(уверенность {model['process_probability']:.0%}; признаки: "
            f"{words(model['process_features'])}), потребность «{rules.need_label(model['need'])}» "
            f"(уверенность {model['need_probability']:.0%}; признаки: "
            f"{words(model['need_features'])})")


def run_explain(files: list[Path], *, config: Path | None, as_json: bool,
                at: datetime | None, out: TextIO) -> int:
    try:
        ctx = _context(config)
    except (ConfigError, RuleBookError, KbError, KbSettingsError) as e:
        print(f"Ошибка: {e}", file=sys.stderr)
        return 2
    for path in files:
        result = explain_path(ctx, path, at=at)
        if as_json:
            print(safe_json({k: result[k] for k in FIELDS}, default=str), file=out)
        else:
            _text(result, ctx.rules, out)
    return 0
