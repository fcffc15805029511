"""The daemon: one thread per source (fetch → intake → acknowledge), one worker that routes,
delivers and reloads rules. The order of the worker's stages is written once, in ``STAGES``.

Every stage recovers by itself once the cause of a failure is gone (disk full, database locked,
server down): a source that fails forgets what it handed out (its items come again), and is tried
again with exponential back-off; a failing worker stage is retried the same way. Each failure is
noted in ``Progress`` (for ``/healthz`` and ``/metrics``) and in ``Incidents`` (one letter to the
administrators per incident, closed by the recovery).

SIGTERM and SIGINT stop it after the item in hand; SIGHUP reloads the rules.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_when_event_set,
    wait_exponential,
)

from buhdesk.deliver.send import deliver_pending
from buhdesk.feedback.invitations import InvitationScrub, send_invitations
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
from buhdesk.service.health import HealthServer, HealthSettings, start_health_server
from buhdesk.service.incidents import Incidents
from buhdesk.service.memory import Trimmer
from buhdesk.service.metrics import PollRecorder
from buhdesk.service.progress import Progress
from buhdesk.service.queues import queue_sizes
from buhdesk.service.runtime import Runtime
from buhdesk.service.sdnotify import Notifier
from buhdesk.trust.floods import purge_counts

log = logging.getLogger(__name__)

# How long a source's lease outlives its holder's last renewal (BUHDESK_LEASE_TTL overrides).
LEASE_TTL = 30.0
# Back-off after failures: 1 s, 2 s, 4 s, … at most this many seconds between attempts.
MAX_BACKOFF = 300.0


class DeliveryStalled(Exception):
    """Every message of a delivery batch was put off (the server is down or refuses)."""


class StillWaiting(Exception):
    """A stage did nothing this round while its failure may go on (a delivery put off is not
    due yet): neither progress nor a new failure."""


def describe(error: BaseException) -> str:
    """A one-line reason for the administrator: the error's type and first line, without the
    SQL statement SQLAlchemy appends."""
    inner = getattr(error, "orig", None) or error
    text = (str(inner).strip().splitlines() or [""])[0]
    return f"{type(inner).__name__}: {text}"[:300] if text else type(inner).__name__


def worker_stage(name: str) -> str:
    """The progress key of a worker stage (sources are keyed by their name)."""
    return f"worker.{name}"


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
        self.trimmer = Trimmer()  # the allocator's free memory back to the system (memory.py)
        self.crash = CrashPoints.from_env()
        self.notifier = Notifier()
        self.watcher = RuleWatcher(rt)
        self.scheduler = Scheduler(rt)
        names = [s.name for s in self.sources] + [s.name for s in self.package_sources]
        self.polls = PollRecorder(names)
        self.health_settings = HealthSettings.from_config(rt.config)
        self.incidents = Incidents(rt, alert_after=self.health_settings.alert_after)
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
            ("scrub", InvitationScrub(rt)),
            ("floods", every(rt, 3600.0, lambda: purge_counts(rt.engine, rt.now()))),
            ("leftovers", every(rt, 3600.0, rt.blobs.sweep)),
        )
        self.progress = Progress([*names,
                                  *(worker_stage(name) for name, _ in self.STAGES)], now=rt.now)
        self._worker_delay = 0.0
        self._put_off = False  # the last delivery attempt put every letter off

    # --- intake ---------------------------------------------------------------------------
    def take(self, source: Source, limit: int | None = None) -> int:
        """Fetch one batch from ``source``, commit it, then acknowledge it at the source.

        On any failure the source forgets what it handed out (``close``), so that the items come
        again on the next fetch, once the cause is gone."""
        try:
            items = source.fetch(limit or self.batch)
            self.polls.record(source.name)
            if not items:
                return 0
            self.progress.waiting(source.name, min(item.received_at for item in items))
            result = take_in(self.rt.engine, items,
                             max_bytes=self.rt.config.limits.max_message_bytes)
            self.crash.hit("intake-committed")
            source.ack(items)
        except BaseException:
            _reset(source)
            raise
        self.counters.taken[source.name] = (
            self.counters.taken.get(source.name, 0) + len(result.stored) + len(result.held)
        )
        self.counters.duplicates += len(result.duplicates)
        self.rt.wakeup.set()
        self.trimmer.maybe()
        return len(items)

    def take_packages(self, source: PackageSource, limit: int | None = None) -> int:
        """Record receipts, then register each claimed package and finish it at the source."""
        settings = load_document_settings(self.rt.rules.directory)
        take_receipts(self.rt, source)
        items = source.fetch(limit or self.batch)
        self.polls.record(source.name)
        if items:  # claimed packages stay in hand at the source until finished or failed
            self.progress.waiting(source.name, None)
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

    def _pause(self, seconds: float) -> None:
        """Tenacity's sleep between attempts: a stop ends it at once."""
        self.stopping.wait(seconds)

    def _fetch_while_leased(self, source: Source | PackageSource, take: Callable[[], int]) -> None:
        """Cycle until stopped; a failing cycle is tried again with exponential back-off (reset
        by the first cycle that succeeds)."""
        while not self.stopping.is_set():
            retrying = Retrying(
                retry=retry_if_exception_type(Exception),
                stop=stop_when_event_set(self.stopping),
                wait=wait_exponential(multiplier=1, min=1, max=MAX_BACKOFF),
                sleep=self._pause,
                before_sleep=partial(self._source_failed, source),
                reraise=True,
            )
            try:
                retrying(self._cycle, source, take)
            except Exception as e:  # only when stopping: the failure is not retried
                log.info("intake: source %s stopping after: %s", source.name, describe(e))

    def _cycle(self, source: Source | PackageSource, take: Callable[[], int]) -> None:
        if not self._hold(source):
            self.stopping.wait(min(self.leases.ttl.total_seconds() / 3, 5.0))
            return
        took = take()
        self.progress.done(source.name, took=took > 0)
        self.incidents.recovered(source.name)
        if not took:
            source.wait(min(self.poll_interval(source), 5.0))

    def _source_failed(self, source: Source | PackageSource, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if error is None:
            return
        delay = state.upcoming_sleep
        reason = describe(error)
        if isinstance(error, DocumentSettingsError):
            log.error("intake: %s waits: the «ДелоПро» settings are wrong: %s", source.name, error)
        elif isinstance(error, SourceError):
            log.warning("intake: source %s unavailable: %s; next try in %.0f s",
                        source.name, error, delay)
        elif state.attempt_number == 1:
            log.error("intake: source %s failed; next try in %.0f s", source.name, delay,
                      exc_info=error)
        else:
            log.error("intake: source %s failed again (%s); next try in %.0f s",
                      source.name, reason, delay)
        self.progress.failed(source.name, reason)
        self.incidents.failed(source.name, reason)

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
        if report.retried and not report.sent:
            self._put_off = True
            raise DeliveryStalled(f"{len(report.retried)} letters put off: {report.last_error}")
        if self._put_off and not (report.sent or report.held) \
                and queue_sizes(self.rt.engine)["pending"]:
            raise StillWaiting  # the letters put off are not due yet
        self._put_off = False
        return len(report.sent) + len(report.held)

    def work_once(self) -> int:
        """Run each stage once; a failing stage is noted and the others go on."""
        done, failed = 0, False
        for name, stage in self.STAGES:
            if self.stopping.is_set():
                break
            key = worker_stage(name)
            try:
                did = stage()
            except StillWaiting:
                continue
            except Exception as e:
                failed = True
                self._stage_failed(key, e)
                continue
            done += did
            self.progress.done(key, took=did > 0)
            self.incidents.recovered(key)
        # back-off while a stage fails: 1 s, 2 s, 4 s, … (reset by a round without failure)
        self._worker_delay = min(max(1.0, self._worker_delay * 2), MAX_BACKOFF) if failed else 0.0
        if done:
            self.trimmer.maybe()
        return done

    def _stage_failed(self, key: str, error: Exception) -> None:
        reason = describe(error)
        if isinstance(error, DeliveryStalled):
            log.warning("worker: %s: %s", key, error)
        elif key in self.incidents.open():
            log.error("worker: stage %s failed again: %s", key, reason)
        else:
            log.error("worker: stage %s failed; continuing", key, exc_info=error)
        self.progress.failed(key, reason)
        self.incidents.failed(key, reason)

    def status(self) -> str:
        """One line for systemd's status; never fails (the store may be unavailable)."""
        try:
            q = queue_sizes(self.rt.engine)
        except Exception as e:
            return f"store unavailable: {describe(e)}"
        return (f"routing {q['received']}, outbox {q['pending']}, held {q['held']}, "
                f"taken {sum(self.counters.taken.values())}")

    def _worker_loop(self) -> None:
        beat = self.notifier.watchdog_interval or 30.0
        last_beat = time.monotonic()
        while not self.stopping.is_set():
            if not self.work_once() or self._worker_delay:
                # at most half the watchdog interval, so that the heartbeat below is kept
                self.rt.wakeup.wait(min(max(self._worker_delay, 1.0), beat / 2))
                self.rt.wakeup.clear()
            if time.monotonic() - last_beat >= beat:
                last_beat = time.monotonic()
                self.notifier.watchdog(self.status())

    # --- whole daemon ---------------------------------------------------------------------
    def drain(self, max_rounds: int | None = 1000) -> Counters:
        """Process everything available now, in this thread (demo, tests, one-shot runs).

        Each round takes one batch from every source, or, when none has anything, runs the
        worker's stages once; it ends after a round that did nothing, or after ``max_rounds``
        (None: no limit; ``run --once``, whose mailbox may hold more than 1000 batches: with a
        limit it would take them all in and route none)."""
        rounds = itertools.count() if max_rounds is None else range(max_rounds)
        try:
            for _ in rounds:
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
            return start_health_server(self.rt, self.polls, progress=self.progress,
                                       settings=self.health_settings)
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


def _reset(source: Source) -> None:
    """Make a source hand out again what it handed out (``close``; the next fetch reopens)."""
    try:
        source.close()
    except Exception as e:  # closing a broken connection may fail too; the next fetch reopens
        log.warning("intake: source %s not closed cleanly: %s", source.name, describe(e))
