"""Text for the terminal: control characters escaped, so a name read from a file cannot move
the cursor, recolour the screen or reverse the reading order (ANSI escapes, right-to-left
overrides).

Every C0/C1 control character but newline and tab, the bidirectional controls (U+061C,
U+200E/F, U+202A-U+202E, U+2066-U+2069) and the line/paragraph separators (U+2028/9) print as
Python escapes (``\\x1b``, ``\\u202e``). :class:`EscapingStream` applies this to everything a
command prints on standard output; error lines are escaped newline included (one line each).
"""

from __future__ import annotations

import re
from typing import Any, TextIO

_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_LINE = re.compile(f"[{_CONTROLS}\t\n]")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def terminal_text(text: str, one_line: bool = False) -> str:
    """``text`` with its control characters escaped (``one_line``: newline and tab too)."""
    return (_UNSAFE_LINE if one_line else _UNSAFE).sub(_escape, text)


class EscapingStream:
    """A text stream that writes through :func:`terminal_text` (newlines and tabs kept)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(terminal_text(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
