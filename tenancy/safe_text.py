"""Which characters text may hold, and how text reaches a terminal safely.

One definition serves both sides: what ids and names refuse, and what every printed line
escapes. The definition is Python's own `str.isprintable()` (false for the Unicode categories
"Other" and "Separator" except the ASCII space: control and format characters such as ESC or
the bidirectional overrides, surrogates, private-use and unassigned code points, line and
paragraph separators, and every non-ASCII space). It runs in C, which matters because ids are
checked for every record of every ingest.
"""

from __future__ import annotations

import unicodedata

SPACE_SEPARATOR = "Zs"


def unsafe_characters(text: str, *, allow_spaces: bool = False) -> list[str]:
    """The characters of `text` that must not reach a terminal raw, in order of appearance.

    With `allow_spaces`, non-ASCII spaces (NBSP, the ideographic space) are allowed, as a
    display name may hold them; an identifier may not, since they look like an ASCII space.
    """
    if text.isprintable():
        return []
    return [
        char
        for char in text
        if not char.isprintable()
        and not (allow_spaces and unicodedata.category(char) == SPACE_SEPARATOR)
    ]


def describe_character(char: str) -> str:
    """`U+001B (ESC)`-style name of a character, for error messages that must not print it."""
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(ord(char), "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


_CONTROL_NAMES = {0x00: "NUL", 0x09: "TAB", 0x0A: "LINE FEED", 0x0D: "CARRIAGE RETURN", 0x1B: "ESC"}


def identifier_problem(text: str) -> str | None:
    """Why `text` cannot be an identifier (a key, an id, a code), or None if it can.

    Identifiers are compared byte for byte, so text that looks the same must be the same:
    no surrounding whitespace (`x` and `x` + NBSP would be two keys that print alike) and no
    characters that do not print.
    """
    if text != text.strip():
        return "has leading or trailing whitespace (identifiers are compared exactly)"
    unsafe = unsafe_characters(text)
    if unsafe:
        return f"holds {describe_character(unsafe[0])}, which does not print"
    return None


def label_problem(text: str) -> str | None:
    """Why `text` cannot be a one-line label (a name, a title), or None if it can."""
    if not text.strip():
        return "must not be blank"
    unsafe = unsafe_characters(text, allow_spaces=True)
    if unsafe:
        return f"holds {describe_character(unsafe[0])}: a label is printable text on one line"
    return None


def for_terminal(text: str) -> str:
    """`text` with every character that does not print, except the line feed, written as a
    `\\uXXXX` escape, so that data can never move the cursor, recolour, overwrite or reorder
    what a terminal shows. The escape is JSON's own: JSON output escaped this way is still the
    same JSON value (outside its strings JSON text is ASCII)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() or char == "\n" else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:  # a UTF-16 surrogate pair, as JSON writes characters beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


class TerminalSafeStream:
    """A text stream that writes through `for_terminal`: every line a command prints, data
    and messages alike, is safe to show, wherever it goes (a terminal, a log, a pipe)."""

    def __init__(self, stream):
        self._stream = stream

    @property
    def raw(self):
        """The stream itself, for output the command draws (a progress bar's carriage
        returns), never for data."""
        return self._stream

    def write(self, text: str) -> int:
        self._stream.write(for_terminal(text))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
