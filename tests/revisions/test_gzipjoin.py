"""The spliced gzip stream decodes to exactly the page (pure)."""

import gzip
import os
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from revisions.gzipjoin import Middle, accepts_gzip, crc32_combine, gzip_join


@settings(max_examples=200, deadline=None)
@given(a=st.binary(max_size=3000), b=st.binary(max_size=3000))
def test_crc32_combine_matches_zlib(a, b):
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@settings(max_examples=100, deadline=None)
@given(
    head=st.binary(max_size=2000),
    middle=st.binary(max_size=20000),
    tail=st.binary(max_size=2000),
)
def test_gzip_join_round_trips(head, middle, tail):
    joined = gzip_join(head, Middle.of(middle), tail)
    assert gzip.decompress(joined) == head + middle + tail


def test_a_large_repetitive_page_round_trips_and_shrinks():
    middle = (b"<p>The assistant should follow the chain of command.</p>\n" * 9000) + os.urandom(
        500
    )
    joined = gzip_join(b"<html><body>", Middle.of(middle), b"</body></html>")
    assert gzip.decompress(joined) == b"<html><body>" + middle + b"</body></html>"
    assert len(joined) < len(middle) / 5


def test_accept_encoding_parsing():
    assert accepts_gzip("gzip, deflate, br")
    assert accepts_gzip("br;q=1.0, gzip;q=0.8")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("identity")
    assert not accepts_gzip("")
