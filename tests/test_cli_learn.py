"""``buhdesk learn`` as an administrator runs it: corpus plus accountants' corrections in,
a model written beside the rules that ``check`` and the classifier accept; ``--dry-run`` writes
nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlmodel import Session

from buhdesk.cli.command import main
from buhdesk.rules.classify_model import MODEL_FILE
from buhdesk.rules.ruleset import load_ruleset
from buhdesk.store.engine import open_store
from buhdesk.store.models import Message, Request

ROOT = Path(__file__).resolve().parents[1]
TUNE = ROOT / "tests" / "corpus" / "classify" / "tune"
HELDOUT = ROOT / "tests" / "corpus" / "classify" / "heldout"


@pytest.fixture
def installation(tmp_path: Path, make_config, store_url: str, secret_env: str) -> Path:  # type: ignore[no-untyped-def]
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / MODEL_FILE).unlink()
    return make_config(tmp_path, f'[paths]\nrules = "{rules}"\n', store=store_url)  # type: ignore[no-any-return]


def registered_request(store_url: str) -> str:
    """A request registered from a letter the rules put under payroll."""
    engine = open_store(store_url)
    try:
        with Session(engine) as s:
            request = Request(number="БУХ-2026-000777", state="assigned", process="payroll",
                              need="information", assignee="ivanova",
                              client_email="a@culture.example", subject="Суточные")
            s.add(request)
            s.flush()
            s.add(Message(direction="in", kind="request", status="routed", request_id=request.id,
                          from_addr="a@culture.example", subject="Суточные",
                          body_text="Сколько суточных положено за поездку в Москву?"))
            s.commit()
    finally:
        engine.dispose()
    return "БУХ-2026-000777"


def test_learn_takes_corrections_and_writes_a_model_check_accepts(
        installation: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ["--config", str(installation)]
    number = registered_request(store_url)
    assert main([*cfg, "correct", number, "--process", "travel", "--as", "ivanova"]) == 0
    rules = installation.parent / "rules"
    capsys.readouterr()
    assert main([*cfg, "learn", "--corpus", str(TUNE), "--heldout", str(HELDOUT),
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "исправлений бухгалтеров: 1" in out and "Пробный запуск" in out
    assert not (rules / MODEL_FILE).exists()
    assert main([*cfg, "learn", "--corpus", str(TUNE), "--heldout", str(HELDOUT)]) == 0
    out = capsys.readouterr().out
    assert "До" in out and "После" in out and "Модель записана" in out
    model = json.loads((rules / MODEL_FILE).read_text(encoding="utf-8"))
    assert model["trained_on"] == len(list(TUNE.glob("*.txt"))) + 1
    assert load_ruleset(rules).classifier.model is not None
    assert main([*cfg, "check"]) == 0


def test_learn_without_any_labelled_letter_says_so(
        installation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["--config", str(installation), "learn", "--corpus", str(empty), "--heldout",
                 str(empty), "--no-store"]) == 1
    assert "нет ни одного размеченного письма" in capsys.readouterr().err
