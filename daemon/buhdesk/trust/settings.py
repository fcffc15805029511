"""Settings of sender authentication and flood caps, from the ``[auth]`` and ``[floods]`` tables
of the configuration, validated once; errors are Russian and name the key.

    [auth]
    trusted_authserv_id = "mx.minfin.example"   # or a list; "" = Exchange Online (no id)
    require = false                             # hold letters our MTA did not authenticate

    [floods]
    notices_per_hour = 30        # notices caused by one sender, then one summary notice
    registrations_per_hour = 20  # new requests from one address, then held for a human
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from buhdesk.config import Config, ConfigError

AUTH_KEYS = ("trusted_authserv_id", "require")
FLOOD_KEYS = ("notices_per_hour", "registrations_per_hour")


class TrustSettingsError(ConfigError):
    """An ``[auth]`` or ``[floods]`` value is wrong; the Russian message names the file and key."""


@dataclass(frozen=True)
class AuthSettings:
    # authserv-ids whose Authentication-Results are believed; empty: no check is made
    trusted_ids: tuple[str, ...] = ()
    require: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.trusted_ids)


@dataclass(frozen=True)
class FloodSettings:
    notices_per_hour: int = 30
    registrations_per_hour: int = 20


def _table(config: Config, name: str, keys: tuple[str, ...]) -> Mapping[str, object]:
    raw = config.extra.get(name, {})
    if not isinstance(raw, Mapping):
        raise TrustSettingsError(config.file, name, "должен быть таблицей TOML")
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise TrustSettingsError(config.file, name, f"неизвестные ключи: {', '.join(unknown)} "
                                                    f"(допустимы: {', '.join(keys)})")
    return raw


def auth_settings(config: Config) -> AuthSettings:
    raw = _table(config, "auth", AUTH_KEYS)
    ids = raw.get("trusted_authserv_id", [])
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise TrustSettingsError(config.file, "auth.trusted_authserv_id",
                                 "нужна строка или список строк — идентификатор (authserv-id) "
                                 "вашего почтового сервера из заголовка Authentication-Results")
    if any(i != i.strip() or " " in i for i in ids):
        raise TrustSettingsError(config.file, "auth.trusted_authserv_id",
                                 "идентификатор не может содержать пробелов")
    require = raw.get("require", False)
    if not isinstance(require, bool):
        raise TrustSettingsError(config.file, "auth.require",
                                 f"нужно true или false, а указано {require!r}")
    if require and not ids:
        raise TrustSettingsError(config.file, "auth.require",
                                 "true требует trusted_authserv_id: без него buhdesk не знает, "
                                 "чьим проверкам верить, и задержал бы все письма")
    return AuthSettings(tuple(i.lower() for i in ids), require)


def flood_settings(config: Config) -> FloodSettings:
    raw = _table(config, "floods", FLOOD_KEYS)
    values = {}
    for key in FLOOD_KEYS:
        value = raw.get(key, getattr(FloodSettings, key))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise TrustSettingsError(config.file, f"floods.{key}",
                                     f"нужно целое число не меньше 1, а указано {value!r}")
        values[key] = value
    return FloodSettings(**values)
