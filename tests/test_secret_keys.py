"""The secret as an attacker meets it: a weak one stops `check`, `run` and `web` alike with a
Russian message saying how to make a good one; keys are per purpose, so a survey key signs no
thread token and the web process holds no thread key; the previous secret verifies until its day,
never after.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from buhdesk.cli.command import main
from buhdesk.config import load_config
from buhdesk.trust.keys import (
    SURVEY_FORM,
    THREAD,
    WEB_PURPOSES,
    KeyNotHeld,
    KeyRing,
    WeakSecret,
    secret_bytes,
)
from buhdesk.trust.tokens import make_message_id, read_token
from buhdesk.web.guards import form_is_genuine, form_signature

WEAK = ["aaaaaaaaaaaaaaaa", "password12345678", " " * 16, "x" * 15, "s" * 32, "a" * 64,
        "deadbeef" * 8, "0123456789abcdef" * 4, "Password1234567890Password1234567890abcdefgh",
        "correcthorsebatterystaplecorrecthorsebatter", b"correct horse battery staple!!!!".hex(),
        "qwertyuiopASDFGHJKLzxcvbnm1234567890QWERTYUI"]
GOOD = [secrets.token_hex(32), secrets.token_urlsafe(32),
        base64.b64encode(secrets.token_bytes(32)).decode(), secrets.token_hex(48)]


@pytest.mark.parametrize("value", WEAK)
def test_weak_secrets_are_refused(value: str) -> None:
    with pytest.raises(WeakSecret):
        secret_bytes(value)


@pytest.mark.parametrize("value", GOOD)
def test_generated_secrets_are_accepted(value: str) -> None:
    assert len(secret_bytes(value)) >= 32


@pytest.mark.parametrize("command", [["check"], ["run", "--once"], ["web", "--port", "1"]])
@pytest.mark.parametrize("weak", ["x" * 15, "aaaaaaaaaaaaaaaa", "password12345678", " " * 16])
def test_check_run_and_web_refuse_a_weak_secret_alike(
        command: list[str], weak: str, tmp_path: Path, make_config: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_config(tmp_path, "")
    monkeypatch.setenv("BUHDESK_SECRET", weak)
    status = main(["--config", str(config), *command])
    out = capsys.readouterr()
    said = out.out + out.err
    assert status != 0
    assert "BUHDESK_SECRET" in said and "openssl rand -hex 32" in said
    assert "systemd-creds" in said and "слабый" in said
    if weak.strip():
        assert weak not in said, "the secret itself is never printed"


def ring(**kw: object) -> KeyRing:
    return KeyRing.from_secrets(secrets.token_hex(32), **kw)  # type: ignore[arg-type]


def test_a_survey_key_signs_no_thread_token_and_back() -> None:
    keys = ring()
    forged = make_message_id(keys.signing_key(SURVEY_FORM), "notice", 42, "minfin.example")
    assert read_token(keys.keys(THREAD), forged) is None
    real = make_message_id(keys.signing_key(THREAD), "notice", 42, "minfin.example")
    assert read_token(keys.keys(THREAD), real).request_id == 42  # type: ignore[union-attr]
    signature = form_signature(keys.signing_key(THREAD), "nonce", "hash")
    assert not form_is_genuine(keys.keys(SURVEY_FORM), cookie="nonce", nonce="nonce",
                               signature=signature, token_hash="hash")
    good = form_signature(keys.signing_key(SURVEY_FORM), "nonce", "hash")
    assert form_is_genuine(keys.keys(SURVEY_FORM), cookie="nonce", nonce="nonce",
                           signature=good, token_hash="hash")


def test_the_web_process_holds_no_thread_key(tmp_path: Path, make_config: Callable[..., Path],
                                             secret_env: str) -> None:
    from buhdesk.service.runtime import build_runtime

    rt = build_runtime(load_config(make_config(tmp_path, "")), purposes=WEB_PURPOSES)
    try:
        with pytest.raises(KeyNotHeld):
            rt.keys.signing_key(THREAD)
        with pytest.raises(KeyNotHeld):
            rt.keys.keys(THREAD)
        assert set(rt.keys.current) == set(WEB_PURPOSES)
        assert secret_env.encode() not in rt.keys.current.values()
    finally:
        rt.engine.dispose()


def test_previous_secret_verifies_until_its_day_and_never_signs() -> None:
    old, new = secrets.token_hex(32), secrets.token_hex(32)
    before = KeyRing.from_secrets(old)
    token = make_message_id(before.signing_key(THREAD), "notice", 7, "minfin.example")
    today = [date(2027, 3, 31)]
    after = KeyRing.from_secrets(new, previous=old, previous_until=date(2027, 3, 31),
                                 today=lambda: today[0])
    assert after.signing_key(THREAD) != before.signing_key(THREAD)
    assert read_token(after.keys(THREAD), token).request_id == 7  # type: ignore[union-attr]
    today[0] = date(2027, 4, 1)
    assert read_token(after.keys(THREAD), token) is None
    assert after.keys(THREAD) == (after.signing_key(THREAD),)


def test_rotation_is_configured_with_a_name_and_a_day(
        tmp_path: Path, make_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
        secret_env: str) -> None:
    old = secrets.token_hex(32)
    monkeypatch.setenv("BUHDESK_SECRET_OLD", old)
    path = make_config(tmp_path, "")
    path.write_text(path.read_text(encoding="utf-8").replace(
        "[service]\n", '[service]\nsecret_previous_env = "BUHDESK_SECRET_OLD"\n'
                       "secret_previous_valid_until = 2027-03-31\n"), encoding="utf-8")
    cfg = load_config(path)
    signed_before = make_message_id(KeyRing.from_secrets(old).signing_key(THREAD), "ack", 3, "x")
    inside = cfg.keyring(today=lambda: date(2027, 3, 1))
    outside = cfg.keyring(today=lambda: date(2027, 4, 1))
    assert read_token(inside.keys(THREAD), signed_before) is not None
    assert read_token(outside.keys(THREAD), signed_before) is None
    monkeypatch.setenv("BUHDESK_SECRET_OLD", "password12345678")
    with pytest.raises(Exception, match="secret_previous_env.*слабый"):
        cfg.keyring()


def test_the_web_unit_can_run_on_exported_keys_without_the_secret(
        tmp_path: Path, make_config: Callable[..., Path], secret_env: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from buhdesk.service.runtime import build_runtime

    path = make_config(tmp_path, "")
    assert main(["--config", str(path), "web-keys"]) == 0
    exported = capsys.readouterr().out
    assert secret_env not in exported and THREAD not in exported.split()
    daemon_side = load_config(path).keyring()
    monkeypatch.delenv("BUHDESK_SECRET")
    monkeypatch.setenv("BUHDESK_WEB_KEYS", exported)
    cfg = load_config(path)
    rt = build_runtime(cfg, keys=cfg.web_keyring())
    try:
        assert rt.keys.signing_key(SURVEY_FORM) == daemon_side.signing_key(SURVEY_FORM)
        with pytest.raises(KeyNotHeld):
            rt.keys.signing_key(THREAD)
    finally:
        rt.engine.dispose()
    monkeypatch.setenv("BUHDESK_WEB_KEYS", "survey-form zz\n")
    with pytest.raises(Exception, match="web-keys"):
        cfg.web_keyring()
