"""A tiny HTTP server inside the daemon: ``/metrics`` for Prometheus and ``/healthz`` for checks.

``/healthz`` answers 200 with ``{"status": "ok"}`` while the daemon is doing its job, and 503 with
the reasons (in Russian, for the administrator) when a source has not been polled for too long, the
outbox's oldest pending message is too old (the outbox is not moving), or the store cannot be read.
Settings come from the ``[web]`` table of the configuration: ``metrics_host``, ``metrics_port``,
``max_poll_age`` and ``max_outbox_age`` (seconds).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from buhdesk.config import Config, ConfigError
from buhdesk.service.metrics import CONTENT_TYPE, PollRecorder, Snapshot, collect, render

log = logging.getLogger(__name__)


class Served(Protocol):
    """What the server needs from the runtime (``buhdesk.service.runtime.Runtime`` has it)."""

    engine: Engine
    config: Config

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class HealthSettings:
    host: str = "127.0.0.1"
    port: int = 9108
    max_poll_age: float = 900.0
    max_outbox_age: float = 3600.0

    @classmethod
    def from_config(cls, config: Config) -> HealthSettings:
        """Read ``[web]``; a wrong value is a ``ConfigError`` naming the key."""
        web: dict[str, Any] = config.extra.get("web", {})
        return cls(
            host=_value(config, web, "metrics_host", str, cls.host),
            port=_value(config, web, "metrics_port", int, cls.port),
            max_poll_age=float(_value(config, web, "max_poll_age", (int, float), cls.max_poll_age)),
            max_outbox_age=float(
                _value(config, web, "max_outbox_age", (int, float), cls.max_outbox_age)),
        )


def _value(config: Config, web: dict[str, Any], key: str, kind: Any, default: Any) -> Any:
    value = web.get(key, default)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(config.file, f"web.{key}", "неверный тип значения")
    if isinstance(value, (int, float)) and value < 0:
        raise ConfigError(config.file, f"web.{key}", "не может быть отрицательным")
    return value


@dataclass(frozen=True)
class HealthReport:
    ok: bool
    reasons: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps({"status": "ok" if self.ok else "fail", "reasons": list(self.reasons)},
                          ensure_ascii=False)


def assess(snap: Snapshot, settings: HealthSettings) -> HealthReport:
    """Whether the figures say the daemon is working, and if not, why."""
    reasons: list[str] = []
    for source in sorted(snap.last_poll):
        age = snap.poll_age(source)
        if age is not None and age > settings.max_poll_age:
            never = snap.last_poll[source] is None
            what = "ни разу не опрошен" if never else "не опрашивался"
            reasons.append(f"источник {source!r} {what} {age:.0f} с "
                           f"(допустимо {settings.max_poll_age:.0f} с)")
    if snap.outbox_pending and snap.outbox_oldest_age > settings.max_outbox_age:
        reasons.append(f"исходящая очередь стоит: старейшее неотправленное письмо ждёт "
                       f"{snap.outbox_oldest_age:.0f} с (допустимо {settings.max_outbox_age:.0f} с)"
                       f", в очереди {snap.outbox_pending}")
    return HealthReport(ok=not reasons, reasons=tuple(reasons))


class HealthServer(ThreadingHTTPServer):
    """The HTTP server with what it serves; ``stop()`` shuts it down and closes the socket."""

    daemon_threads = True

    def __init__(self, served: Served, polls: PollRecorder | None,
                 settings: HealthSettings) -> None:
        self.served, self.polls, self.settings = served, polls, settings
        self.thread: threading.Thread | None = None
        self.address_family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        super().__init__((settings.host, settings.port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def snapshot(self) -> Snapshot:
        return collect(self.served.engine, now=self.served.now(), polls=self.polls)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self.thread is not None:
            self.thread.join(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    server: HealthServer
    server_version = "buhdesk"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._metrics()
        elif path == "/healthz":
            self._healthz()
        else:
            self._send(404, "text/plain; charset=utf-8", "not found\n")

    def _metrics(self) -> None:
        try:
            text = render(self.server.snapshot())
        except SQLAlchemyError as e:
            log.error("metrics: store unreadable: %s", e)
            self._send(503, "text/plain; charset=utf-8", "store unavailable\n")
            return
        self._send(200, CONTENT_TYPE, text)

    def _healthz(self) -> None:
        try:
            report = assess(self.server.snapshot(), self.server.settings)
        except SQLAlchemyError as e:
            log.error("healthz: store unreadable: %s", e)
            report = HealthReport(ok=False,
                                  reasons=(f"база данных недоступна: {type(e).__name__}",))
        if not report.ok:
            log.warning("healthz: unhealthy: %s", "; ".join(report.reasons))
        self._send(200 if report.ok else 503, "application/json; charset=utf-8",
                   report.to_json() + "\n")

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("health http: " + format, *args)


def start_health_server(rt: Served, poll_state: PollRecorder | None = None,
                        host: str | None = None, port: int | None = None, *,
                        settings: HealthSettings | None = None) -> HealthServer:
    """Serve ``/metrics`` and ``/healthz`` from a background thread; returns the running server.

    ``host``/``port`` override the configuration (port 0 picks a free port: see ``.port``).
    """
    base = settings or HealthSettings.from_config(rt.config)
    chosen = HealthSettings(host=base.host if host is None else host,
                            port=base.port if port is None else port,
                            max_poll_age=base.max_poll_age, max_outbox_age=base.max_outbox_age)
    server = HealthServer(rt, poll_state, chosen)
    server.thread = threading.Thread(target=server.serve_forever, name="health-http", daemon=True)
    server.thread.start()
    log.info("health: serving /metrics and /healthz on %s:%d", chosen.host, server.port)
    return server
