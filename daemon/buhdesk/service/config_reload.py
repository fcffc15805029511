"""Reloading the configuration file on SIGHUP: what may change while the daemon runs is taken
into use; a change that needs a restart (store, secret, addresses, sources, transport, sockets)
refuses the whole new file, and the old configuration stays in force.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from buhdesk.config import Config, ConfigError, load_config
from buhdesk.reply.templating import Templates
from buhdesk.rules.memo import budget_bytes, set_budget
from buhdesk.trust.settings import auth_settings, flood_settings

log = logging.getLogger(__name__)

# Dotted paths whose change needs `systemctl restart buhdesk`.
RESTART_ONLY = (
    "store", "sources", "service.secret_env", "service.address", "service.domain",
    "service.timezone", "service.number_prefix", "outbox.kind", "outbox.host", "outbox.port",
    "outbox.security", "outbox.user", "outbox.password_env", "outbox.path", "outbox.cafile",
    "extra.web.metrics_host", "extra.web.metrics_port", "service.secret_file",
)


@dataclass(frozen=True)
class ConfigReload:
    config: Config | None  # the new configuration, or None when refused
    problem: str = ""


def _get(config: Config, path: str) -> Any:
    value: Any = config
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
    return value


def reload_config(current: Config) -> ConfigReload:
    """Read the file again; refuse it when it is invalid or changes what needs a restart."""
    try:
        new = load_config(current.file)
    except ConfigError as e:
        return ConfigReload(None, str(e))
    try:  # the tables routing reads for every letter
        auth_settings(new), flood_settings(new)
    except ConfigError as e:
        return ConfigReload(None, str(e))
    changed = [p for p in RESTART_ONLY if _get(new, p) != _get(current, p)]
    if changed:
        return ConfigReload(None, f"{current.file}: изменения требуют перезапуска службы "
                                  f"(systemctl restart buhdesk): {', '.join(changed)}")
    return ConfigReload(new)


def apply(rt: Any, new: Config) -> None:
    """Take a checked configuration into use: settings, templates and the rules folder."""
    templates = (rt.templates if new.templates_dir == rt.config.templates_dir
                 else Templates(new.templates_dir, new.service.tz))
    rt.config, rt.templates = new, templates
    if new.service.cache_mb != budget_bytes() // 2**20:
        set_budget(new.service.cache_mb)
    log.info("reload: configuration %s taken into use", new.file)
