"""Update a Static only when what it shows changed.

The console redraws its status lines, the alarms strip and the footers every
second and on every poll; most of the time they say what they said. Textual
repaints (and the terminal receives) whatever is updated, so an unchanged
text is not sent again, and a line of fixed height is updated without a
layout pass.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from rich.text import Text
from textual.widgets import Static

_shown: WeakKeyDictionary[Static, tuple[object, ...]] = WeakKeyDictionary()


def _signature(text: Text) -> tuple[object, ...]:
    return (
        text.plain,
        str(text.style),
        tuple((s.start, s.end, str(s.style)) for s in text.spans),
        text.no_wrap,
        text.overflow,
        text.justify,
    )


def _lines(text: Text, width: int) -> int:
    """How many lines the text takes at ``width`` when it wraps."""
    if text.no_wrap or width <= 0:
        return text.plain.count("\n") + 1
    return sum(max(1, -(-len(line) // width)) for line in text.plain.split("\n"))


def show_text(widget: Static, text: Text, *, layout: bool = False) -> bool:
    """Show ``text`` in ``widget`` unless it shows it already; True when updated.

    ``layout``: the widget's height follows its text (``height: auto``); a
    layout pass is made only when the number of lines may have changed."""
    signature = _signature(text)
    before = _shown.get(widget)
    if before is not None and before[:-1] == signature:
        return False
    height = widget.styles.height
    # A fixed height (the grid's one-line detail) never needs a layout pass.
    layout = layout and (height is None or height.is_auto)
    wraps = widget.styles.text_wrap != "nowrap"
    lines = _lines(text, widget.content_size.width if wraps else 0) if layout else 0
    _shown[widget] = (*signature, lines)
    widget.update(text, layout=layout and (before is None or before[-1] != lines))
    return True


def forget_text(widget: Static) -> None:
    """The next ``show_text`` updates the widget whatever it shows."""
    _shown.pop(widget, None)
