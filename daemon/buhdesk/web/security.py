"""What every response of ``buhdesk web`` carries, whatever produced it (a page, a redirect, a
404, a download, ``/healthz``, an error): the security headers, added by one ASGI middleware; and
whom uvicorn believes about the client's address (``[web] trusted_proxies``, none by default).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from buhdesk.config import Config, ConfigError

HEADERS = {
    "content-security-policy": ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
}
NO_STORE_PREFIXES = ("/survey", "/healthz")  # a survey link or answer never sits in a cache


class SecurityHeaders:
    """ASGI middleware: sets the headers on every HTTP response start, replacing what a handler
    set for the same names, and ``Cache-Control: no-store`` on survey pages and ``/healthz``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = str(scope.get("path", "")).startswith(NO_STORE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_headers(message.get("headers", []), no_store)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _with_headers(headers: list[tuple[bytes, bytes]], no_store: bool) -> list[tuple[bytes, bytes]]:
    ours = dict(HEADERS, **({"cache-control": "no-store"} if no_store else {}))
    kept = [(k, v) for k, v in headers if k.decode("latin-1").lower() not in ours]
    return kept + [(k.encode("latin-1"), v.encode("latin-1")) for k, v in ours.items()]


def trusted_proxies(config: Config) -> tuple[str, ...]:
    """``[web] trusted_proxies``: addresses or networks of reverse proxies whose
    ``X-Forwarded-For`` is believed; empty (the default) believes nobody."""
    web = config.extra.get("web") or {}
    value = web.get("trusted_proxies", []) if isinstance(web, dict) else []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(config.file, "web.trusted_proxies",
                          "нужен список адресов прокси-серверов, например [\"127.0.0.1\"]")
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as e:
            raise ConfigError(config.file, "web.trusted_proxies",
                              f"«{item}» — не IP-адрес и не сеть") from e
    return tuple(value)


def uvicorn_proxy_options(config: Config) -> dict[str, Any]:
    """uvicorn reads ``X-Forwarded-For`` only from the configured proxies (it trusts loopback
    by default, which would let any local process choose the address the rate limit sees)."""
    proxies = trusted_proxies(config)
    if not proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(proxies)}
