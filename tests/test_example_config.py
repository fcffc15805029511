"""The example configuration: its commented [web], [survey] and [closure] sections, once
uncommented, are valid; every option there has a comment and is in the admin guide."""

from __future__ import annotations

import re
from pathlib import Path

from buhdesk.config import load_config
from buhdesk.kb.mail import public_url
from buhdesk.feedback.settings import closure_settings, survey_settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "deploy" / "systemd" / "buhdesk.example.toml"
GUIDE = ROOT / "docs" / "admin-guide.ru.md"
OPTIONAL = ("web", "survey", "closure", "kb")
_SETTING = re.compile(r"^# ?(\[\w+\]|[a-z_]+ = .*)$")


def uncommented() -> str:
    """The example with its optional sections switched on, as an administrator would."""
    return "\n".join(m[1] if (m := _SETTING.match(line)) else line
                     for line in EXAMPLE.read_text("utf-8").splitlines())


def test_uncommented_sections_are_valid(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BUHDESK_SECRET", "e" * 64)
    monkeypatch.setenv("BUHDESK_IMAP_PASSWORD", "x")
    monkeypatch.setenv("BUHDESK_SMTP_PASSWORD", "x")
    text = uncommented()
    for name in OPTIONAL:
        assert f"\n[{name}]\n" in text, name
    path = tmp_path / "buhdesk.toml"
    path.write_text(text, "utf-8")
    config = load_config(path)
    assert public_url(config) == "https://buh.minfin.example"
    survey = survey_settings(config)
    assert survey.base_url == "https://buh.minfin.example"
    assert "culture.example" in survey.internal_domains
    closure = closure_settings(config)
    assert (closure.auto_close_days, closure.reopen_days) == (5, 10)


def test_every_optional_setting_is_explained_here_and_in_the_guide() -> None:
    lines = EXAMPLE.read_text("utf-8").splitlines()
    guide = GUIDE.read_text("utf-8")
    section = None
    for number, line in enumerate(lines):
        header = re.match(r"^# \[(\w+)\]$", line)
        if header:
            section = header[1]
            continue
        setting = re.match(r"^# ([a-z_]+) = ", line)
        if section in OPTIONAL and setting:
            explained = [x for x in lines[:number][::-1] if not re.match(r"^# [a-z_]+ = ", x)][0]
            assert explained.startswith("# ") and len(explained) > 20, line  # a comment above
            assert setting[1] in guide, f"{setting[1]} is not in the admin guide"
    for title in ("[survey]", "internal_domains", "[closure]", "public_url", "buhdesk web",
                  "#закрыть", "#передать"):
        assert title in guide, title
