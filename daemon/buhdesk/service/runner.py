"""The daemon: one thread per source (fetch → intake → acknowledge), one worker that routes,
delivers and reloads rules. The order of the worker's stages is written once, in ``STAGES``.

SIGTERM and SIGINT stop it after the item in hand; SIGHUP reloads the rules.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from buhdesk.deliver.send import deliver_pending
from buhdesk.feedback.invitations import scrub_sent_invitations, send_invitations
from buhdesk.intake.leases import LeaseKeeper, new_holder_id
from buhdesk.intake.packages import take_package, take_receipts
from buhdesk.intake.take import take_in
from buhdesk.interfaces import PackageSource, Source, SourceError, Transport
from buhdesk.reply.closure import auto_close
from buhdesk.route.letters import route_pending
from buhdesk.rules.documents import DocumentSettingsError, load_document_settings
from buhdesk.rules.reload import RuleWatcher
from buhdesk.schedule.jobs import Scheduler
from buhdesk.service.faults import CrashPoints
from buhdesk.service.health import HealthServer, start_health_server
from buhdesk.service.metrics import PollRecorder
from buhdesk.service.queues import queue_sizes
from buhdesk.service.runtime import Runtime
from buhdesk.service.sdnotify import Notifier
from buhdesk.trust.floods import purge_counts

log = logging.getLogger(__name__)

# How long a source's lease outlives its holder's last renewal (BUHDESK_LEASE_TTL overrides).
LEASE_TTL = 30.0


def lease_name(source: Source | PackageSource) -> str:
    return f"source:{source.name}"


def lease_ttl_from_env() -> float:
    value = os.environ.get("BUHDESK_LEASE_TTL")
    return float(value) if value else LEASE_TTL


@dataclass
class Counters:
    taken: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    routed: int = 0
    sent: int = 0
    retried: int = 0
    held: int = 0
    packages: int = 0
    packages_failed: int = 0


def every(rt: Runtime, seconds: float, job: Callable[[], int]) -> Callable[[], int]:
    """Run ``job`` at most once per ``seconds`` of the runtime's clock (cheap to poll)."""
    last: list[datetime | None] = [None]

    def run() -> int:
        now = rt.now()
        if last[0] is not None and (now - last[0]).total_seconds() < seconds:
            return 0
        last[0] = now
        return job()

    return run


class Daemon:
    def __init__(self, rt: Runtime, sources: Sequence[Source], transport: Transport, *,
                 batch: int = 100,
                 poll_interval: Callable[[Source | PackageSource], float] = lambda s: 60.0,
                 package_sources: Sequence[PackageSource] = (),
                 transports: Mapping[str, Transport] | None = None,
                 lease_ttl: float | None = None,
                 stopping: threading.Event | None = None) -> None:
        self.rt, self.sources, self.transport = rt, list(sources), transport
        # EDMS export folders, and the transports of their answer packages ("delopro:<name>").
        self.package_sources, self.transports = list(package_sources), dict(transports or {})
        self.batch, self.poll_interval = batch, poll_interval
        # Given by the caller when a stop may be asked for before the daemon is built.
        self.stopping = stopping or threading.Event()
        self.counters = Counters()
        self.crash = CrashPoints.from_env()
        self.notifier = Notifier()
        self.watcher = RuleWatcher(rt)
        self.scheduler = Scheduler(rt)
        self.polls = PollRecorder([s.name for s in self.sources])
        # One fetcher per source among all instances on this store.
        self.leases = LeaseKeeper(rt.engine, new_holder_id(),
                                  lease_ttl if lease_ttl is not None else lease_ttl_from_env())
        # The worker's stages, in order; each returns how much it did.
        self.STAGES: tuple[tuple[str, Callable[[], int]], ...] = (
            ("reload", self.watcher.poll),
            ("route", self._route),
            ("deliver", self._deliver),
            ("schedule", self.scheduler.poll),
            ("close", every(rt, 60.0, lambda: auto_close(rt))),
            ("invite", every(rt, 60.0, lambda: send_invitations(rt))),
            ("scrub", lambda: scrub_sent_invitations(rt)),
            ("floods", every(rt, 3600.0, lambda: purge_counts(rt.engine, rt.now()))),
        )

    # --- intake ---------------------------------------------------------------------------
    def take(self, source: Source, limit: int | None = None) -> int:
        """Fetch one batch from ``source``, commit it, then acknowledge it at the source."""
        items = source.fetch(limit or self.batch)
        self.polls.record(source.name)
        if not items:
            return 0
        result = take_in(self.rt.engine, items, max_bytes=self.rt.config.limits.max_message_bytes)
        self.crash.hit("intake-committed")
        source.ack(items)
        self.counters.taken[source.name] = (
            self.counters.taken.get(source.name, 0) + len(result.stored) + len(result.held)
        )
        self.counters.duplicates += len(result.duplicates)
        self.rt.wakeup.set()
        return len(items)

    def take_packages(self, source: PackageSource, limit: int | None = None) -> int:
        """Record receipts, then register each claimed package and finish it at the source."""
        settings = load_document_settings(self.rt.rules.directory)
        take_receipts(self.rt, source)
        items = source.fetch(limit or self.batch)
        for handle, item in items:
            number = take_package(self.rt, source, handle, item, settings)
            if number is None:
                self.counters.packages_failed += 1
            else:
                self.counters.packages += 1
        if items:
            self.rt.wakeup.set()
        return len(items)

    def _hold(self, source: Source | PackageSource) -> bool:
        """Take or renew this source's lease; on losing it, drop the connection and its state."""
        name = lease_name(source)
        had = name in self.leases.held
        if self.leases.try_acquire(name):
            return True
        if had:
            source.close()  # un-acknowledged items are the new holder's now
        return False

    def _source_loop(self, source: Source | PackageSource, take: Callable[[], int]) -> None:
        try:
            self._fetch_while_leased(source, take)
        finally:
            try:
                self.leases.release(lease_name(source))
            except Exception:
                log.exception("lease: cannot release %s", lease_name(source))

    def _fetch_while_leased(self, source: Source | PackageSource, take: Callable[[], int]) -> None:
        delay = 1.0
        while not self.stopping.is_set():
            try:
                if not self._hold(source):
                    self.stopping.wait(min(self.leases.ttl.total_seconds() / 3, 5.0))
                    continue
                if take():
                    continue
                source.wait(min(self.poll_interval(source), 5.0))
                delay = 1.0
            except DocumentSettingsError as e:
                log.error("intake: %s waits: the «ДелоПро» settings are wrong: %s", source.name, e)
                self.stopping.wait(delay)
                delay = min(delay * 2, 300.0)
            except SourceError as e:
                log.warning("intake: source %s unavailable: %s; next try in %.0f s",
                            source.name, e, delay)
                self.stopping.wait(delay)
                delay = min(delay * 2, 300.0)
            except Exception:
                log.exception("intake: source %s failed; next try in %.0f s", source.name, delay)
                self.stopping.wait(delay)
                delay = min(delay * 2, 300.0)

    # --- worker ---------------------------------------------------------------------------
    def _route(self) -> int:
        n = route_pending(self.rt, limit=100, stop=self.stopping)
        if n:
            self.crash.hit("routed")
        self.counters.routed += n
        return n

    def _deliver(self) -> int:
        report = deliver_pending(self.rt, self.transport, limit=self.rt.config.outbox.batch,
                                 after_send=lambda: self.crash.hit("delivered-unrecorded"),
                                 transports=self.transports)
        self.counters.sent += len(report.sent)
        self.counters.retried += len(report.retried)
        self.counters.held += len(report.held)
        return len(report.sent) + len(report.held)

    def work_once(self) -> int:
        done = 0
        for name, stage in self.STAGES:
            if self.stopping.is_set():
                break
            try:
                done += stage()
            except Exception:
                log.exception("worker: stage %s failed; continuing", name)
        return done

    def status(self) -> str:
        q = queue_sizes(self.rt.engine)
        return (f"routing {q['received']}, outbox {q['pending']}, held {q['held']}, "
                f"taken {sum(self.counters.taken.values())}")

    def _worker_loop(self) -> None:
        beat = self.notifier.watchdog_interval or 30.0
        last_beat = time.monotonic()
        while not self.stopping.is_set():
            if not self.work_once():
                self.rt.wakeup.wait(min(1.0, beat / 2))
                self.rt.wakeup.clear()
            if time.monotonic() - last_beat >= beat:
                last_beat = time.monotonic()
                self.notifier.watchdog(self.status())

    # --- whole daemon ---------------------------------------------------------------------
    def drain(self, max_rounds: int = 1000) -> Counters:
        """Process everything available now, in this thread (demo, tests, one-shot runs)."""
        try:
            for _ in range(max_rounds):
                if self.stopping.is_set():
                    break
                took = sum(self.take(s) for s in self.sources if self._hold(s))
                took += sum(self.take_packages(p) for p in self.package_sources if self._hold(p))
                if not took and not self.work_once():
                    break
        finally:
            self.leases.release_all()
        return self.counters

    def run(self) -> None:
        self._install_signals()
        health = self._start_health()
        takers: list[tuple[Source | PackageSource, Callable[[], int]]] = [
            *((s, partial(self.take, s)) for s in self.sources),
            *((p, partial(self.take_packages, p)) for p in self.package_sources),
        ]
        threads = [threading.Thread(target=self._source_loop, args=(s, take),
                                    name=f"source-{s.name}", daemon=True) for s, take in takers]
        threads.append(threading.Thread(target=self._worker_loop, name="worker", daemon=True))
        for t in threads:
            t.start()
        log.info("daemon: running with %d source(s)",
                 len(self.sources) + len(self.package_sources))
        self.notifier.ready(self.status())
        while not self.stopping.is_set():
            self.stopping.wait(1.0)
        self.notifier.stopping()
        deadline = time.monotonic() + 60  # within systemd's TimeoutStopSec
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        closing: list[Source | PackageSource] = [*self.sources, *self.package_sources]
        for s in closing:
            s.close()
        for transport in [self.transport, *self.transports.values()]:
            transport.close()
        if health is not None:
            health.stop()
        log.info("daemon: stopped")

    def _start_health(self) -> HealthServer | None:
        try:
            return start_health_server(self.rt, self.polls)
        except OSError as e:  # the daemon's work matters more than its metrics
            log.error("health: cannot serve /metrics and /healthz: %s", e)
            return None

    def stop(self) -> None:
        self.stopping.set()
        self.rt.wakeup.set()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        signal.signal(signal.SIGINT, lambda *_: self.stop())
        signal.signal(signal.SIGHUP, lambda *_: self.watcher.request())
