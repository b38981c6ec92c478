"""Update a Static only when what it shows changed.

The console redraws its status lines, the alarms strip and the footers every
second and on every poll; most of the time they say what they said. Textual
repaints (and the terminal receives) whatever is updated, so an unchanged
text is not sent again, and a widget of fixed height is updated without a
layout pass.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from rich.cells import cell_len
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


def _same_height(
    widget: Static, before: tuple[object, ...] | None, after: tuple[object, ...]
) -> bool:
    """Whether the widget's new text takes as many lines as its old one: as
    many lines, none of which wraps (the widget does not wrap, or every line
    of both fits its width)."""
    if before is None:
        return False
    old, new = before[0], after[0]
    assert isinstance(old, str) and isinstance(new, str)
    if old.count("\n") != new.count("\n"):
        return False
    if widget.styles.text_wrap == "nowrap":
        return True
    width = widget.content_size.width
    return width > 0 and all(
        cell_len(line) <= width for text in (old, new) for line in text.split("\n")
    )


def show_text(widget: Static, text: Text, *, layout: bool = False) -> bool:
    """Show ``text`` in ``widget`` unless it shows it already; True when updated.

    ``layout``: the widget's height follows its text (``height: auto``), so
    a changed text gets a layout pass (a guess at its line count from its
    length was wrong where the words wrap: a last line went missing)."""
    signature = _signature(text)
    before = _shown.get(widget)
    if before == signature:
        return False
    height = widget.styles.height
    # A fixed height (the grid's one-line detail) never needs a layout pass,
    # nor does a text whose height is known to be what it was (the jobs
    # pane's trend line changes every poll, and a layout pass repaints every
    # scrollbar on the screen).
    layout = (
        layout
        and (height is None or height.is_auto)
        and not _same_height(widget, before, signature)
    )
    _shown[widget] = signature
    widget.update(text, layout=layout)
    return True


def forget_text(widget: Static) -> None:
    """The next ``show_text`` updates the widget whatever it shows."""
    _shown.pop(widget, None)
