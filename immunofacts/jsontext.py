"""JSON as every command writes it: indented, exact, and safe to print.

Kept below the cache, so that the cache can store parts of an answer (a block of
the timeline) in the very text the command writes, and write them as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

#: Every character that a terminal does not show as itself, or that changes how
#: what follows is shown: C0 controls but tab and newline, DEL, C1 controls (ESC,
#: CSI, OSC, BEL among them), the soft hyphen, bidirectional marks, embeddings,
#: overrides and isolates (U+061C, U+200E/F, U+202A-E, U+2066-9), zero-width and
#: invisible characters (U+180E, U+200B-D, U+2060-U+2064, U+206A-F, U+FEFF), the
#: line and paragraph separators, interlinear annotation marks, and the tag
#: characters (U+E0000-U+E007F) that can hide text. The one list every output
#: format uses.
UNSAFE_CHARACTERS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f"
)

# Characters JSON may carry raw but that YAML parsers refuse or read as line
# breaks, and every character a terminal would not show as itself: written as
# \u escapes, the JSON holds the same data, stays a valid YAML document, and
# is safe to print.
_JSON_ESCAPE = re.compile(f"[{UNSAFE_CHARACTERS}\ufffe\uffff]")


def _json_escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def to_json(payload: Any) -> str:
    """Indented JSON, UTF-8, with a trailing newline; data kept exact.

    A string may hold what is not a character: a file name's bytes that are not UTF-8,
    as Python reads them from the system (a lone surrogate, U+DC80 to U+DCFF). UTF-8
    cannot carry that; JSON writes it as its escape (``"d\\udce9.yaml"``), which
    Python's `json` reads back as the same string."""
    import msgspec

    try:
        text = msgspec.json.format(msgspec.json.encode(payload), indent=2).decode()
    except UnicodeEncodeError:
        import json

        def raw(obj: Any) -> Any:  # a part encoded before (msgspec.Raw): read back
            if isinstance(obj, msgspec.Raw):
                return json.loads(bytes(obj))
            raise TypeError(f"cannot write {type(obj).__name__} as JSON")

        builtins = msgspec.to_builtins(payload, enc_hook=raw)
        text = json.dumps(builtins, indent=2, ensure_ascii=False)
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return escaped(text) + "\n"


#: Half of a surrogate pair alone: a byte of a name that is not UTF-8, as Python reads it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def escaped(text: str) -> str:
    """JSON text with what `to_json` escapes escaped (whitespace is not touched, so
    it may be indented before or after)."""
    if text.isascii() and "\x7f" not in text:  # the encoder escaped every other one
        return text
    return _JSON_ESCAPE.sub(_json_escape, text)


class Elements(str):
    """Elements of an indented JSON array, as `to_json` of a list writes them between
    its brackets: each line indented by two spaces, elements joined by ``,\\n``."""

    __slots__ = ()


class Encoded(bytes):
    """`Elements` already encoded as UTF-8, written as they are to a UTF-8 stream. A
    `memoryview` of such bytes is taken as the same, written without a copy."""

    __slots__ = ()


#: What separates two elements of an indented JSON array, in UTF-8.
ELEMENT_GAP = b",\n"


class Spread(tuple[bytes | memoryview, ...]):
    """`Encoded` elements (bytes, or views of them) not yet joined: written as the one
    `Encoded` that `joined` makes of them, which a writer to a file descriptor writes
    without making it, each piece where it is (`os.writev`)."""

    __slots__ = ()

    def joined(self) -> Encoded:
        return Encoded(ELEMENT_GAP.join(self))


def plain(piece: bytes | memoryview | Spread) -> bytes | memoryview:
    """A piece of text in bytes as one: a `Spread` joined."""
    return piece.joined() if isinstance(piece, Spread) else piece


#: Where one element ends and the next begins in an indented JSON array of objects.
_BETWEEN = b"\n  },\n  {\n"


def objects_apart(text: bytes, count: int) -> list[bytes]:
    """The elements of an indented JSON array of `count` objects (its text between the
    brackets, as `to_json` writes it), each as that text has it. It is cut where one
    ends and the next begins: only there does a line start with an element's braces
    (the lines within one are indented further, and a line break in JSON is only ever
    layout)."""
    if not count:
        return []
    parts = text.split(_BETWEEN)
    if len(parts) != count:
        raise AssertionError("objects indented apart from where each ends")
    last = count - 1
    return [
        (b"" if i == 0 else b"  {\n") + part + (b"" if i == last else b"\n  }")
        for i, part in enumerate(parts)
    ]


def elements(items: Sequence[Any]) -> Elements:
    """The elements of `items` as `Elements` (at least one)."""
    return Elements(to_json(items)[2:-3])  # "[\n" and "\n]\n" cut off
