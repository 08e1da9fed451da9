"""Just enough of protobuf's wire format to walk a message's fields without its schema or a
protobuf library: what reading an ONNX file's metadata and signature needs. Any byte run that
is not a complete message raises ``Malformed``, never reads past its end.
"""

from __future__ import annotations

from collections.abc import Iterator

Span = tuple[int, int]  # [start, end) of a length-delimited field in the buffer


class Malformed(Exception):
    """The bytes are not a complete protobuf message."""


def varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise Malformed("a number runs past its message")
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return (value - (1 << 64) if value >= 1 << 63 else value), pos


def fields(buf: bytes, span: Span) -> Iterator[tuple[int, int | Span]]:
    """(field number, value) of a message: an int for a varint, a span for bytes; fixed-width skipped."""
    pos, end = span
    while pos < end:
        key, pos = varint(buf, pos, end)
        wire = key & 7
        if wire == 0:
            value, pos = varint(buf, pos, end)
            yield key >> 3, value
            continue
        if wire == 2:
            length, pos = varint(buf, pos, end)
            if length < 0 or pos + length > end:
                raise Malformed(f"a field of {length} bytes runs past the end")
            yield key >> 3, (pos, pos + length)
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise Malformed(f"wire type {wire} is not valid")
    if pos != end:
        raise Malformed("the last field runs past the end")


def span_of(value: int | Span) -> Span:
    if isinstance(value, int):
        raise Malformed("a message or string field holds a number")
    return value


def text(buf: bytes, value: int | Span) -> str:
    start, end = span_of(value)
    return buf[start:end].decode("utf-8", errors="replace")


def packed(buf: bytes, span: Span) -> list[int]:
    out, pos = [], span[0]
    while pos < span[1]:
        value, pos = varint(buf, pos, span[1])
        out.append(value)
    return out
