"""The shipped rules against a golden corpus of labelled requests (tests/corpus/requests/)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from golden_decisions import check_or_update

from buhdesk.rules.classify import NEEDS, PROCESSES, Classification, Letter
from buhdesk.rules.learn import Sample, read_sample
from buhdesk.rules.ruleset import RuleSet, load_ruleset

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus" / "requests"
PROCESS_ACCURACY = 0.90
NEED_ACCURACY = 0.75
UNSORTED = "none"


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset(ROOT / "rules")


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    return [read_sample(p) for p in sorted(CORPUS.glob("*.txt"))]


def confusion_table(pairs: list[tuple[str, str]], codes: tuple[str, ...]) -> str:
    counts = Counter(pairs)
    width = max(len(c) for c in codes) + 1
    short = [c[:6] for c in codes]
    lines = [" " * width + " ".join(f"{s:>6}" for s in short) + "   <- предсказано"]
    for expected in codes:
        row = " ".join(f"{counts[(expected, got)] or '.':>6}" for got in codes)
        lines.append(f"{expected:<{width}}{row}")
    return "\n".join(lines)


def predicted_process(c: Classification) -> str:
    return UNSORTED if c.process is None else c.process


def assert_no_letter_gets_worse(corpus: Path,
                                results: list[tuple[Sample, Classification]]) -> None:
    """Each letter's decision is stored in ``expected.tsv`` beside the corpus (golden_decisions)."""
    decisions = {s.name: (predicted_process(c), c.need or "other") for s, c in results}
    labels = {s.name: (s.process, s.need) for s, _ in results}
    worse = check_or_update(corpus / "expected.tsv", decisions, labels)
    assert not worse, "письма, которые были верны и стали неверны:\n" + "\n".join(worse)


def test_corpus_is_large_and_labelled(samples: list[Sample]) -> None:
    assert len(samples) >= 150
    for s in samples:
        assert s.process in (*PROCESSES, UNSORTED), s.name
        assert s.need in NEEDS, s.name


def test_shipped_rules_meet_accuracy_on_corpus(
    ruleset: RuleSet, samples: list[Sample], capsys: pytest.CaptureFixture[str]
) -> None:
    results = [(s, ruleset.classifier.classify(s.letter)) for s in samples]
    process_pairs = [(s.process, predicted_process(c)) for s, c in results]
    need_pairs = [(s.need, c.need or "other") for s, c in results]
    p_acc = sum(e == g for e, g in process_pairs) / len(results)
    n_acc = sum(e == g for e, g in need_pairs) / len(results)
    with capsys.disabled():
        print(f"\nпроцесс: {p_acc:.1%}, потребность: {n_acc:.1%} ({len(results)} писем)")
        print(confusion_table(process_pairs, (*PROCESSES, UNSORTED)))
        print(confusion_table(need_pairs, NEEDS))
        for s, c in results:
            if (s.process, predicted_process(c)) != (s.process, s.process):
                print(f"  {s.name}: процесс {s.process} -> {predicted_process(c)}")
    assert p_acc >= PROCESS_ACCURACY
    assert n_acc >= NEED_ACCURACY
    assert_no_letter_gets_worse(CORPUS, results)


def test_every_decision_is_explained(ruleset: RuleSet, samples: list[Sample]) -> None:
    for sample in samples[:40]:
        c = ruleset.classifier.classify(sample.letter)
        if c.process is not None:
            winning = [h for h in c.hits if h.terms]
            assert winning, sample.name
        data = c.to_dict()
        assert {"process", "need", "hits", "unsorted"} <= set(data)


HELD_OUT = ROOT / "tests" / "corpus" / "heldout"
HELD_OUT_PROCESS_ACCURACY = 0.80
HELD_OUT_NEED_ACCURACY = 0.60


def test_rules_generalise_to_letters_written_after_tuning(
    ruleset: RuleSet, capsys: pytest.CaptureFixture[str]
) -> None:
    """Letters written after the rules were tuned and never used to tune them."""
    held = [read_sample(p) for p in sorted(HELD_OUT.glob("*.txt"))]
    assert len(held) >= 20
    results = [(s, ruleset.classifier.classify(s.letter)) for s in held]
    p_acc = sum(s.process == predicted_process(c) for s, c in results) / len(held)
    n_acc = sum(s.need == c.need for s, c in results) / len(held)
    with capsys.disabled():
        print(f"\nотложенные письма: процесс {p_acc:.1%}, потребность {n_acc:.1%} ({len(held)})")
        for s, c in results:
            if s.process != predicted_process(c) or s.need != c.need:
                print(f"  {s.name}: {s.process}/{s.need} -> {predicted_process(c)}/{c.need}")
    assert p_acc >= HELD_OUT_PROCESS_ACCURACY
    assert n_acc >= HELD_OUT_NEED_ACCURACY
    assert_no_letter_gets_worse(HELD_OUT, results)


# --- matching behaviour of the shipped rules ------------------------------------------------------

def classify(ruleset: RuleSet, body: str, subject: str = "", sender: str = "a@b.ru"):
    return ruleset.classifier.classify(Letter(subject=subject, body=body, sender=sender))


@pytest.mark.parametrize("word", ["зарплата", "заработной платы", "ЗП", "з/п", "зп", "ЗАРПЛАТУ"])
def test_salary_spellings_meet_on_lemmas(ruleset: RuleSet, word: str) -> None:
    c = classify(ruleset, f"Добрый день. Когда будет {word} за ноябрь?")
    assert c.process == "payroll"
    assert any(word.lower() in t.lower() or t in ("зарплата", "ЗП", "з/п", "заработная плата")
               for h in c.hits for t in h.terms)


@pytest.mark.parametrize("typo", ["зарплты", "командировачные", "авансвый отчет", "табеля"])
def test_one_typo_in_a_long_word_is_forgiven(ruleset: RuleSet, typo: str) -> None:
    c = classify(ruleset, f"Вопрос про {typo} за октябрь")
    assert c.process in ("payroll", "travel", "timesheet")
    assert not c.unsorted


def test_yo_and_ye_are_the_same(ruleset: RuleSet) -> None:
    a = classify(ruleset, "Направляю авансовый отчёт по командировке")
    b = classify(ruleset, "Направляю авансовый отчет по командировке")
    assert (a.process, a.need, a.process_score) == (b.process, b.need, b.process_score)


def test_quoted_history_does_not_vote(ruleset: RuleSet) -> None:
    body = ("Спасибо, а когда ждать зарплату?\n\n-----Original Message-----\n"
            "From: x\nSent: y\n\nтабель табель табель авансовый отчёт командировка")
    assert classify(ruleset, body).process == "payroll"


def test_letter_about_nothing_known_is_unsorted(ruleset: RuleSet) -> None:
    c = classify(ruleset, "Добрый день! Подскажите, где у вас можно припарковаться?")
    assert c.unsorted and c.process is None


def test_sender_rule_recognises_the_tax_service(ruleset: RuleSet) -> None:
    c = classify(ruleset, "Просим представить пояснения в течение пяти дней.",
                 sender="r6700@nalog.gov.ru")
    assert c.process == "external_reporting"
    assert any("отправитель" in t for h in c.hits for t in h.terms)


def test_classification_is_json_ready(ruleset: RuleSet) -> None:
    import json

    data = classify(ruleset, "Прошу выдать справку 2-НДФЛ").to_dict()
    decoded = json.loads(json.dumps(data, ensure_ascii=False))
    assert decoded["process"] == "payroll" and decoded["need"] == "result"
    assert all({"rule", "terms", "score"} <= set(h) for h in decoded["hits"])
