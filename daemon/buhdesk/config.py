"""Typed configuration from one TOML file; secrets come from the environment or systemd credentials.

Every error names the file and the key, so an administrator can fix it without reading code. The
configuration is validated once, at load, and passed explicitly; nothing here runs at import.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from buhdesk.rules.locatedtoml import (
    RuleFileError,
    key_line,
    read_admin_text,
    read_located_toml,
)
from buhdesk.rules.tomlerrors import located
from buhdesk.trust.keys import (
    PURPOSES,
    WEB_PURPOSES,
    KeyRing,
    WeakSecret,
    how_to_make,
    secret_bytes,
)

SOURCE_KINDS = ("imap", "maildir", "delopro")
OUTBOX_KINDS = ("smtp", "files")
Security = Literal["ssl", "starttls", "none"]
SECURITY_MODES: tuple[Security, ...] = ("ssl", "starttls", "none")
# Tables validated by the modules that use them (scheduler, web, closure, survey, trust, kb).
EXTRA_TABLES = ("schedule", "web", "closure", "survey", "auth", "floods", "kb", "copies")
WHOLE_FILE = "-"  # the key of an error about the file itself (missing, encoding, syntax)
WEB_KEYS_ENV = "BUHDESK_WEB_KEYS"  # default name of the web process's own (derived) keys


class ConfigError(Exception):
    """The configuration cannot be used; the (Russian) message names the file, the line where
    it is known and the key (``/etc/buhdesk/buhdesk.toml:12: [outbox.port] …``)."""

    def __init__(self, file: Path | str, key: str, problem: str, line: int | None = None, *,
                 written_at: str | None = None) -> None:
        self.file, self.key, self.problem, self.line = str(file), key, problem, line
        self.written_at = written_at or key  # the dotted key whose line is shown
        where = f"[{key}] " if key and key != WHOLE_FILE else ""
        super().__init__(f"{located(str(file), line)}: {where}{problem}")

    def at_line(self, text: str) -> ConfigError:
        """The same error with the line of its key in the configuration's ``text``."""
        if self.line is not None or self.written_at in ("", WHOLE_FILE):
            return self
        return type(self)(self.file, self.key, self.problem, key_line(text, self.written_at))


_TABLE_KEY = re.compile(r"^\[(\w+)\]:?(?: ([a-z_][a-z0-9_]*):)?")


def config_problem_at_line(file: Path, message: str) -> str:
    """``file:line: message`` for a message of a module that validates its own table
    (``[schedule] digest_time: …``): the line of that key, or of the table."""
    found = _TABLE_KEY.match(message)
    line = None
    if found:
        try:
            line = key_line(read_admin_text(file), ".".join(p for p in found.groups() if p))
        except RuleFileError:
            line = None
    return f"{located(str(file), line)}: {message}"


def config_error_at_line(error: ConfigError) -> ConfigError:
    """``error`` with its line, looked up in the configuration file it names (for errors raised
    by the modules that validate their own tables after loading)."""
    try:
        return error.at_line(read_admin_text(Path(error.file)))
    except RuleFileError:
        return error


def package_data_dir(name: str) -> Path:
    """The shipped ``rules``/``templates`` folder: in a source checkout, or inside the wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parents[1] / name, here / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped {name!r} folder not found next to {here}")


# What the units' ``SetCredential=NAME:<marker>`` hands over when the file of
# ``LoadCredential=NAME:path`` is missing (deploy/systemd): the secret counts as not set.
MISSING_CREDENTIAL = "buhdesk-credential-file-missing"


def read_secret(name: str) -> str | None:
    """A secret by name: systemd credential file first, then the environment variable."""
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        path = Path(cred_dir) / name
        if path.is_file():
            value = path.read_text(encoding="utf-8").strip()
            if value != MISSING_CREDENTIAL:
                return value
    return os.environ.get(name)


def credential_file_missing(name: str) -> bool:
    """Whether systemd gave the fallback marker for ``name``: its credential file is absent."""
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    path = Path(cred_dir) / name if cred_dir else None
    try:
        return path is not None and path.read_text(encoding="utf-8").strip() == MISSING_CREDENTIAL
    except OSError:
        return False


def missing_secret_text(what: str, name: str) -> str:
    """Why the secret ``name`` of ``what`` is missing and where it is looked for."""
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    if credential_file_missing(name):
        where = (f"файла учётных данных нет на месте (systemd не нашёл файл строки "
                 f"LoadCredential={name}:… в файле службы)")
    elif cred_dir:
        where = f"нет учётных данных {cred_dir}/{name} (или файл пуст) и переменной окружения"
    else:
        where = "учётные данные systemd не переданы, и переменная окружения не задана"
    return (f"{what} не задан: секрет {name!r} не найден — {where}. Положите его в файл, "
            f"указанный в LoadCredential={name}:… файла службы (права 600, владелец root), "
            "или задайте переменную окружения с этим именем, и перезапустите службу")


def forget_secrets(config: Config) -> None:
    """Drop the secrets from this process's environment once the keys it needs are derived (the
    web process): what it serves afterwards cannot read the thread key back from there."""
    for name in (config.service.secret_env, config.service.secret_previous_env):
        if name:
            os.environ.pop(name, None)


@dataclass(frozen=True)
class ServiceConfig:
    name: str = "Бухгалтерия"
    address: str = "buh@localhost"
    domain: str = "localhost"
    number_prefix: str = "БУХ"
    timezone: str = "Europe/Moscow"
    duty_accountant: str | None = None
    admins: tuple[str, ...] = ()
    auto_reply_daily_cap: int = 5
    secret_env: str = "BUHDESK_SECRET"
    secret_previous_env: str = ""  # the secret before rotation: verifies, never signs
    secret_previous_valid_until: date | None = None
    secret_file: Path | None = None  # a file readable by its owner only; wins over secret_env
    # Megabytes all caches of words, lines and names may hold together (rules/memo.py).
    cache_mb: int = 16

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class StoreConfig:
    url: str = "sqlite:///buhdesk.db"
    blobs: Path = Path("blobs")


@dataclass(frozen=True)
class LimitsConfig:
    max_message_bytes: int = 60_000_000
    max_attachment_bytes: int = 30_000_000


@dataclass(frozen=True)
class ImapSourceConfig:
    """``kind = "imap"``: a mailbox on an IMAP server."""

    name: str
    user: str
    host: str = "127.0.0.1"
    port: int = 993
    security: Security = "ssl"
    password_env: str = ""
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    use_idle: bool = True
    poll_interval: float = 60.0
    cafile: Path | None = None
    kind: Literal["imap"] = "imap"

    def password(self) -> str:
        return (read_secret(self.password_env) or "") if self.password_env else ""


@dataclass(frozen=True)
class MaildirSourceConfig:
    """``kind = "maildir"``: a Maildir folder on this machine."""

    name: str
    path: Path
    poll_interval: float = 60.0
    processed_folder: str = "Processed"  # letters taken in go to .Processed/cur
    kind: Literal["maildir"] = "maildir"


@dataclass(frozen=True)
class DeloproSourceConfig:
    """``kind = "delopro"``: an export folder of «ДелоПро» (packages in, answer packages out)."""

    name: str
    path: Path
    poll_interval: float = 60.0
    stable_interval: float = 30.0
    kind: Literal["delopro"] = "delopro"


SourceConfig = ImapSourceConfig | MaildirSourceConfig | DeloproSourceConfig


@dataclass(frozen=True)
class OutboxConfig:
    kind: str = "files"
    host: str = "127.0.0.1"
    port: int = 587
    security: Security = "starttls"
    user: str = ""
    password_env: str = ""
    path: Path | None = None
    cafile: Path | None = None
    batch: int = 50
    max_attempts: int = 12
    retry_base: float = 30.0
    lease: float = 300.0

    def password(self) -> str:
        return (read_secret(self.password_env) or "") if self.password_env else ""


@dataclass(frozen=True)
class Config:
    file: Path
    service: ServiceConfig
    store: StoreConfig
    limits: LimitsConfig
    rules_dir: Path
    templates_dir: Path
    sources: tuple[SourceConfig, ...]
    outbox: OutboxConfig
    extra: dict[str, Any] = field(default_factory=dict)

    def keyring(self, *, today: Callable[[], date] | None = None,
                purposes: Iterable[str] = PURPOSES) -> KeyRing:
        """The per-purpose keys of the secret (and of the previous one during rotation); the one
        check of the secret that ``check``, ``run`` and ``web`` share. Raises ConfigError."""
        svc = self.service
        current = (_read_secret_file(self.file, svc.secret_file) if svc.secret_file
                   else read_secret(svc.secret_env))
        previous = read_secret(svc.secret_previous_env) if svc.secret_previous_env else None
        if not current and svc.secret_file:
            raise ConfigError(self.file, "service.secret_file",
                              f"файл секрета {svc.secret_file} пуст. "
                              + how_to_make(svc.secret_env))
        if not current and credential_file_missing(svc.secret_env):
            raise ConfigError(self.file, "service.secret_env",
                              missing_secret_text("секрет службы", svc.secret_env) + ". "
                              + how_to_make(svc.secret_env))
        if not current:
            raise ConfigError(self.file, "service.secret_env",
                              f"секрет {svc.secret_env!r} не задан (задайте переменную окружения "
                              "или учётные данные systemd с этим именем). "
                              + how_to_make(svc.secret_env))
        if svc.secret_previous_env and not previous:
            raise ConfigError(self.file, "service.secret_previous_env",
                              f"прежний секрет {svc.secret_previous_env!r} не задан")
        for key, name, value in (("secret_env", svc.secret_env, current),
                                 ("secret_previous_env", svc.secret_previous_env, previous)):
            try:
                secret_bytes(value or current)
            except WeakSecret as e:
                advice = how_to_make(name)
                raise ConfigError(self.file, f"service.{key}",
                                  f"секрет {name!r} слишком слабый: {e}. {advice}") from e
        return KeyRing.from_secrets(current, previous=previous,
                                    previous_until=svc.secret_previous_valid_until,
                                    today=today or date.today, purposes=purposes)

    def mail_passwords(self) -> None:
        """Every mailbox and SMTP server whose ``password_env`` names a secret has it; the first
        missing one is named (a systemd credential file absent from its place). Raises
        ConfigError; shared by ``check`` and ``run``."""
        named = [(f"sources[{i}].password_env", f"почтового ящика «{s.name}»", s.password_env)
                 for i, s in enumerate(self.sources)
                 if isinstance(s, ImapSourceConfig) and s.password_env]
        if self.outbox.kind == "smtp" and self.outbox.password_env:
            named.append(("outbox.password_env", "SMTP-сервера", self.outbox.password_env))
        for key, what, name in named:
            if not read_secret(name):
                raise ConfigError(self.file, key, missing_secret_text(f"пароль {what}", name))

    def web_keyring(self, *, today: Callable[[], date] | None = None) -> KeyRing:
        """The keys of the web process: the survey keys exported by ``buhdesk web-keys`` into
        the secret named by ``[web] keys_env`` when it is there (the web process then never sees
        the main secret), else derived from the main secret."""
        web = self.extra.get("web") or {}
        name = web.get("keys_env", WEB_KEYS_ENV) if isinstance(web, dict) else WEB_KEYS_ENV
        if not isinstance(name, str) or not name:
            raise ConfigError(self.file, "web.keys_env", "должно быть именем секрета (строкой)")
        exported = read_secret(name)
        if not exported:
            return self.keyring(today=today, purposes=WEB_PURPOSES)
        try:
            return KeyRing.from_export(exported, today=today or date.today)
        except ValueError as e:
            raise ConfigError(self.file, "web.keys_env",
                              f"секрет {name!r} не похож на вывод «buhdesk web-keys»: {e}") from e

    def keys(self, purpose: str) -> tuple[bytes, ...]:
        """Keys that verify for ``purpose`` today, current first."""
        return self.keyring().keys(purpose)

    def signing_key(self, purpose: str) -> bytes:
        return self.keyring().signing_key(purpose)


def _read_secret_file(config: Path, path: Path) -> str:
    """``[service] secret_file``: the secret, from a file nobody but its owner may read."""
    try:
        mode = path.stat().st_mode
        value = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ConfigError(config, "service.secret_file",
                          f"файл секрета {path} не прочитан: {e.strerror or e}") from e
    if mode & 0o077:
        raise ConfigError(config, "service.secret_file",
                          f"файл секрета {path} доступен не только владельцу "
                          f"(права {mode & 0o777:o}); выполните: chmod 600 {path}")
    return value


CACHE_MB_MIN, CACHE_MB_MAX = 1, 4096

_KIND_NAMES = {str: "строка", int: "целое число", float: "число", bool: "true/false",
               dict: "таблица", list: "список", date: "дата (ГГГГ-ММ-ДД)"}


_T = TypeVar("_T")
_D = TypeVar("_D")


class _Section:
    """Reads typed values from one TOML table, remembering where they came from."""

    def __init__(self, file: Path, name: str, data: object) -> None:
        if not isinstance(data, dict):
            raise ConfigError(file, name, "должен быть таблицей TOML")
        self.file, self.name = file, name
        self.data: dict[str, object] = dict(data)
        self.used: set[str] = set()

    def get(self, key: str, kind: type[_T], default: _D) -> _T | _D:
        """The value of ``key`` checked to be a ``kind`` (an integer stands for a float)."""
        self.used.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)) or (
                kind is date and isinstance(value, datetime)):
            raise ConfigError(self.file, f"{self.name}.{key}",
                              f"должен быть типа {_KIND_NAMES.get(kind, kind.__name__)}")
        return value

    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """The value of ``key`` checked to be a list of strings."""
        self.used.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(self.file, f"{self.name}.{key}", "должен быть списком строк")
        return tuple(value)

    def path(self, key: str, default: Path | None) -> Path | None:
        value = self.get(key, str, None)
        if value is None:
            return default
        path = Path(value)
        return path if path.is_absolute() else (self.file.parent / path)

    def security(self, key: str, default: Security) -> Security:
        value = self.choice(key, SECURITY_MODES, default)
        return next(mode for mode in SECURITY_MODES if mode == value)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            raise ConfigError(self.file, f"{self.name}.{key}",
                              f"допустимые значения: {', '.join(choices)}")
        return str(value)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            first = f"{self.name}.{unknown[0]}" if self.name else unknown[0]
            raise ConfigError(self.file, self.name, f"неизвестные ключи: {', '.join(unknown)}",
                              written_at=first)


def _service(file: Path, data: object) -> ServiceConfig:
    s = _Section(file, "service", data)
    cfg = ServiceConfig(
        name=s.get("name", str, ServiceConfig.name),
        address=s.get("address", str, ServiceConfig.address).lower(),
        domain=s.get("domain", str, ServiceConfig.domain),
        number_prefix=s.get("number_prefix", str, ServiceConfig.number_prefix),
        timezone=s.get("timezone", str, ServiceConfig.timezone),
        duty_accountant=s.get("duty_accountant", str, None),
        admins=s.strings("admins", ()),
        auto_reply_daily_cap=s.get("auto_reply_daily_cap", int, 5),
        secret_env=s.get("secret_env", str, ServiceConfig.secret_env),
        secret_previous_env=s.get("secret_previous_env", str, ""),
        secret_previous_valid_until=s.get("secret_previous_valid_until", date, None),
        secret_file=s.path("secret_file", None),
        cache_mb=s.get("cache_mb", int, ServiceConfig.cache_mb),
    )
    s.finish()
    if not CACHE_MB_MIN <= cfg.cache_mb <= CACHE_MB_MAX:
        raise ConfigError(file, "service.cache_mb",
                          f"объём кэшей задаётся в мегабайтах, от {CACHE_MB_MIN} до "
                          f"{CACHE_MB_MAX}; указано {cfg.cache_mb}")
    if bool(cfg.secret_previous_env) != (cfg.secret_previous_valid_until is not None):
        raise ConfigError(file, "service.secret_previous_valid_until",
                          "прежний секрет задаётся вместе со сроком: secret_previous_env и "
                          "secret_previous_valid_until (дата, например 2027-03-31)")
    try:
        ZoneInfo(cfg.timezone)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError(file, "service.timezone",
                          f"неизвестный часовой пояс {cfg.timezone!r}") from e
    if "@" not in cfg.address:
        raise ConfigError(file, "service.address", "должен быть адресом электронной почты")
    return cfg


def _source(file: Path, index: int, data: object) -> SourceConfig:
    """One ``[[sources]]`` table. Every key is checked whatever the kind (as before the per-kind
    configs); a key of another kind has no effect."""
    s = _Section(file, f"sources[{index}]", data)
    name = s.get("name", str, "")
    if not name:
        raise ConfigError(file, f"sources[{index}].name", "обязателен")
    kind = s.choice("kind", SOURCE_KINDS, "imap")
    host = s.get("host", str, "127.0.0.1")
    port = s.get("port", int, 993)
    security = s.security("security", "ssl")
    user = s.get("user", str, "")
    password_env = s.get("password_env", str, "")
    folder = s.get("folder", str, "INBOX")
    processed_folder = s.get("processed_folder", str, "Processed")
    use_idle = s.get("use_idle", bool, True)
    poll_interval = s.get("poll_interval", float, 60.0)
    path = s.path("path", None)
    cafile = s.path("cafile", None)
    stable_interval = s.get("stable_interval", float, 30.0)
    s.finish()
    if kind == "imap":
        if not user:
            raise ConfigError(file, f"sources[{index}].user",
                              "обязателен для источника вида 'imap'")
        return ImapSourceConfig(
            name=name, user=user, host=host, port=port, security=security,
            password_env=password_env, folder=folder, processed_folder=processed_folder,
            use_idle=use_idle, poll_interval=poll_interval, cafile=cafile,
        )
    if path is None:
        raise ConfigError(file, f"sources[{index}].path", f"обязателен для источника вида {kind!r}")
    if kind == "maildir":
        return MaildirSourceConfig(name=name, path=path, poll_interval=poll_interval,
                                   processed_folder=processed_folder)
    return DeloproSourceConfig(name=name, path=path, poll_interval=poll_interval,
                               stable_interval=stable_interval)


def _outbox(file: Path, data: object) -> OutboxConfig:
    s = _Section(file, "outbox", data)
    cfg = OutboxConfig(
        kind=s.choice("kind", OUTBOX_KINDS, "files"),
        host=s.get("host", str, "127.0.0.1"),
        port=s.get("port", int, 587),
        security=s.security("security", "starttls"),
        user=s.get("user", str, ""),
        password_env=s.get("password_env", str, ""),
        path=s.path("path", None),
        cafile=s.path("cafile", None),
        batch=s.get("batch", int, 50),
        max_attempts=s.get("max_attempts", int, 12),
        retry_base=s.get("retry_base", float, 30.0),
        lease=s.get("lease", float, 300.0),
    )
    s.finish()
    if cfg.kind == "files" and cfg.path is None:
        raise ConfigError(file, "outbox.path", "обязателен для outbox вида 'files'")
    return cfg


def load_config(file: Path) -> Config:
    """Read and validate the whole configuration file."""
    file = Path(file).resolve()
    try:
        source = read_located_toml(file)
    except RuleFileError as e:
        raise ConfigError(file, WHOLE_FILE, e.problem, e.line) from e
    try:
        return _config(file, source.data)
    except ConfigError as e:
        located_error = e.at_line(source.text)
        if located_error is e:
            raise
        raise located_error from e


def _config(file: Path, data: dict[str, Any]) -> Config:
    top = _Section(file, "", data)
    store = _Section(file, "store", top.get("store", dict, {}))
    store_cfg = StoreConfig(
        url=store.get("url", str, f"sqlite:///{file.parent / 'buhdesk.db'}"),
        blobs=store.path("blobs", file.parent / "blobs") or file.parent / "blobs",
    )
    store.finish()
    limits = _Section(file, "limits", top.get("limits", dict, {}))
    limits_cfg = LimitsConfig(
        max_message_bytes=limits.get("max_message_bytes", int, LimitsConfig.max_message_bytes),
        max_attachment_bytes=limits.get(
            "max_attachment_bytes", int, LimitsConfig.max_attachment_bytes
        ),
    )
    limits.finish()
    paths = _Section(file, "paths", top.get("paths", dict, {}))
    rules_dir = paths.path("rules", None) or package_data_dir("rules")
    templates_dir = paths.path("templates", None) or package_data_dir("templates")
    paths.finish()
    raw_sources = top.get("sources", list, [])
    sources = tuple(_source(file, i, d) for i, d in enumerate(raw_sources))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError(file, "sources", "имена источников должны быть уникальными")
    cfg = Config(
        file=file,
        service=_service(file, top.get("service", dict, {})),
        store=store_cfg,
        limits=limits_cfg,
        rules_dir=rules_dir,
        templates_dir=templates_dir,
        sources=sources,
        outbox=_outbox(file, top.get("outbox", dict, {"kind": "files", "path": "outbox"})),
        extra={k: top.data[k] for k in EXTRA_TABLES if k in top.data},
    )
    top.used.update(EXTRA_TABLES)
    top.finish()
    return cfg
