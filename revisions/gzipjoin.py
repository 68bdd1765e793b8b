"""Gzip a page made of a large, pre-compressed middle and small per-request ends, without
compressing the middle again on every request.

A raw deflate stream may be cut into pieces that each start from a fresh compressor and end on
a byte boundary with a non-final block (a full flush): a decoder reads them one after another,
and no piece refers back into another. The gzip trailer's CRC-32 of the whole page comes from
the pieces' CRCs with `crc32_combine` (polynomial arithmetic modulo the CRC polynomial, as in
zlib), so the middle is never read again either."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

_POLY = 0xEDB88320  # CRC-32, bit-reflected
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, mtime 0
LEVEL = 6


def _multmodp(a: int, b: int) -> int:
    """a(x) * b(x) modulo the CRC polynomial, in the reflected bit order."""
    m = 1 << 31
    product = 0
    while True:
        if a & m:
            product ^= b
            if not a & (m - 1):
                break
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1
    return product


def _x2n_table() -> list[int]:
    table = [1 << 30]  # x^1
    for _ in range(31):
        table.append(_multmodp(table[-1], table[-1]))
    return table


_X2N = _x2n_table()


def shift_operator(length: int) -> int:
    """x^(8 * length) modulo the polynomial: what appending `length` bytes does to a CRC."""
    product, k = 1 << 31, 3  # x^0; bytes are 2^3 bits
    while length:
        if length & 1:
            product = _multmodp(_X2N[k & 31], product)
        length >>= 1
        k += 1
    return product


def crc32_combine(crc1: int, crc2: int, length2: int, *, operator: int | None = None) -> int:
    """CRC-32 of A + B from crc(A), crc(B) and len(B)."""
    op = shift_operator(length2) if operator is None else operator
    return _multmodp(op, crc1) ^ crc2


def deflate_piece(data: bytes, *, final: bool) -> bytes:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(
        zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH
    )


@dataclass(frozen=True)
class Middle:
    """The pre-compressed middle of a page."""

    deflated: bytes
    crc: int
    length: int
    operator: int  # shift_operator(length), computed once

    @classmethod
    def of(cls, data: bytes) -> Middle:
        return cls(
            deflated=deflate_piece(data, final=False),
            crc=zlib.crc32(data),
            length=len(data),
            operator=shift_operator(len(data)),
        )


def gzip_join(head: bytes, middle: Middle, tail: bytes) -> bytes:
    """gzip(head + middle + tail), compressing only head and tail now."""
    crc = crc32_combine(zlib.crc32(head), middle.crc, middle.length, operator=middle.operator)
    crc = zlib.crc32(tail, crc)
    size = len(head) + middle.length + len(tail)
    return b"".join(
        (
            _GZIP_HEADER,
            deflate_piece(head, final=False),
            middle.deflated,
            deflate_piece(tail, final=True),
            struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF),
        )
    )


def accepts_gzip(accept_encoding: str) -> bool:
    """True when the client accepts gzip (and did not refuse it with q=0)."""
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "x-gzip"):
            continue
        q = params.strip()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False
