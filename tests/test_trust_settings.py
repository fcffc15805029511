"""The [auth] and [floods] tables: defaults, the values administrators write, and Russian errors
that name the file and the key — found by `buhdesk check`, at start and on reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_config

from buhdesk.cli.check import _check_settings
from buhdesk.config import load_config
from buhdesk.service.config_reload import reload_config
from buhdesk.trust.settings import (
    AuthSettings,
    FloodSettings,
    TrustSettingsError,
    auth_settings,
    flood_settings,
)


def config(tmp_path: Path, body: str):  # type: ignore[no-untyped-def]
    return load_config(write_config(tmp_path, body))


def test_defaults_check_nothing_and_cap_floods(tmp_path: Path) -> None:
    cfg = config(tmp_path, "")
    assert auth_settings(cfg) == AuthSettings() and not auth_settings(cfg).enabled
    assert flood_settings(cfg) == FloodSettings(30, 20)


def test_values(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[auth]\ntrusted_authserv_id = "MX.minfin.example"\nrequire = true\n'
                           '[floods]\nnotices_per_hour = 5\nregistrations_per_hour = 3\n')
    assert auth_settings(cfg) == AuthSettings(("mx.minfin.example",), True)
    assert flood_settings(cfg) == FloodSettings(5, 3)
    listed = config(tmp_path, '[auth]\ntrusted_authserv_id = ["mx1.example", ""]\n')
    assert auth_settings(listed).trusted_ids == ("mx1.example", "")


@pytest.mark.parametrize(("body", "key", "words"), [
    ("[auth]\nrequire = true\n", "auth.require", "требует trusted_authserv_id"),
    ("[auth]\nrequire = 1\n", "auth.require", "true или false"),
    ("[auth]\ntrusted_authserv_id = 5\n", "auth.trusted_authserv_id", "authserv-id"),
    ('[auth]\ntrusted_authserv_id = "mx example"\n', "auth.trusted_authserv_id", "пробелов"),
    ('[auth]\ntrusted = "mx"\n', "auth", "неизвестные ключи: trusted"),
    ("[floods]\nnotices_per_hour = 0\n", "floods.notices_per_hour", "не меньше 1"),
])
def test_errors_name_the_key(tmp_path: Path, body: str, key: str, words: str) -> None:
    cfg = config(tmp_path, body)
    with pytest.raises(TrustSettingsError) as caught:
        auth_settings(cfg), flood_settings(cfg)
    assert caught.value.key == key and words in str(caught.value)
    assert str(cfg.file) in str(caught.value)
    [problem] = _check_settings(cfg)
    assert words in problem


def test_a_wrong_table_is_refused_on_reload(tmp_path: Path) -> None:
    cfg = config(tmp_path, "")
    write_config(tmp_path, "[floods]\nregistrations_per_hour = -1\n")
    refused = reload_config(cfg)
    assert refused.config is None and "floods.registrations_per_hour" in refused.problem


def test_check_warns_while_senders_are_not_verified(tmp_path: Path) -> None:
    import io

    from buhdesk.cli.check import run_checks

    out = io.StringIO()
    run_checks(write_config(tmp_path, ""), out=out)
    assert "trusted_authserv_id не задан" in out.getvalue()
    out = io.StringIO()
    run_checks(write_config(tmp_path, '[auth]\ntrusted_authserv_id = "mx.minfin.example"\n'),
               out=out)
    assert "trusted_authserv_id не задан" not in out.getvalue()
