"""SIGHUP reloads the configuration: changeable settings are taken into use at once; a change
that needs a restart, or a broken file, is refused and the administrators are told."""

from __future__ import annotations

from pathlib import Path

from buhdesk.service.runner import Daemon


def rewrite(daemon: Daemon, old: str, new: str) -> None:
    path: Path = daemon.rt.config.file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def admin_letters(daemon: Daemon) -> list[str]:
    return [m.get_content() for m in daemon.transport.to("admin@minfin.example")]  # type: ignore[attr-defined]


def test_changeable_settings_are_taken_into_use(daemon: Daemon) -> None:
    rewrite(daemon, "auto_reply_daily_cap = 3", "auto_reply_daily_cap = 7")
    daemon.watcher.request()  # what SIGHUP does
    daemon.drain()
    assert daemon.rt.config.service.auto_reply_daily_cap == 7
    assert admin_letters(daemon) == []


def test_restart_only_change_is_refused_and_reported(daemon: Daemon) -> None:
    rewrite(daemon, 'address = "buh@minfin.example"', 'address = "other@minfin.example"')
    daemon.watcher.request()
    daemon.drain()
    assert daemon.rt.config.service.address == "buh@minfin.example"
    [letter] = admin_letters(daemon)
    assert "требуют перезапуска" in letter and "service.address" in letter


def test_broken_file_is_refused_and_the_old_one_stays(daemon: Daemon) -> None:
    rewrite(daemon, "[service]", "[service")
    daemon.watcher.request()
    daemon.drain()
    assert daemon.rt.config.service.auto_reply_daily_cap == 3
    [letter] = admin_letters(daemon)
    assert "не принят" in letter and "TOML" in letter
