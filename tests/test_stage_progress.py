"""Stage progress as /healthz judges it: a stage with work and no progress past ``max_stall`` is
named with its reason; a stage without work, or one that recovered, is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from buhdesk.service.health import HealthSettings, assess
from buhdesk.service.metrics import Snapshot, render
from buhdesk.service.progress import Progress

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SETTINGS = HealthSettings(max_stall=60.0)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def report(progress: Progress, clock: Clock) -> list[str]:
    return list(assess(Snapshot(now=clock(), stages=progress.states()), SETTINGS).reasons)


def test_a_failing_source_is_named_with_its_reason_once_past_the_allowed_time() -> None:
    clock = Clock()
    progress = Progress(["mail", "edms", "worker.route"], now=clock)
    progress.failed("edms", "DeloproUnavailable: папка /srv/delopro недоступна")
    clock.advance(59)
    assert report(progress, clock) == []
    clock.advance(2)
    assert report(progress, clock) == [
        "источник 'edms' не продвигается 61 с (допустимо 60 с): "
        "DeloproUnavailable: папка /srv/delopro недоступна"]


def test_idle_stages_are_healthy_however_long_and_a_recovery_clears_the_reason() -> None:
    clock = Clock()
    progress = Progress(["mail", "worker.deliver"], now=clock)
    clock.advance(3600)  # nothing to do for an hour: no work, no stall
    assert report(progress, clock) == []
    progress.failed("worker.deliver", "DeliveryStalled: 3 letters put off")
    clock.advance(120)
    assert report(progress, clock) == [
        "этап 'deliver' не продвигается 120 с (допустимо 60 с): DeliveryStalled: 3 letters put off"]
    progress.done("worker.deliver", took=True)
    assert report(progress, clock) == []


def test_items_waiting_without_progress_count_even_without_an_error() -> None:
    clock = Clock()
    progress = Progress(["mail"], now=clock)
    progress.waiting("mail", START - timedelta(seconds=30))  # fetched, the intake hangs
    clock.advance(90)
    assert report(progress, clock) == [
        "источник 'mail' не продвигается 90 с (допустимо 60 с) (ждущее не принимается)"]
    text = render(Snapshot(now=clock(), stages=progress.states()))
    assert 'buhdesk_source_oldest_unprocessed_age_seconds{source="mail"} 120' in text
    assert 'buhdesk_stage_stalled_seconds{stage="mail"} 90' in text
    progress.done("mail", took=True)
    text = render(Snapshot(now=clock(), stages=progress.states()))
    assert 'buhdesk_source_lag_seconds{source="mail"} 120' in text  # arrival to intake
    assert 'buhdesk_source_oldest_unprocessed_age_seconds{source="mail"} 0' in text
