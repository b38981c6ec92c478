"""Fewer bytes down a shifter's SSH link: one escape sequence per run of a style.

Textual writes every segment of a line as ``ESC[<style>m text ESC[0m``. A
line made of many segments of the same style (a sparkline's bars, the blank
cells around them, a table's padding) thus costs about 25 bytes per cell
where 3 would do: most of what the console wrote each second was escape
sequences. ``CompactLines`` joins adjacent segments of equal style (meta,
such as a table's click targets, included: segments that differ in it stay
apart) before the compositor sees them; the screen is the same cell for
cell. Segments are joined when they *look* the same on the terminal (the
same SGR codes, as Textual writes them, and link) and carry the same meta
but for the text-selection ``offset`` (Textual finds a selection's offset
from ``render_line``, which this leaves alone): a DataTable gives each cell
its own click target (row, column), and a click must land on the cell under
the mouse (a second click on the cursor's cell is what selects a row).
The simplified line is kept while the widget hands out the same line
object, so an unchanged line is neither joined nor encoded again.
"""

from __future__ import annotations

from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Sparkline, Static

__all__ = ["CompactLines", "CompactSparkline", "CompactStatic", "compact", "joined"]


def _looks(style: Style | None, colors: ColorSystem) -> tuple[str, str | None, object] | None:
    """What the terminal gets of a style in this colour system (its SGR
    codes, its link) and its meta."""
    if style is None:
        return None
    return (_sgr(style, colors), style._link, _meta_key(style))


#: SGR codes by (style, colour system): Rich's own ``_ansi`` cache does not
#: say for which colour system it was made, so it is not read here.
_SGR: dict[tuple[Style, ColorSystem], str] = {}


def _sgr(style: Style, colors: ColorSystem) -> str:
    key = (style, colors)
    codes = _SGR.get(key)
    if codes is None:
        # (an equality key, not the codes themselves: the attributes as a mask)
        sgr: list[str] = [str(style._attributes & style._set_attributes)]
        if style._color is not None:
            sgr.extend(style._color.downgrade(colors).get_ansi_codes())
        if style._bgcolor is not None:
            sgr.extend(style._bgcolor.downgrade(colors).get_ansi_codes(False))
        codes = ";".join(sgr)
        if len(_SGR) >= 8192:
            _SGR.clear()
        _SGR[key] = codes
    return codes


#: Meta (pickled, as Rich keeps it) without its selection offset, by meta.
_META_KEYS: dict[bytes, str | None] = {}


def _meta_key(style: Style) -> str | None:
    meta = style._meta
    if meta is None:
        return None
    key = _META_KEYS.get(meta)
    if key is None and meta not in _META_KEYS:
        values = style.meta
        values.pop("offset", None)
        key = repr(sorted(values.items())) if values else None
        if len(_META_KEYS) >= 8192:
            _META_KEYS.clear()
        _META_KEYS[meta] = key
    return key


def joined(strip: Strip, colors: ColorSystem = ColorSystem.TRUECOLOR) -> Strip:
    """The strip with adjacent segments that look the same joined into one."""
    segments: list[Segment] = []
    last: tuple[str, str | None, object] | None = None
    for segment in strip:
        text, style, control = segment
        looks = _looks(style, colors)
        if segments and not control and looks == last and segments[-1].control is None:
            previous = segments[-1]
            segments[-1] = Segment(previous.text + text, previous.style)
        else:
            segments.append(segment)
            last = looks if not control else None
    if len(segments) == len(strip._segments):
        return strip
    return Strip(segments, strip.cell_length)


def compact(
    strips: list[Strip],
    cache: dict[int, tuple[Strip, Strip]],
    colors: ColorSystem = ColorSystem.TRUECOLOR,
) -> list[Strip]:
    """``strips`` with each one's look-alike segments joined (cached by line)."""
    out = []
    for y, strip in enumerate(strips):
        kept = cache.get(y)
        if kept is not None and kept[0] is strip:
            out.append(kept[1])
            continue
        simple = joined(strip, colors)
        cache[y] = (strip, simple)
        out.append(simple)
    for y in [y for y in cache if y >= len(strips)]:
        del cache[y]
    return out


class CompactLines:
    """Mixed into a widget (first among its bases) whose lines reach the
    terminal with their segments joined. Not a ``Widget`` itself: Textual
    takes a class's CSS and component classes from its first widget base."""

    #: The joined lines of the last few crops drawn (Textual asks for one-line
    #: crops too, to find what is under the mouse).
    _compact_caches: dict[Region, dict[int, tuple[Strip, Strip]]] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        strips: list[Strip] = super().render_lines(crop)  # type: ignore[misc]
        caches = self._compact_caches
        if caches is None:
            caches = self._compact_caches = {}
        cache = caches.get(crop)
        if cache is None:
            if len(caches) >= 4:
                caches.clear()
            cache = caches[crop] = {}
        colors = self.app.console._color_system or ColorSystem.TRUECOLOR  # type: ignore[attr-defined]
        return compact(strips, cache, colors)


class CompactStatic(CompactLines, Static):
    """A ``Static`` written compactly."""


class CompactSparkline(CompactLines, Sparkline):
    """A ``Sparkline`` written compactly (its bars were one sequence each)."""
