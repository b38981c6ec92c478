"""Nagios performance data: the figures ``check`` writes after ``|``.

Each pane's renderer names its figures (``FigureSpec``: label, unit, the
console alarm it stands for) and makes one ``Figure`` per snapshot from the
same analysis function as that alarm. ``Figure.perfdata`` writes it as the
monitoring-plugins guidelines want it::

    'label'=value[UOM];[warn];[crit];[min];[max]

Units are base units: ``B`` bytes, ``s`` seconds, ``%`` percent; a count of
things that goes up and down (held jobs, stuck rules) has none, as the
guidelines say ("a number of things"): ``c`` is for a continuous counter
that only grows, such as bytes sent on an interface. Numbers are written in
the C locale with no exponent (``format_number``); a label with a space,
``=`` or ``'`` is quoted, a ``'`` in it doubled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from console.ranges import Range, format_number

#: The units of the guidelines.
UNITS = frozenset({"", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"})


def quote_label(label: str) -> str:
    """The label as perfdata writes it: in single quotes when it holds a
    space, ``=`` or ``'`` (that one doubled), else as it is."""
    if any(c in label for c in " ='"):
        return "'" + label.replace("'", "''") + "'"
    return label


@dataclass(frozen=True, slots=True)
class FigureSpec:
    """One figure a pane writes: what ``-w``/``-c`` and the README name."""

    label: str
    #: One of ``UNITS``.
    uom: str
    #: What it is, in a few words.
    what: str
    #: The console's alarm it stands for: its key, or a pattern (``*`` for
    #: any part, ``rse.*.stuck``) when the figure is the worst of several.
    #: ``-w``/``-c`` on the figure replace these alarms by its verdict.
    alarms: str | None = None
    #: Decimals of the value in perfdata (0: a whole number).
    decimals: int = 0

    def __post_init__(self) -> None:
        if self.uom not in UNITS:
            raise ValueError(f"figure {self.label!r}: unit {self.uom!r} is none of {sorted(UNITS)}")
        if not self.label or "|" in self.label or not self.label.isprintable():
            raise ValueError(f"figure label {self.label!r}: empty, '|' or a control character")

    def __call__(
        self,
        value: float,
        *,
        warn: Range | None = None,
        crit: Range | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        alarm: str | None = None,
        words: str | None = None,
    ) -> Figure:
        """This figure's reading: its value, the console's own limits as
        ranges, its bounds; ``alarm``: the key of the one alarm it stands
        for this time (default ``alarms`` when it is a plain key);
        ``words``: the value for a reader (``2.6 d``)."""
        if alarm is None and self.alarms is not None and "*" not in self.alarms:
            alarm = self.alarms
        return Figure(self, value, warn, crit, minimum, maximum, alarm, words)


@dataclass(frozen=True, slots=True)
class Figure:
    spec: FigureSpec
    value: float
    warn: Range | None = None
    crit: Range | None = None
    minimum: float | None = None
    maximum: float | None = None
    #: The key of the console alarm the figure stands for this time, if any.
    alarm: str | None = None
    words: str | None = None

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def value_text(self) -> str:
        """The value as perfdata writes it, ``U`` when it is not a number."""
        value = self.value
        if isinstance(value, float) or self.spec.decimals:
            value = float(value)
            if not math.isfinite(value):
                return "U"
            text = f"{value:.{self.spec.decimals}f}"
            return text.removeprefix("-") if float(text) == 0 else text  # never "-0.0"
        return format_number(value)

    @property
    def reading(self) -> float | None:
        """The value as written (what a range is checked against: a reader of
        ``buffer_fill=96.4%`` expects ``@96.4:100`` to alert); None for ``U``."""
        text = self.value_text
        return None if text == "U" else float(text)

    @property
    def shown(self) -> str:
        """The value for a reader: its words, else the value and unit."""
        return self.words or f"{self.value_text}{self.spec.uom}"

    def perfdata(self) -> str:
        """``'label'=value[UOM];[warn];[crit];[min];[max]``, trailing empty fields dropped."""
        fields = [
            f"{quote_label(self.label)}={self.value_text}{self.spec.uom}",
            "" if self.warn is None else str(self.warn),
            "" if self.crit is None else str(self.crit),
            "" if self.minimum is None else format_number(self.minimum),
            "" if self.maximum is None else format_number(self.maximum),
        ]
        while fields[-1] == "":
            fields.pop()
        return ";".join(fields)
