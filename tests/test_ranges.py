"""Threshold ranges against the monitoring-plugins guidelines, form by form."""

from __future__ import annotations

import math

import pytest

from console.ranges import Range, RangeError, format_number, parse_range

INF = math.inf

# text, (start, end, inside), the shortest form of it
PARSED = [
    ("10", (0, 10, False), "10"),
    ("0:10", (0, 10, False), "10"),
    ("10:", (10, INF, False), "10:"),
    ("0:", (0, INF, False), "0:"),
    ("~:10", (-INF, 10, False), "~:10"),
    ("10:20", (10, 20, False), "10:20"),
    ("10:10", (10, 10, False), "10:10"),
    ("@10:20", (10, 20, True), "@10:20"),
    ("@10", (0, 10, True), "@10"),
    ("@10:", (10, INF, True), "@10:"),
    ("@~:10", (-INF, 10, True), "@~:10"),
    ("~:", (-INF, INF, False), "~:"),
    ("@~:", (-INF, INF, True), "@~:"),
    ("-5:-1", (-5, -1, False), "-5:-1"),
    ("~:-1", (-INF, -1, False), "~:-1"),
    ("-0.5:0.5", (-0.5, 0.5, False), "-0.5:0.5"),
    ("1.50", (0, 1.5, False), "1.5"),
    (".5", (0, 0.5, False), "0.5"),
    ("1.", (0, 1, False), "1"),
    ("007", (0, 7, False), "7"),
    ("0", (0, 0, False), "0"),
    ("-0", (0, 0, False), "0"),
    ("50000000000000", (0, 5e13, False), "50000000000000"),
    ("0.0000001:", (1e-7, INF, False), "0.0000001:"),
]


@pytest.mark.parametrize(("text", "parts", "shortest"), PARSED)
def test_parse_every_form(text, parts, shortest):
    parsed = parse_range(text)
    assert (parsed.start, parsed.end, parsed.inside) == parts
    assert str(parsed) == shortest
    assert parse_range(str(parsed)) == parsed


# range, value, alerts? -- the boundaries belong to the range
ALERTS = [
    # "10": outside 0 .. 10
    ("10", -0.001, True),
    ("10", 0, False),
    ("10", 5, False),
    ("10", 10, False),
    ("10", 10.001, True),
    ("10", 11, True),
    # "10:": below 10
    ("10:", 9.999, True),
    ("10:", 10, False),
    ("10:", 1e300, False),
    # "~:10": above 10
    ("~:10", -1e300, False),
    ("~:10", 10, False),
    ("~:10", 10.5, True),
    # "10:20": outside 10 .. 20
    ("10:20", 9, True),
    ("10:20", 10, False),
    ("10:20", 15, False),
    ("10:20", 20, False),
    ("10:20", 20.0001, True),
    # "@10:20": inside 10 .. 20, endpoints included
    ("@10:20", 9.999, False),
    ("@10:20", 10, True),
    ("@10:20", 15, True),
    ("@10:20", 20, True),
    ("@10:20", 20.001, False),
    # "@10": inside 0 .. 10
    ("@10", -1, False),
    ("@10", 0, True),
    ("@10", 10, True),
    ("@10", 11, False),
    # "@10:" at or above 10, "@~:10" at or below 10
    ("@10:", 9, False),
    ("@10:", 10, True),
    ("@~:10", -1e300, True),
    ("@~:10", 10, True),
    ("@~:10", 10.1, False),
    # negatives and decimals
    ("-5:-1", -6, True),
    ("-5:-1", -5, False),
    ("-5:-1", -1, False),
    ("-5:-1", 0, True),
    ("~:-1", -1, False),
    ("~:-1", 0, True),
    ("0.5", 0.5, False),
    ("0.5", 0.51, True),
    ("0.5", -0.01, True),
    ("10:10", 10, False),
    ("10:10", 9.99, True),
    ("10:10", 10.01, True),
    ("0", 0, False),
    ("0", 1, True),
    # never, always
    ("~:", -1e300, False),
    ("~:", 1e300, False),
    ("@~:", 0, True),
    ("@~:", -1e300, True),
]


@pytest.mark.parametrize(("text", "value", "alerts"), ALERTS)
def test_alerts_as_the_guidelines_say(text, value, alerts):
    assert parse_range(text).alerts(value) is alerts


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty range"),
        ("abc", "'abc' is not a range"),
        ("20:10", "'20:10': start 20 is greater than end 10"),
        ("-5", "'-5': start 0 is greater than end -5"),
        ("0.5:0.25", "start 0.5 is greater than end 0.25"),
        ("@20:10", "start 20 is greater than end 10"),
        (":10", "is not a range"),
        ("~", "is not a range"),
        ("~10", "is not a range"),
        ("10:~", "is not a range"),
        ("@", "is not a range"),
        ("@@10", "is not a range"),
        ("10@", "is not a range"),
        (":", "is not a range"),
        ("10:20:30", "is not a range"),
        ("10-20", "is not a range"),
        ("1e3", "is not a range"),
        ("inf", "is not a range"),
        ("nan", "is not a range"),
        ("0x10", "is not a range"),
        ("+5", "is not a range"),
        ("--5", "is not a range"),
        ("1,5", "is not a range"),
        ("1 5", "is not a range"),
        (" 10", "is not a range"),
        ("10 ", "is not a range"),
        ("10\n", "is not a range"),
        ("\u0661\u0660", "is not a range"),  # Arabic-Indic "10": float() takes it
        ("1" * 400, "a number is too large"),
        ("x" * 100, "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is not a range"),
    ],
)
def test_malformed_ranges_are_refused(text, reason):
    with pytest.raises(RangeError) as info:
        parse_range(text)
    assert reason in str(info.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("10", "alert if < 0 or > 10"),
        ("10:", "alert if < 10"),
        ("~:10", "alert if > 10"),
        ("10:20", "alert if < 10 or > 20"),
        ("@10:20", "alert if >= 10 and <= 20"),
        ("@10:", "alert if >= 10"),
        ("@~:10", "alert if <= 10"),
        ("~:", "never alert"),
        ("@~:", "always alert"),
        ("-0.5:0.5", "alert if < -0.5 or > 0.5"),
    ],
)
def test_describe(text, words):
    assert parse_range(text).describe() == words


def test_the_consoles_own_limits_as_ranges():
    assert str(Range.above(80)) == "80"
    assert str(Range.above(0)) == "0"
    assert str(Range.above(-1)) == "~:-1"
    assert str(Range.below(259200)) == "259200:"
    # Counts alert *at* the limit: held_jobs_warning = 1 warns at 1 held job.
    assert str(Range.at_least(1)) == "0"
    assert str(Range.at_least(100)) == "99"
    assert str(Range.at_least(0)) == "~:-1"
    for limit in (0, 1, 2, 10, 100):
        for count in range(0, 120):
            assert Range.at_least(limit).alerts(count) is (count >= limit)
    for value in (-1.0, 0.0, 259199.9, 259200.0, 259200.1):
        assert Range.below(259200).alerts(value) is (value < 259200)


def test_a_range_cannot_be_built_backwards():
    with pytest.raises(RangeError):
        Range(20, 10)
    with pytest.raises(RangeError):
        Range(math.nan, 10)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (80.0, "80"),
        (0.1, "0.1"),
        (96.4, "96.4"),
        (-3.25, "-3.25"),
        (-0.0, "0"),
        (5e13, "50000000000000"),
        (1e22, "10000000000000000000000"),
        (1e-7, "0.0000001"),
        (123_456_789_012_345_678, "123456789012345678"),
    ],
)
def test_format_number_is_c_locale_positional(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_format_number_refuses_what_is_not_a_number(value):
    with pytest.raises(ValueError):
        format_number(value)
