"""Configuration: typed values, secrets from the environment, errors that name file and key."""

import secrets
from pathlib import Path

import pytest

from buhdesk.config import ConfigError, load_config
from buhdesk.trust.keys import THREAD, KeyRing


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "buhdesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config_is_read_with_relative_paths(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
[service]
name = "Бухгалтерия"
address = "Buh@Minfin.Example"
duty_accountant = "ivanova"
admins = ["admin@minfin.example"]

[store]
blobs = "data/blobs"

[[sources]]
name = "minfin"
kind = "imap"
host = "127.0.0.1"
port = 1143
security = "none"
user = "buh"
password_env = "TEST_IMAP_PW"

[[sources]]
name = "culture"
kind = "maildir"
path = "mail/culture"

[outbox]
kind = "smtp"
port = 2525
security = "none"
"""))
    assert cfg.service.address == "buh@minfin.example"
    assert [s.name for s in cfg.sources] == ["minfin", "culture"]
    assert cfg.sources[1].path == tmp_path / "mail/culture"
    assert cfg.store.blobs == tmp_path / "data/blobs"
    assert cfg.store.url.startswith("sqlite:///")
    assert cfg.outbox.kind == "smtp" and cfg.outbox.port == 2525


def test_secret_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(write(tmp_path, '[[sources]]\nname="m"\nkind="imap"\nuser="u"\n'
                                      'password_env="X_PW"\n'))
    monkeypatch.setenv("X_PW", "s3cret")
    assert cfg.sources[0].password() == "s3cret"
    monkeypatch.delenv("BUHDESK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="BUHDESK_SECRET"):
        cfg.keyring()
    monkeypatch.setenv("BUHDESK_SECRET", secrets.token_hex(32))
    assert len(cfg.signing_key("thread")) == 32


def test_secret_from_systemd_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    credential = secrets.token_hex(32)
    (creds / "BUHDESK_SECRET").write_text(credential + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    monkeypatch.setenv("BUHDESK_SECRET", secrets.token_hex(32))
    cfg = load_config(write(tmp_path, ""))
    assert cfg.keyring().current == KeyRing.from_secrets(credential).current


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[service]\nadress = 'x@y'\n", "service"),
        ("[service]\ntimezone = 'Mars/Base'\n", "service.timezone"),
        ("[service]\nauto_reply_daily_cap = 'five'\n", "service.auto_reply_daily_cap"),
        ("[[sources]]\nname = 'a'\nkind = 'pop3'\n", "sources[0].kind"),
        ("[[sources]]\nname = 'a'\nkind = 'maildir'\n", "sources[0].path"),
        ("[[sources]]\nkind = 'imap'\n", "sources[0].name"),
        ("[outbox]\nkind = 'files'\n", "outbox.path"),
        ("[service\n", "-"),
    ],
)
def test_errors_name_the_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == key
    assert str(path) in str(info.value)


def test_secret_from_a_private_file_named_in_the_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUHDESK_SECRET", "e" * 32)  # weak, but the file named in the config wins
    cfg = load_config(write(tmp_path, '[service]\nsecret_file = "secret"\n'))
    secret = tmp_path / "secret"
    with pytest.raises(ConfigError, match="не прочитан") as missing:
        cfg.keyring()
    assert missing.value.key == "service.secret_file"
    strong = secrets.token_hex(32)
    secret.touch(mode=0o600)
    secret.write_text(strong + "\n", encoding="utf-8")
    monkeypatch.setenv("SAME_SECRET", strong)
    (tmp_path / "env").mkdir()
    same = load_config(write(tmp_path / "env", '[service]\nsecret_env = "SAME_SECRET"\n'))
    assert cfg.signing_key(THREAD) == same.signing_key(THREAD)
    secret.chmod(0o640)  # readable by a group: refused, with the command that fixes it
    with pytest.raises(ConfigError, match=f"chmod 600 {secret}"):
        cfg.keyring()
    secret.chmod(0o600)
    secret.write_text("short", encoding="utf-8")  # a weak file secret fails like a weak variable
    with pytest.raises(ConfigError, match="слишком слабый"):
        cfg.keyring()


def test_cache_budget_is_read_in_megabytes(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")).service.cache_mb == 16
    cfg = load_config(write(tmp_path, "[service]\ncache_mb = 64\n"))
    assert cfg.service.cache_mb == 64


@pytest.mark.parametrize(("value", "words"), [
    ("0", "от 1 до 4096; указано 0"),
    ("-5", "указано -5"),
    ("100000", "указано 100000"),
    ("'32MB'", "должен быть типа целое число"),
    ("32.5", "должен быть типа целое число"),
])
def test_a_wrong_cache_budget_is_named_in_russian(tmp_path: Path, value: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as info:
        load_config(write(tmp_path, f"[service]\ncache_mb = {value}\n"))
    assert info.value.key == "service.cache_mb"
