"""Command-line mistakes are answered in Russian, with the offending option kept."""

from __future__ import annotations

import pytest

from buhdesk.cli.command import main


@pytest.mark.parametrize(("args", "words"), [
    (["report", "touchpoints", "--from", "2026-01-01"], "неизвестные параметры: --from 2026-01-01"),
    (["report", "sla", "--from", "2026-01-01"], "не указаны обязательные параметры: --to"),
    (["report", "sla", "--from", "2026-01-01", "--to", "2026-01-31", "--format", "pdf"],
     "параметр --format: недопустимое значение 'pdf' (допустимы: 'html', 'xlsx', 'csv')"),
    (["report", "sla", "--from", "вчера", "--to", "2026-01-31"],
     "параметр --from: «вчера»: нужна дата ГГГГ-ММ-ДД или ДД.ММ.ГГГГ"),
    (["no-such-command"], "недопустимое значение 'no-such-command'"),
])
def test_argument_errors_are_russian(args: list[str], words: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(args)
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert "ошибка: " in err and "использование: " in err
    assert words in err, err
    for english in ("error:", "usage:", "the following", "unrecognized", "invalid choice",
                    "argument "):
        assert english not in err, err


def test_help_headings_are_russian(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "sla", "--help"])
    out = capsys.readouterr().out
    assert "использование:" in out and "параметры:" in out and "показать эту справку" in out
    assert "options:" not in out and "show this help" not in out
