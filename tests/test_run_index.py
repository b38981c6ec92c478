"""The facts of every run, derived once per version of a run (``analysis.run_index``).

What the alarms, the malformed count and the runs pane's filter and sort read:
they must be the verdicts ``analysis.safety`` gives, recomputed exactly for
the runs that changed and for no other.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.analysis.run_index import RunIndex, run_facts
from backends.analysis.safety import (
    DEFAULT_POLICY,
    copies_label,
    copies_overdue,
    data_safety,
    processing_state,
    run_problems,
)
from backends.mongo import _convert
from backends.mongo.cache import RunsCache
from backends.simulator import SimulatorBackend
from tests.test_analysis import BUF, EU, NOW, TAPE, UC, H, dag, run
from tests.test_safety_properties import documents as messy_documents


def history(n: int = 50) -> tuple:
    return tuple(run(7000 + i, copies=(BUF, UC, EU, TAPE)) for i in range(n))


def test_a_second_update_with_the_same_runs_derives_none() -> None:
    runs = history()
    index = RunIndex()
    first = index.update(runs)
    assert first.derived == len(runs)
    again = index.update(runs)
    assert again.derived == 0
    assert list(again.facts) == list(first.facts)
    assert again.codes == first.codes and again.judged is first.judged  # shared, not copied


def test_a_changed_run_is_derived_anew_and_only_it() -> None:
    """A run whose tape copy went away is a new object: its verdict must not
    be the cached "safe"."""
    runs = history()
    index = RunIndex()
    assert all(f.verdict.safe for f in index.update(runs).facts)
    lost = replace(runs[10], copies=(BUF, UC, EU))  # the tape copy is gone
    changed = (*runs[:10], lost, *runs[11:])
    table = index.update(changed)
    assert table.derived == 1
    assert not table.facts[10].verdict.safe and table.facts[10].verdict.missing == ("tape",)
    assert sum(1 for f in table.facts if not f.verdict.safe) == 1


def test_a_table_is_named_short_not_spelled_out() -> None:
    """A table goes to the runs pane's order worker, whose description is
    the repr of its arguments: spelled out, 26,762 runs took 0.4 s of the
    main thread at every `s`."""
    table = RunIndex().update(history(500))
    assert repr(table) == "RunTable(500 runs, 500 derived)"


def test_an_equal_run_rebuilt_by_the_backend_reuses_its_facts() -> None:
    runs = history()
    index = RunIndex()
    index.update(runs)
    rebuilt = tuple(replace(r) for r in runs)  # equal, not the same objects
    assert index.update(rebuilt).derived == 0


def test_new_dags_derive_the_processing_of_their_runs_only() -> None:
    runs = history()
    index = RunIndex()
    index.update(runs)
    assert index.with_dags({}) is None  # no DAG before, none now
    table = index.with_dags({7003: dag(1, 7003, done=3, queued=4)})
    assert table is not None and table.derived == 1
    assert table.facts[3].processing.value == "processing"
    assert table.facts[3].processing is processing_state(runs[3], table.facts[3].dag)
    # The next runs poll keeps the DAGs it was given.
    assert index.update(runs).facts[3].processing.value == "processing"


def test_the_simulator_history_is_versioned_without_building_it() -> None:
    """A poll of a long history derives only the runs the purge or the DAQ
    changed, and never builds the settled runs to find them out."""
    sim = SimulatorBackend({"runs": 3_000, "speed": 0})
    index = RunIndex()
    first = index.update(sim.fetch_runs().runs)
    assert first.derived == 3_000
    sim.advance(600)
    runs = sim.fetch_runs().runs
    before = {number: version for number, version in runs.versions()}  # type: ignore[attr-defined]
    table = index.update(runs)
    assert 0 < table.derived < 50
    assert [f.number for f in table.facts] == [r.number for r in runs]
    assert len(before) == len(runs)
    # Every fact is the verdict of the run it stands for.
    for fact, current in zip(table.facts[-60:], runs[-60:], strict=True):
        assert fact.verdict == data_safety(current)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messy_documents, min_size=1, max_size=8))
def test_facts_are_what_analysis_safety_says(docs) -> None:  # type: ignore[no-untyped-def]
    """For any run document the mongo backend can read, the cached facts are
    the functions' own answers: one function computes each figure."""
    numeric, odd = _convert(docs)
    cache = RunsCache()
    cache.load_full(numeric, odd)
    before = (NOW - 48 * H).timestamp()
    table = RunIndex().update(cache.runs)
    for i, current in enumerate(cache.runs):
        assert table.fact(i) == run_facts(current)  # the columns keep them exactly
        facts = run_facts(current)
        assert facts.verdict == data_safety(current)
        assert facts.problems == run_problems(current)
        assert facts.copies == copies_label(current)
        assert facts.overdue(before) == copies_overdue(current, NOW - 48 * H)
        assert facts.overdue(None)


def test_a_run_costs_the_columns_about_a_hundred_bytes() -> None:
    """What many runs share is kept once: a history of 3,000 runs has a few
    distinct judgements, and a row is a code, numbers and its own words."""
    sim = SimulatorBackend({"runs": 3_000, "speed": 0})
    table = RunIndex().update(sim.fetch_runs().runs)
    assert len(table.judged) < 40
    per_row = sum(
        column.itemsize * len(column)
        for column in (table.codes, table.numbers, table.starts, table.dues, table.sinces)
    ) + sum(column.itemsize * len(column) for column in (table.events, table.sizes))
    assert per_row / len(table) == 4 + 8 * 6
    assert max(len(w) for w in table.words) < 50  # number, name, tags ("donotprocess")


def test_rows_are_found_by_number_even_out_of_order() -> None:
    runs = history(20)
    shuffled = (*runs[10:], *runs[:10])
    table = RunIndex().update(shuffled)
    assert table.index_of(7003) == 13 and table.index_of(7015) == 5
    assert table.index_of(1) is None
    assert table.fact(13).number == 7003 and table.fact(-1).number == 7009
    assert table.newest() == max(range(20), key=lambda i: shuffled[i].start)


def test_a_reordered_history_reuses_the_facts_by_number() -> None:
    runs = history(30)
    index = RunIndex()
    index.update(runs)
    table = index.update(tuple(reversed(runs)))
    assert table.derived == 0
    assert [f.number for f in table.facts] == [r.number for r in reversed(runs)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messy_documents, min_size=2, max_size=12))
def test_runs_of_one_shape_are_judged_alike(docs) -> None:  # type: ignore[no-untyped-def]
    """A run of a known shape is not judged again (``run_index._shape``):
    that is only right if every run of a shape gets the same judgement from
    ``analysis.safety`` itself, for any documents the mongo backend reads."""
    from backends.analysis.run_index import _judge, _shape

    numeric, odd = _convert(docs)
    cache = RunsCache()
    cache.load_full(numeric, odd)
    by_shape: dict = {}
    for current in cache.runs:
        shape = _shape(current)
        if shape is None:
            continue
        judged = _judge(current, None, DEFAULT_POLICY)
        assert by_shape.setdefault(shape, judged) == judged


def test_the_shape_leaves_out_only_what_no_judgement_reads() -> None:
    """Two runs alike but for their number, name, times, DIDs and checksum
    values share a judgement; a quoted placeholder checksum does not."""
    from backends.analysis.run_index import _shape

    a = run(7001, copies=(BUF, UC, EU, TAPE))
    b = replace(
        run(7002, copies=(BUF, UC, EU, replace(TAPE, checksum="0f0f0f0f"))),
        name="171115_1300",
    )
    assert _shape(a) == _shape(b)
    null = replace(TAPE, checksum="null")
    none = replace(TAPE, checksum="-")
    assert _shape(run(7003, copies=(BUF, null))) != _shape(run(7003, copies=(BUF, none)))
    assert (
        run_facts(run(7003, copies=(BUF, null))).verdict.reason
        != run_facts(run(7003, copies=(BUF, none))).verdict.reason
    )


@settings(max_examples=60, deadline=None)
@given(
    terms=st.lists(
        st.sampled_from(
            ["unsafe", "safe", "miss", "wait", "tape", "eu", "sr1", "7001", "led", "0", "_", "x"]
        ),
        min_size=1,
        max_size=3,
    ),
    overdue=st.booleans(),
)
def test_the_filter_over_columns_finds_what_the_search_text_holds(terms, overdue) -> None:  # type: ignore[no-untyped-def]
    from console.render.runs import row_matcher, search_text, term_in

    sim = SimulatorBackend({"runs": 400, "speed": 0, "scenario": "tape-checksum"})
    table = RunIndex().update(sim.fetch_runs().runs)
    match = row_matcher(table, tuple(terms))
    for i in range(0, len(table), 7):
        text = search_text(table.fact(i), overdue)
        assert match(i, overdue) == all(term_in(term, text) for term in terms)


def test_the_filter_word_safe_finds_the_safe_runs_only() -> None:
    """``safe`` is inside ``unsafe``: it found every run (721 of 721)."""
    from backends.analysis.safety import data_safety
    from console.render.runs import row_matcher

    sim = SimulatorBackend({"runs": 400, "speed": 0, "scenario": "tape-checksum"})
    runs = sim.fetch_runs().runs
    table = RunIndex().update(runs)
    safe = [i for i, run in enumerate(runs) if data_safety(run).safe]
    unsafe = [i for i in range(len(runs)) if i not in set(safe)]
    assert safe and unsafe
    for overdue in (False, True):
        assert [i for i in range(len(runs)) if row_matcher(table, ("safe",))(i, overdue)] == safe
        found = [i for i in range(len(runs)) if row_matcher(table, ("unsafe",))(i, overdue)]
        assert found == unsafe
        # a part of a word still finds what it is part of: "saf" both
        assert all(row_matcher(table, ("saf",))(i, overdue) for i in range(len(runs)))


def _sort_value(f, column: int, before: float):  # type: ignore[no-untyped-def]
    """What a column of the runs pane sorts by, from a run's facts."""
    from console.format import VERDICT_VIEW, short_slots
    from console.render.runs import word_of

    overdue = f.overdue(before)
    return [
        f.number,
        f.source.lower(),
        (f.science_run or "~").lower(),
        f.start,
        (
            VERDICT_VIEW[word_of(f, overdue)][3],
            short_slots(f.verdict.missing),
        ),
        f.processing.value,
        f.copies.lower(),
        f.events,
        f.size,
    ][column]


def test_rows_sort_by_each_column_exactly_and_stably() -> None:
    from console.render.runs import COLUMNS, SAFETY_COLUMN, sorted_rows

    sim = SimulatorBackend({"runs": 400, "speed": 0, "scenario": "tape-checksum"})
    runs = sim.fetch_runs().runs
    no_events = replace(runs[-1], events=None, raw_size_bytes=None)
    table = RunIndex().update((*runs[:-1], no_events))
    before = (NOW - 48 * H).timestamp()
    rows = list(range(len(table) - 1, -1, -1))  # newest first, as the pane starts
    rank = {row: n for n, row in enumerate(rows)}
    for column in range(len(COLUMNS)):
        for reverse in (False, True):
            order = sorted_rows(table, rows, column, reverse, before)
            assert sorted(order) == sorted(rows)
            values = [_sort_value(table.fact(i), column, before) for i in order]
            present = [v for v in values if v is not None]
            assert present == sorted(present, reverse=reverse)
            assert values[len(present) :] == [None] * (len(values) - len(present))
            if column in (7, 8):
                assert table.numbers[order[-1]] == no_events.number  # no value: last
            # Equal values keep the pane's order (newest first).
            for (a, va), (b, vb) in itertools.pairwise(zip(order, values, strict=True)):
                if va == vb:
                    assert rank[a] < rank[b]
        if column == SAFETY_COLUMN:
            assert len({v for v in values if v is not None}) > 1


def test_a_run_with_an_unhashable_value_is_judged_all_the_same() -> None:
    """The shape is a dict key: a backend's odd value (a list where a tuple
    belongs) must cost the memo, not the runs poll."""
    odd = replace(run(7001, copies=(BUF, UC, EU, TAPE)), malformed=["a list"])  # type: ignore[arg-type]
    facts = RunIndex().update((odd,)).fact(0)
    assert facts.verdict == data_safety(odd)


def test_numbers_beyond_64_bits_are_kept_exactly_and_judged() -> None:
    """A runs database with a size of 1e19 or 2**63 events (garbage the
    reader lets through as a number): the columns keep it exactly, the table
    is made, and the runs' alarms are not lost with it."""
    from datetime import UTC, datetime

    from backends.mongo.documents import document_to_run
    from console.render.runs import sorted_rows

    good = {"number": 1, "name": "a", "start": datetime(2017, 6, 1, tzinfo=UTC), "data": []}
    runs = (
        document_to_run(good),
        document_to_run({**good, "number": 2, "raw_size_byte": 1e19}),
        document_to_run({**good, "number": 3, "trigger": {"events_built": 2**63}}),
        document_to_run({**good, "number": 2**70}),
    )
    index = RunIndex()
    table = index.update(runs)
    assert [table.fact(i).number for i in range(4)] == [1, 2, 3, 2**70]
    assert table.fact(1).size == runs[1].raw_size_bytes == 10**19
    assert table.fact(2).events == 2**63
    assert table.index_of(2**70) == 3 and table.index_of(3) == 2
    assert list(table.facts) == [table.fact(i) for i in range(4)]
    assert sorted_rows(table, [0, 1, 2, 3], 8, True, None)[0] == 1  # the largest size first
    assert sorted_rows(table, [3, 2, 1, 0], 0, False, None) == [0, 1, 2, 3]
    again = index.update(runs)
    assert again.derived == 1 and again.fact(3).number == 2**70  # (its number: not a column's)
    assert again.fact(1).size == 10**19


def test_dags_follow_their_runs_when_the_order_changes() -> None:
    runs = history(40)
    index = RunIndex()
    index.update(runs)
    dags = {7003: dag(1, 7003, done=3, queued=4), 7030: dag(2, 7030, done=1, queued=1)}
    index.with_dags(dags)
    shuffled = tuple(runs[i] for i in (*range(0, 40, 2), *range(1, 40, 2)))
    table = index.update(shuffled)
    assert table.derived == 0
    for fact in table.facts:
        assert fact.dag is dags.get(fact.number)
        assert fact.processing.value == ("processing" if fact.number in dags else "waiting")


def _columns(table) -> list[tuple]:  # type: ignore[no-untyped-def]
    """Every row as the table holds it (the judgement, not its code)."""
    return [
        (
            table.int_at(0, i),
            table.judged_at(i),
            table.starts[i],
            table.dues[i],
            table.sinces[i],
            table.int_at(1, i),
            table.int_at(2, i),
            table.words[i],
            table.dags.get(i),
        )
        for i in range(len(table))
    ]


def test_a_poll_compares_the_settled_history_by_blocks_and_gets_every_run_right() -> None:
    """A poll of the simulator's history compared each run's version in
    Python: about 100 ms a poll at 267,620 runs, for a handful of changed
    runs (issue 13). Settled runs are compared a block of version bytes at a
    time; the table is the one a derivation of every run gives, DAGs too."""
    sim = SimulatorBackend({"runs": 3_000, "speed": 0})
    index = RunIndex()
    first = index.update(sim.fetch_runs().runs)
    assert first.settled is not None
    old_number = first.int_at(0, 700)
    assert old_number is not None
    dags = {old_number: dag(1, old_number, done=3, queued=4)}  # a settled run in a block
    for step in range(4):
        sim.advance(1_800)
        runs = sim.fetch_runs().runs
        table = index.update(runs, dags if step % 2 else {})
        assert table.derived < 60
        fresh = RunIndex().update(tuple(runs), dags if step % 2 else {})
        assert fresh.derived == len(runs)
        assert _columns(table) == _columns(fresh)
    assert table.dags.get(700) is dags[old_number]  # the last poll had the DAG
    # Another history: no block is taken from the old one.
    other = SimulatorBackend({"runs": 3_000, "speed": 0, "seed": 2})
    assert index.update(other.fetch_runs().runs).derived == 3_000


def test_the_scans_of_the_columns_find_what_a_loop_finds() -> None:
    """The newest run, the unsafe and the purgeable ones, the malformed count:
    found in C over the columns (the runs poll's alarms read them at every
    poll), exactly as a loop over every row finds them."""
    sim = SimulatorBackend({"runs": 2_000, "speed": 0})
    table = RunIndex().update(sim.fetch_runs().runs)
    rows = range(len(table))
    assert table.newest() == max(rows, key=table.starts.__getitem__)
    assert [i for i, _ in table.unsafe()] == [
        i for i in rows if not table.judged_at(i).verdict.safe
    ]
    assert list(table.purge_safe()) == [i for i in rows if table.judged_at(i).purgeable]
    assert table.malformed == sum(1 for i in rows if table.judged_at(i).problems)
    # Ties: the first; a NaN first stays the newest (nothing is above it).
    table.starts[5] = table.starts[9] = max(table.starts) + 1
    assert table.newest() == 5
    table.starts[0] = float("nan")
    assert table.newest() == 0 == max(rows, key=table.starts.__getitem__)
