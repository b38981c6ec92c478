"""Hide credentials in text the backend makes (errors, option echoes).

The console redacts errors it shows, but ``schedd_errors`` travel inside the
snapshot, so this backend cleans its own text before it gets there. Kept
here, not imported from ``console``, because backends never import the UI.
"""

from __future__ import annotations

import re

MASK = "***"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host
    (re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]*(@)"), rf"\1{MASK}\2"),
    # password=..., token: ..., secret=... (also in query strings)
    (
        re.compile(
            r"(?i)\b([\w\-]*(?:password|passwd|pwd|token|secret)[\w\-]*\s*[=:]\s*)"
            r"[^\s,;&\"'>]+"
        ),
        rf"\1{MASK}",
    ),
    # IDTOKENs and other JWTs wherever they appear
    (re.compile(r"\beyJ[\w\-]+\.[\w\-]+\.[\w\-]*"), MASK),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
