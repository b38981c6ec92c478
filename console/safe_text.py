"""Make untrusted text harmless before it reaches a terminal, a log or a report.

Everything a backend returns (rule errors, hold reasons, run names, dsmc
messages) may carry terminal control sequences or secrets from a connection
string. ``strip_controls`` strips the former, ``redact_secrets`` hides the latter.
Rich markup is a third hazard: callers that build Rich ``Text`` from these
strings must append them as plain text (``Text(s)``, never ``Text.from_markup``);
``escape_markup`` is here for the places that have to build markup strings.
"""

from __future__ import annotations

import json
import re
from typing import Any

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"

# ESC sequences first (CSI, OSC, DCS/SOS/PM/APC strings, two-byte escapes),
# then their 8-bit C1 forms, then any remaining control character.
_ESCAPES = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]                 # CSI ... final byte
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?      # OSC ... BEL or ST (or unterminated)
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?           # DCS, SOS, PM, APC ... ST
    | \x1b[ -/]*[0-~]                         # other escapes (charset, keypad, RIS...)
    | \x1b                                    # a lone ESC
    | \x9b[0-?]*[ -/]*[@-~]                   # 8-bit CSI
    | \x9d[^\x07\x9c]*(?:\x07|\x9c)?          # 8-bit OSC
    | [\x90\x98\x9e\x9f][^\x9c]*\x9c?         # 8-bit DCS, SOS, PM, APC
    """,
    re.VERBOSE,
)
#: Bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069): they
#: reorder what a reader sees ("Trojan Source"), so they go like controls.
_BIDI = "\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}]")
#: The same, with tab and newline too: for text shown on one line.
_CONTROL_INLINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_BIDI}]")


def strip_controls(text: object, *, lines: bool = False) -> str:
    """Text safe to print: no escape sequences, no control characters.

    Escape sequences are removed whole; other control characters (C0, DEL, C1,
    \\r, which could overwrite a line, and \\n, which would fake a line of
    its own in a table, a header or a hint) and bidi overrides become U+FFFD
    so a reader sees that something was there. ``lines=True`` keeps \\n and
    \\t, for text shown as a block of lines.
    """
    s = text if isinstance(text, str) else str(text)
    s = _ESCAPES.sub("", s)
    return (_CONTROL if lines else _CONTROL_INLINE).sub(REPLACEMENT, s)


#: What ``json.dumps`` leaves raw with ``ensure_ascii=False`` but a terminal
#: would act on: DEL, C1 controls, bidi controls, line and paragraph separators.
_JSON_UNSAFE = re.compile(f"[\\x7f-\\x9f\\u2028\\u2029{_BIDI}]")


def json_text(data: object, **options: Any) -> str:
    """``json.dumps`` whose output is safe on a terminal (``jq`` on a tty).

    C0 controls are escaped by ``json`` itself; DEL, C1 and bidi controls are
    escaped here as ``\\uXXXX`` (they can only occur inside strings, so the
    JSON stays the same value). Other text stays readable (UTF-8).
    """
    text = json.dumps(data, ensure_ascii=False, **options)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def escape_markup(text: object) -> str:
    """``strip_controls`` plus Rich markup escaping, for building markup strings."""
    from rich.markup import escape  # here, so the recording and audit load no UI

    return escape(strip_controls(text))


_MASK = "***"
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host  (mongodb, mongodb+srv, https, amqp, ...)
    (re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]*(@)"), rf"\1{_MASK}\2"),
    # Authorization: Bearer xyz / Basic xyz / Token xyz
    (
        re.compile(r"(?i)(authorization\s*[:=]\s*(?:bearer|basic|token)?\s*)[^\s,;\"']+"),
        rf"\1{_MASK}",
    ),
    # Rucio and other token headers
    (re.compile(r"(?i)(x-[\w-]*token\s*[:=]\s*)[^\s,;\"']+"), rf"\1{_MASK}"),
    # key=value / key: value for secret-looking keys, in query strings, configs, JSON
    (
        re.compile(
            r"(?i)(\b[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\s&,;\"'}]+"
        ),
        rf"\1{_MASK}",
    ),
)


def redact_secrets(text: object) -> str:
    """Hide passwords and tokens in text that may be shown or logged."""
    s = text if isinstance(text, str) else str(text)
    for pattern, repl in _SECRET_PATTERNS:
        s = pattern.sub(repl, s)
    return s
