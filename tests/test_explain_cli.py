"""`buhdesk explain`: a dry run over any file — real letters, broken ones, garbage — that prints
one JSON object per file with stable keys, never a traceback, and changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from buhdesk.cli.command import main

CORPUS = Path(__file__).parent / "corpus" / "mail"
KEYS = {"file", "from", "subject", "body_text", "attachments", "automated", "request", "process",
        "need", "assignee", "due_at", "rules"}


def explain_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    assert main(["--config", "/nonexistent/buhdesk.toml", "explain", "--json", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_every_corpus_letter_and_garbage_gives_one_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = {"empty.eml": b"", "png.eml": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
               "text.eml": "просто текст без заголовков".encode("cp1251"),
               "nul.eml": b"From: a@b\x00\r\nSubject: \xff\xfe\r\n\r\n\x00\x00"}
    for name, data in garbage.items():
        (tmp_path / name).write_bytes(data)
    files = sorted(str(p) for p in CORPUS.glob("*.eml")) + sorted(
        str(tmp_path / n) for n in garbage) + [str(tmp_path / "missing.eml")]
    results = explain_json(capsys, *files)
    assert [r["file"] for r in results] == files
    for r in results:
        assert KEYS <= set(r), r["file"]
    errors = {Path(str(r["file"])).name for r in results if r["error"]}
    assert {"empty.eml", "png.eml", "missing.eml"} <= errors


def test_new_request_is_decided_with_deadline_from_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_message  # type: ignore[no-untyped-def]
) -> None:
    letter = tmp_path / "letter"  # any name, with a leading mbox From_ line
    letter.write_bytes(b"From someone@example Tue Nov 24 10:00:00 2026\n" + make_message(
        subject="Авансовый отчёт", body="Направляю авансовый отчёт по командировке в Москву."))
    [r] = explain_json(capsys, "--at", "2026-12-30T10:00:00+03:00", str(letter))
    assert r["error"] is None and r["request"] == "new"
    assert r["process"] == "travel" and r["assignee"]
    assert str(r["due_at"]).startswith("2027-01-")  # the New Year holidays move it into January
    assert any(rule.get("stage") == "classify" for rule in r["rules"])  # type: ignore[union-attr]


def test_automated_mail_is_explained_as_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_message  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "ooo.eml"
    path.write_bytes(make_message(subject="Автоответ: в отпуске",
                                  headers={"Auto-Submitted": "auto-replied"}))
    [r] = explain_json(capsys, str(path))
    assert r["automated"] == "auto-reply" and r["request"] is None and r["process"] is None


def test_text_output_is_russian_and_script_runs_without_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.eml"
    junk.write_bytes(bytes(range(256)) * 10)
    first = CORPUS / min(p.name for p in CORPUS.glob("*.eml"))
    done = subprocess.run([sys.executable, "-m", "buhdesk.cli.command", "--config", "/nonexistent",
                           "explain", str(junk), str(first)],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "Traceback" not in done.stderr
    assert "ошибка:" in done.stdout and "решение:" in done.stdout


def test_articles_are_offered_for_a_common_question(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_message  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "q.eml"
    path.write_bytes(make_message(subject="Справка о доходах",
                                  body="Добрый день! Как получить справку 2-НДФЛ для банка?"))
    [r] = explain_json(capsys, str(path))
    assert r["articles"] and all(isinstance(s, str) for s in r["articles"])  # type: ignore[union-attr]
    assert any("ndfl" in str(s) or "spravk" in str(s) for s in r["articles"])  # type: ignore[union-attr]
