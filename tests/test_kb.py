"""The knowledge base: validation of articles, word-form search, suggestions for a request,
inserting articles into answers, and the shipped starter set."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from buhdesk.config import package_data_dir
from buhdesk.kb.library import KbError, KnowledgeBase, KnowledgeBaseCache, check_kb
from buhdesk.kb.mail import (
    article_text,
    articles_for,
    insert_articles,
    public_url,
    record_inserted,
    record_offered,
)
from buhdesk.kb.markdown import to_text
from buhdesk.rules.lemmas import Lemmatizer
from buhdesk.store.models import Event, Request
from buhdesk.textcheck import TextChecker

RULES = package_data_dir("rules")

GOOD = """---
title: Справка о доходах
processes: payroll
needs: result
keywords: справка о доходах
owner: ivanova
reviewed: 2026-10-01
forms: бланк.rtf
---
Заполните [заявление](forms/бланк.rtf).

Смотрите также [другую статью](other).
"""
OTHER = """---
title: Другая статья
processes: travel
owner: ivanova
reviewed: 2026-01-01
---
Текст другой статьи о командировках.
"""


@pytest.fixture(scope="module")
def lemmatizer() -> Lemmatizer:
    return Lemmatizer()


@pytest.fixture(scope="module")
def shipped(lemmatizer: Lemmatizer) -> KnowledgeBase:
    return KnowledgeBase.load(RULES, lemmatizer=lemmatizer)


def make_kb(root: Path, articles: dict[str, str], forms: tuple[str, ...] = ("бланк.rtf",)) -> Path:
    (root / "kb" / "forms").mkdir(parents=True)
    (root / "staff.toml").write_text('[[staff]]\nlogin = "ivanova"\n', encoding="utf-8")
    for name, text in articles.items():
        (root / "kb" / name).write_text(text, encoding="utf-8")
    for form in forms:
        (root / "kb" / "forms" / form).write_bytes(b"{\\rtf1 }")
    return root


def problems_of(root: Path, lemmatizer: Lemmatizer) -> list[str]:
    with pytest.raises(KbError) as e:
        KnowledgeBase.load(root, lemmatizer=lemmatizer)
    return [str(p) for p in e.value.problems]


def test_valid_base_loads(tmp_path: Path, lemmatizer: Lemmatizer) -> None:
    kb = KnowledgeBase.load(make_kb(tmp_path, {"good.md": GOOD, "other.md": OTHER}),
                            lemmatizer=lemmatizer)
    good = kb.get("good")
    assert good is not None and good.forms == ("бланк.rtf",) and good.reviewed == date(2026, 10, 1)
    assert kb.form_path("бланк.rtf") == tmp_path / "kb" / "forms" / "бланк.rtf"


@pytest.mark.parametrize(("name", "text", "line", "message"), [
    ("good.md", GOOD.replace("---\n", "", 1), 1, "должна начинаться с заголовка"),
    ("good.md", GOOD.replace("---\nЗаполните", "Заполните"), 1, "не закрыт строкой «---»"),
    ("good.md", GOOD.replace("owner:", "author:"), 6, "неизвестное поле «author»"),
    ("good.md", GOOD.replace("title: Справка о доходах\n", ""), 1, "нет обязательного поля «title»"),
    ("good.md", GOOD.replace("2026-10-01", "01.10.2026"), 7, "нужна дата проверки"),
    ("good.md", GOOD.replace("processes: payroll", "processes: payroll, zarplata"), 3,
     "неизвестный код процесса «zarplata»"),
    ("good.md", GOOD.replace("needs: result", "needs: spravka"), 4,
     "неизвестный код потребности «spravka»"),
    ("good.md", GOOD.replace("](other)", "](no-such-article)"), 12,
     "ссылка на несуществующую статью «no-such-article»"),
    ("good.md", GOOD.replace("forms: бланк.rtf", "forms: бланк.rtf, нет-такого.xlsx"), None,
     "бланк «нет-такого.xlsx» не найден"),
    ("good.md", GOOD.replace("](forms/бланк.rtf)", "](forms/чужой.rtf)"), 10,
     "ссылка на бланк «чужой.rtf», которого нет в поле «forms»"),
    ("good.md", GOOD.replace("owner: ivanova", "owner: nobody"), None,
     "ответственный «nobody» не найден"),
    ("Справка.md", GOOD, None, "имя файла «Справка.md» не годится"),
])
def test_each_problem_names_file_and_line(tmp_path: Path, lemmatizer: Lemmatizer, name: str,
                                          text: str, line: int | None, message: str) -> None:
    root = make_kb(tmp_path, {name: text, "other.md": OTHER})
    problems = problems_of(root, lemmatizer)
    where = f"{root / 'kb' / name}:{line}: " if line else f"{root / 'kb' / name}: "
    assert any(p.startswith(where) and message in p for p in problems), problems


def test_all_problems_are_reported_at_once(tmp_path: Path, lemmatizer: Lemmatizer) -> None:
    bad = GOOD.replace("processes: payroll", "processes: x").replace("](other)", "](y)")
    root = make_kb(tmp_path, {"good.md": bad, "other.md": OTHER.replace("2026-01-01", "вчера")})
    assert len(problems_of(root, lemmatizer)) == 3


def test_no_kb_folder_is_an_empty_base(tmp_path: Path, lemmatizer: Lemmatizer) -> None:
    assert KnowledgeBase.load(tmp_path, lemmatizer=lemmatizer).articles == ()


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_edited_article_is_taken_into_use_without_a_restart(
    tmp_path: Path, lemmatizer: Lemmatizer
) -> None:
    root = make_kb(tmp_path, {"good.md": GOOD, "other.md": OTHER})
    clock = Clock()
    cache = KnowledgeBaseCache(root, lemmatizer=lemmatizer, interval=1.0, clock=clock)
    assert cache.get().get("good").title == "Справка о доходах"  # type: ignore[union-attr]
    (root / "kb" / "good.md").write_text(GOOD.replace("Справка о доходах", "Справка 2-НДФЛ"),
                                         encoding="utf-8")
    assert cache.get().get("good").title == "Справка о доходах"  # type: ignore[union-attr]
    clock.now += 1.0
    assert cache.get().get("good").title == "Справка 2-НДФЛ"  # type: ignore[union-attr]
    assert [a.slug for a, _ in cache.get().search("справку 2-НДФЛ")][:1] == ["good"]
    (root / "kb" / "new.md").write_text(OTHER.replace("Другая статья", "Новая статья"),
                                        encoding="utf-8")
    cache.refresh()  # a rule reload looks at once
    assert cache.get().get("new").title == "Новая статья"  # type: ignore[union-attr]


def test_a_broken_edit_keeps_the_previous_articles(tmp_path: Path, lemmatizer: Lemmatizer,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    root = make_kb(tmp_path, {"good.md": GOOD, "other.md": OTHER})
    clock = Clock()
    cache = KnowledgeBaseCache(root, lemmatizer=lemmatizer, clock=clock)
    before = cache.get()
    (root / "kb" / "other.md").unlink()  # good.md now links to a missing article
    clock.now += 5.0
    assert cache.get() is before
    assert "not reloaded" in caplog.text
    (root / "kb" / "other.md").write_text(OTHER, encoding="utf-8")
    clock.now += 5.0
    assert {a.slug for a in cache.get().articles} == {"good", "other"}
    assert cache.get() is not before


def test_stale_and_check_kb(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"good.md": GOOD, "other.md": OTHER})
    (root / "kb" / "forms" / "лишний.xlsx").write_bytes(b"x")
    problems, warnings = check_kb(root, date(2026, 11, 1), 180)
    assert problems == []
    assert any("«Другая статья» не проверялась с 01.01.2026" in w for w in warnings)
    assert not any("«Справка о доходах»" in w for w in warnings)
    assert any("лишний.xlsx не указан ни в одной статье" in w for w in warnings)
    broken = make_kb(tmp_path / "b", {"good.md": GOOD})
    problems, _ = check_kb(broken, date(2026, 11, 1), 180)
    assert any("несуществующую статью «other»" in p for p in problems)


def test_shipped_base_is_valid_and_covers_the_appendix(shipped: KnowledgeBase) -> None:
    assert len(shipped.articles) >= 8
    assert {"payroll", "travel", "timesheet", "info_on_demand"} <= {
        p for a in shipped.articles for p in a.processes}
    assert all(shipped.form_path(f) for a in shipped.articles for f in a.forms)
    problems, _ = check_kb(RULES, date(2026, 11, 1), 365)
    assert problems == []


def test_shipped_articles_pass_the_text_check(shipped: KnowledgeBase) -> None:
    checker = TextChecker.load(RULES)
    for article in shipped.articles:
        text = f"{article.title}\n\n" + to_text(article.body, base="http://localhost:8080/kb")
        assert [f.to_dict() for f in checker.check(text)] == [], article.slug
        assert checker.check(article_text(article)) == [], article.slug


@pytest.mark.parametrize(("query", "slug"), [
    ("справку", "spravka-2-ndfl"), ("справки", "spravka-2-ndfl"), ("справка", "spravka-2-ndfl"),
    ("командировочные", "komandirovka"), ("командировки", "komandirovka"),
    ("командировке", "komandirovka"), ("2-НДФЛ", "spravka-2-ndfl"),
    ("отпускных", "otpusknye"), ("больничного листа", "bolnichnyj"),
    ("табеля", "tabel"), ("вычеты на детей", "vychet-na-detej"),
    ("копию платёжки", "kopii-platezhnyh-poruchenij"),
])
def test_search_finds_any_word_form(shipped: KnowledgeBase, query: str, slug: str) -> None:
    results = shipped.search(query)
    assert results and results[0][0].slug == slug, [(a.slug, s) for a, s in results[:3]]


def test_search_without_shared_words_finds_nothing(shipped: KnowledgeBase) -> None:
    assert shipped.search("футбол") == []
    assert shipped.search("") == []


@pytest.mark.parametrize(("process", "need", "text", "slug"), [
    ("payroll", "result", "Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год для банка.",
     "spravka-2-ndfl"),
    ("travel", "submission", "Направляю авансовый отчёт по командировке в Москву, чеки прилагаю.",
     "avansovyj-otchet"),
    ("payroll", "information", "Подскажите, когда будут выплачены отпускные? Отпуск с 1 июля.",
     "otpusknye"),
    ("timesheet", "consultation", "Как отметить в табеле больничный сотрудника?", "tabel"),
])
def test_suggestion_fits_the_request(shipped: KnowledgeBase, process: str, need: str, text: str,
                                     slug: str) -> None:
    suggestions = shipped.suggest(process, need, text)
    assert 1 <= len(suggestions) <= 3
    article, reasons = suggestions[0]
    assert article.slug == slug
    assert any("тот же процесс" in r for r in reasons)


def test_no_suggestion_for_an_unrelated_request(shipped: KnowledgeBase) -> None:
    assert shipped.suggest("reporting", "information",
                           "Направьте, пожалуйста, баланс за третий квартал.") == []


def test_articles_for_links_with_the_public_url(shipped: KnowledgeBase) -> None:
    request = Request(number="БУХ-2026-000001", subject="Справка о доходах", process="payroll",
                      need="result")
    body = "Прошу выдать справку.\n\n> Пересланный текст про командировку и суточные"
    found = articles_for(shipped, request, body, base_url="https://buh.example/")
    assert found[0]["slug"] == "spravka-2-ndfl"
    assert found[0]["url"] == "https://buh.example/kb/spravka-2-ndfl"
    assert found[0]["title"] == shipped.get("spravka-2-ndfl").title  # type: ignore[union-attr]
    assert "komandirovka" not in [f["slug"] for f in found]


def test_public_url_comes_from_the_web_section(tmp_path: Path, make_config, secret_env) -> None:
    from buhdesk.config import load_config

    plain = load_config(make_config(tmp_path))
    assert public_url(plain) == "http://localhost:8080"
    (tmp_path / "w").mkdir()
    web = load_config(make_config(tmp_path / "w", '[web]\npublic_url = "https://buh.example/"\n'))
    assert public_url(web) == "https://buh.example"


def test_insert_articles_appends_text_and_reports_missing(shipped: KnowledgeBase) -> None:
    text, missing = insert_articles(shipped, "Справка готова.",
                                    ["vychet-na-detej", "no-such", "vychet-na-detej"],
                                    base_url="https://buh.example")
    assert missing == ["no-such"]
    assert text.startswith("Справка готова.\n\nСтандартный налоговый вычет на детей\n")
    assert text.count("Стандартный налоговый вычет на детей") == 1
    assert "на второго ребёнка — 2800 рублей" in text
    assert "Статья в базе знаний: https://buh.example/kb/vychet-na-detej" in text
    assert "https://buh.example/kb/forms/%D0%B7" in text  # the blank form, percent-encoded


def test_offered_and_inserted_go_to_the_audit_trail(daemon) -> None:
    with Session(daemon.rt.engine) as session:
        request = Request(number="БУХ-2026-000009", subject="Справка")
        session.add(request)
        session.flush()
        record_offered(session, request, ["spravka-2-ndfl", "vychet-na-detej"])
        record_offered(session, request, [])
        record_inserted(session, request, ["spravka-2-ndfl"], actor="ivanova")
        session.commit()
        events = session.execute(select(Event).where(Event.request_id == request.id)
                                 .order_by(Event.id)).scalars().all()
    assert [(e.action, e.actor, json.loads(e.detail)) for e in events] == [
        ("kb-offered", "buhdesk", {"articles": ["spravka-2-ndfl", "vychet-na-detej"]}),
        ("kb-inserted", "ivanova", {"articles": ["spravka-2-ndfl"]}),
    ]


def test_acknowledgment_lists_the_offered_articles(daemon, shipped: KnowledgeBase) -> None:
    from buhdesk.reply.outbox import request_vars

    rt = daemon.rt
    request = Request(number="БУХ-2026-000010", subject="Справка 2-НДФЛ", process="payroll",
                      need="result", client_email="employee@example.org")
    offered = articles_for(shipped, request, "Прошу выдать справку о доходах за 2025 год.",
                           base_url=public_url(rt.config))
    body = rt.templates.render("ack", **request_vars(rt, request, articles=offered)).body
    assert "— Справка о доходах и суммах налога (2-НДФЛ): http://localhost:8080/kb/spravka-2-ndfl" \
        in body


# --- relevance threshold (figures: bench/kb_relevance.py over tests/corpus/kb/questions.tsv) ---


def test_a_per_diem_question_is_not_offered_sick_pay() -> None:
    from buhdesk.rules.lemmas import Lemmatizer
    kb = KnowledgeBase.load(Path(__file__).resolve().parents[1] / "rules", lemmatizer=Lemmatizer())
    offered = [a.slug for a, _ in kb.suggest(
        "travel", "consultation", "Какие суточные положены при командировке в Москву на три дня?")]
    assert offered[0] == "komandirovka" and "bolnichnyj" not in offered


def test_threshold_keeps_the_expected_article_and_drops_most_others() -> None:
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from kb_relevance import evaluate

    from buhdesk.rules.lemmas import Lemmatizer
    kb = KnowledgeBase.load(Path(__file__).resolve().parents[1] / "rules", lemmatizer=Lemmatizer())
    for part in ("dev", "held"):
        precision, recall, _ = evaluate(kb, part)
        unfiltered, _, _ = evaluate(kb, part, min_share=0.0)
        assert recall == 1.0, part  # every question still gets its article
        assert precision >= 0.8 and precision > unfiltered, (part, precision, unfiltered)


def test_min_share_is_configurable_and_checked(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from buhdesk.config import load_config
    from buhdesk.kb.mail import KbSettingsError, min_share

    monkeypatch.setenv("BUHDESK_SECRET", "k" * 64)
    base = (Path(__file__).resolve().parents[1] / "deploy/systemd/buhdesk.example.toml")
    for value, expected in (("0.7", 0.7), ("1.5", None), ('"много"', None)):
        path = tmp_path / "buhdesk.toml"
        path.write_text(base.read_text("utf-8") + f"\n[kb]\nmin_share = {value}\n", "utf-8")
        config = load_config(path)
        if expected is None:
            with pytest.raises(KbSettingsError, match="min_share: нужно число от 0 до 1"):
                min_share(config)
        else:
            assert min_share(config) == expected
