"""The edge's header parsing (gateway.server.parse_header_lines) gives the message the stdlib's
`http.client.parse_headers` gives, for plain headers (built directly) and odd ones (through the email parser)."""
import http.client
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.server import parse_header_lines


def _stdlib(lines: list[bytes]):
    return http.client.parse_headers(io.BytesIO(b"".join(lines) + b"\r\n"))


def _same(lines: list[bytes]) -> None:
    ours, theirs = parse_header_lines(lines), _stdlib(lines)
    assert ours.items() == theirs.items()
    assert ours.get_payload() == theirs.get_payload()
    for name in ("content-type", "Content-Length", "HOST", "x-missing"):
        assert ours.get(name) == theirs.get(name) and ours.get_all(name) == theirs.get_all(name)
    assert ours.get_content_type() == theirs.get_content_type()


def test_plain_headers():
    _same([b"Host: 127.0.0.1:8000\r\n", b"Authorization: Bearer abc.def\r\n", b"Accept: */*\r\n",
           b"Content-Type: application/json; charset=utf-8\r\n", b"Content-Length: 12\r\n",
           b"X-Empty:\r\n", b"X-Spaces: \t  padded  \r\n", b"X-Dup: 1\r\n", b"x-dup: 2\n",
           b"X-Latin: caf\xe9\r\n"])
    _same([])


def test_odd_headers_go_through_the_email_parser():
    _same([b"Host: a\r\n", b"X-Folded: one\r\n", b"  two\r\n", b"Accept: */*\r\n"])  # folded (obsolete)
    _same([b"Host: a\r\n", b"Bad Name: x\r\n", b"Accept: */*\r\n"])  # a space in a name: the rest is "body"
    _same([b"Host: a\r\n", b"no colon here\r\n"])
    _same([b"Host: a\r\n", b"X-Cr: one\rtwo\r\n", b"Accept: */*\r\n"])  # a bare CR: the email parser's line end
    _same([b"Host: a\r\n", b"X-Last: cut off"])  # the connection ended mid-line


_NAME = st.text(st.sampled_from("abcXYZ-_0!#:"), min_size=0, max_size=6)
_VALUE = st.text(st.sampled_from("ab \t:;=,\xe9/\r"), max_size=8)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(_NAME, st.sampled_from([":", ": ", " :", ""]), _VALUE, st.sampled_from(["\r\n", "\n"])),
                max_size=6))
def test_any_header_block_parses_as_the_stdlib_does(parts):
    lines = [f"{name}{sep}{value}{end}".encode("latin-1") for name, sep, value, end in parts]
    lines = [line for line in lines if line not in (b"\r\n", b"\n")]  # a blank line ends the block
    _same(lines)
