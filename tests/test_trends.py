"""Trends: bounded rolling history of key figures, and their sparklines."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta

from backends.model import Kind
from backends.simulator import SimulatorBackend
from console.specs import record_trends
from console.trends import BLOCKS, MAX_POINTS, Series, Trends, spark
from tests.screen import screen_text
from tests.simapp import simulator_app, wait_settled

T0 = datetime(2017, 11, 15, tzinfo=UTC)


def test_a_series_stays_bounded_in_time_and_points() -> None:
    series = Series(timedelta(hours=1))
    for i in range(10_000):  # a point a second for ~2.8 h
        series.add(T0 + timedelta(seconds=i), float(i))
    assert len(series) <= MAX_POINTS + 1
    first_time = series.points[0][0]
    assert first_time >= T0 + timedelta(seconds=9_999) - timedelta(hours=1)
    assert series.values()[-1] == 9_999.0  # the newest value is never merged away


def test_out_of_order_points_are_ignored() -> None:
    series = Series(timedelta(hours=1))
    series.add(T0 + timedelta(minutes=10), 1.0)
    series.add(T0, 99.0)
    assert series.values() == [1.0]


def test_spark_scales_min_to_max_and_buckets_to_the_width() -> None:
    assert spark([0, 1, 2, 3, 4, 5, 6, 7], 8) == BLOCKS
    assert spark([5, 5, 5], 10) == BLOCKS[3] * 3
    assert spark([0, 0], 4) == BLOCKS[0] * 2
    assert spark(list(range(100)), 10) == spark([9, 19, 29, 39, 49, 59, 69, 79, 89, 99], 10)
    assert len(spark(list(range(1000)), 12)) == 12
    assert spark([], 5) == ""
    assert spark([3.0], 5) == ""  # one point has no direction


def test_record_follows_the_simulator_figures() -> None:
    sim = SimulatorBackend({"seed": 1, "speed": 0})
    trends = Trends()
    fills = []
    for _ in range(6):
        buffer = sim.fetch_buffer()
        fills.append(100 * buffer.fill_fraction)
        record_trends(trends, buffer)
        record_trends(trends, sim.fetch_jobs())
        record_trends(trends, sim.fetch_transfers())
        record_trends(trends, sim.fetch_tape())
        sim.advance(600)
    assert trends.values("buffer.fill_percent") == fills
    assert len(trends.values("jobs.running")) == 6
    assert "rse.UC_OSG_USERDISK.throughput" in set(trends)
    assert len(trends.values("tape.queue")) == 6


async def test_panes_show_the_trends() -> None:
    app = simulator_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        base = app.pane(Kind.JOBS).snapshot.taken_at
        for i, value in enumerate([10, 20, 30, 40, 50, 60, 70, 80]):
            at = base + timedelta(minutes=10 * (i + 1))
            app.trends.add("jobs.running", at, value)
            app.trends.add("jobs.held", at, 0)
            app.trends.add("jobs.idle", at, 80 - value)
            app.trends.add("rse.UC_OSG_USERDISK.throughput", at, value * 1e6)
        for kind in (Kind.JOBS, Kind.TRANSFERS):
            pane = app.pane(kind)
            pane.show(pane.snapshot)
        await pilot.pause()
        text = screen_text(app)
        expected = spark(app.trends.values("jobs.running"), 12)
        assert expected.endswith("█")  # rising to the newest value
        assert f"running {expected}" in text
        uc = spark(app.trends.values("rse.UC_OSG_USERDISK.throughput"), 5)
        assert uc.endswith("█") and uc in text


def test_the_same_moment_twice_is_one_point() -> None:
    """A snapshot fetched twice (a NATS-fed console is woken and polls) or a
    frozen clock: no trend "over 0 s" from one moment."""
    series = Series(timedelta(hours=1))
    t = datetime(2017, 11, 15, 12, tzinfo=UTC)
    series.add(t, 1.0)
    series.add(t, 2.0)
    assert series.points == deque([(t, 2.0)])
