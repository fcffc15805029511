"""The shipped classifier (rules + model) on the development corpus: figures, tables, regressions.

Prints the figures and confusion tables of the tuning part and the held-out part (run with ``-s``
to see them) and asserts the held-out level. Every letter's decision is kept in
``tests/corpus/classify/expected.tsv``: a letter that was right and became wrong fails the test.
After a deliberate change (new rules, ``buhdesk learn``) refresh that file with
``BUHDESK_UPDATE_EXPECTED=1 .venv/bin/python -m pytest -q tests/test_classify_model.py``
(see tests/golden_decisions.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from golden_decisions import check_or_update

from buhdesk.rules.classify import Classifier, Letter
from buhdesk.rules.classify_model import MODEL_FILE
from buhdesk.rules.learn import Sample, dump_model, measure, read_corpus, report, train
from buhdesk.rules.ruleset import RuleSet, RuleSetError, load_ruleset

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus" / "classify"
EXPECTED = CORPUS / "expected.tsv"
# The targets; the shipped rules and model reach 0.900 (180 of 200) and 0.860 on the
# held-out part, so process is exactly at its target: one letter lost fails this test.
HELDOUT_PROCESS = 0.90
HELDOUT_NEED = 0.75


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset(ROOT / "rules")


@pytest.fixture(scope="module")
def parts() -> dict[str, list[Sample]]:
    return {part: read_corpus(CORPUS / part) for part in ("tune", "heldout")}


def test_heldout_level_and_no_letter_gets_worse(ruleset: RuleSet,
                                                parts: dict[str, list[Sample]]) -> None:
    assert ruleset.classifier.model is not None, "rules/classify_model.json is shipped"
    decisions = {}
    for part, samples in parts.items():
        score = measure(ruleset.classifier, samples)
        print("\n" + report({"tune": "Настроечная часть", "heldout": "Контрольная часть"}[part],
                            score))
        for name, p, n in zip(score.names, score.process_pairs, score.need_pairs):
            decisions[f"{part}/{name}"] = (p[1], n[1])
        if part == "heldout":
            assert score.process >= HELDOUT_PROCESS
            assert score.need >= HELDOUT_NEED
    labels = {f"{part}/{s.name}": (s.process, s.need) for part, ss in parts.items() for s in ss}
    worse = check_or_update(EXPECTED, decisions, labels)
    assert not worse, "письма, которые были верны и стали неверны:\n" + "\n".join(worse)



def test_learn_writes_a_model_that_check_accepts_and_a_broken_one_is_refused(
        tmp_path: Path, ruleset: RuleSet, parts: dict[str, list[Sample]]) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    classifier = ruleset.classifier
    rules_only = Classifier(classifier.rules, classifier.settings, classifier.lemmatizer)
    model = train(parts["tune"][:120], rules_only)
    (rules / MODEL_FILE).write_text(dump_model(model), encoding="utf-8")
    reloaded = load_ruleset(rules, lemmatizer=classifier.lemmatizer)
    assert reloaded.classifier.model is not None
    assert reloaded.classifier.model.trained_on == 120
    broken = json.loads((rules / MODEL_FILE).read_text(encoding="utf-8"))
    broken["process"]["classes"][0] = "lunch"
    (rules / MODEL_FILE).write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(RuleSetError, match="lunch"):
        load_ruleset(rules, lemmatizer=classifier.lemmatizer)


def test_explanation_names_the_models_features(ruleset: RuleSet) -> None:
    letter = Letter("Справка 2-НДФЛ", "Добрый день! Когда будет готова справка 2-НДФЛ за 2025 год?",
                    "ivanova@minfin.example.ru")
    result = ruleset.classifier.classify(letter).to_dict()
    assert result["process"] == "payroll"
    model = result["model"]
    assert model["process"] == "payroll"
    assert model["process_features"], "the features that pushed the decision are shown"


def test_signature_and_forward_headers_do_not_move_the_decision(ruleset: RuleSet) -> None:
    body = "Пришлите, пожалуйста, копию платёжного поручения за март по договору поставки."
    signed = (body + "\n\nС уважением,\nПетрова Анна\nначальник отдела доходов\n"
              "Министерство финансов\nтел. 38-12-34")
    plain = ruleset.classifier.classify(Letter("Копия платёжки", body, "a@minfin.example.ru"))
    with_signature = ruleset.classifier.classify(Letter("Копия платёжки", signed,
                                                        "a@minfin.example.ru"))
    assert (plain.process, plain.need) == (with_signature.process, with_signature.need)
    assert plain.model is not None and with_signature.model is not None
    assert plain.model.process_features == with_signature.model.process_features


def test_transliterated_letter_meets_the_russian_words(ruleset: RuleSet) -> None:
    latin = ruleset.classifier.features(Letter("zarplata", "kogda budet zarplata za mart?",
                                               "x@minfin.example.ru"))
    assert "зарплата" in latin


def test_unsorted_letter_is_acknowledged_politely_as_possibly_not_ours(daemon) -> None:
    from buhdesk.store.models import Request
    from buhdesk.reply.outbox import request_vars

    rt = daemon.rt
    unsorted = Request(number="БУХ-2026-000011", subject="Не работает принтер",
                       process=None, need="other", client_email="employee@example.org")
    sorted_ = Request(number="БУХ-2026-000012", subject="Справка 2-НДФЛ", process="payroll",
                      need="result", client_email="employee@example.org")
    note = "возможно, вопрос не относится к бухгалтерскому учёту"
    assert note in rt.templates.render("ack", **request_vars(rt, unsorted, articles=[])).body
    assert note not in rt.templates.render("ack", **request_vars(rt, sorted_, articles=[])).body
