"""The OData ``$batch`` wire format (multipart/mixed) in both directions, for clients and simulators alike.

A batch body is a multipart/mixed document (RFC 2046). Each part is either one HTTP message
(``Content-Type: application/http``, ``Content-Transfer-Encoding: binary``, optional ``Content-ID``) or a
change set: a nested multipart/mixed document whose requests succeed or fail together. Responses mirror
the requests, a change set's responses nested the same way (OData v4 Part 1 §11.7; Dataverse's
"Execute batch operations" article, docs/dataverse-api.md, "Batch requests"; IFS documents the same format,
docs/ifs-api.md, "Batch requests").

Decoding is tolerant where real traffic varies: LF or CRLF line endings, header names in any case,
quoted or bare boundaries, transport padding after a delimiter, ``Content-ID`` in the part's MIME headers
(the standard place) or, failing that, in the inner HTTP headers, relative or absolute URLs, responses
without a body (204). ``Content-Length`` is ignored: the boundaries frame every part, and Microsoft's own
published samples carry ``Content-Length`` values that do not match their bodies. Anything structurally
wrong (no closing delimiter, a part without Content-Type, a bad request or status line, a nested change
set) raises :class:`BatchFormatError` naming the part. Decoded header names are lower-cased, so
``request.headers.get("if-match")`` works whatever the sender wrote. Encoding writes CRLF throughout.

Why not the stdlib ``email`` package: it parses MIME headers, but not the ``application/http`` payload
inside (a request line is not a header), it turns payloads into ``str``, and its generator rewrites line
endings inside bodies. RFC 2046 framing — the line break before a delimiter belongs to the delimiter, so a
body's own trailing bytes survive exactly — is short to do by hand on bytes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus


class BatchFormatError(ValueError):
    """A $batch body (or an item to encode) that breaks the multipart/HTTP format; the message says where."""


@dataclass(frozen=True)
class BatchRequest:
    """One request inside a batch. ``url`` is as written (relative, absolute, or a ``$1`` reference)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None
    content_id: str | None = None


@dataclass(frozen=True)
class ChangeSet:
    """Requests that succeed or fail together (the server runs them as one transaction)."""

    requests: list[BatchRequest]


@dataclass(frozen=True)
class BatchResponse:
    """One response inside a batch response; ``content_id`` echoes the request's."""

    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None


BatchRequestItem = BatchRequest | ChangeSet
BatchResponseItem = BatchResponse | list[BatchResponse]

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,./:=?-](?:[0-9A-Za-z'()+_,./:=? -]{0,68}[0-9A-Za-z'()+_,./:=?-])?")
_PARAMETER = re.compile(r';\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))\s*')
_REQUEST_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) +(\S.*?) +HTTP/\d\.\d")
_STATUS_LINE = re.compile(r"HTTP/\d\.\d +(\d{3})(?: +(.*))?")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_LINE_BREAK = re.compile(r"\r?\n")
_IDENTITY_ENCODINGS = ("binary", "8bit", "7bit")


# -- public API ----------------------------------------------------------------------------------------------
def encode_batch_request(
    items: Sequence[BatchRequestItem], *, boundary: str | None = None
) -> tuple[str, bytes]:
    """Encode a batch request; return (the Content-Type header value, with its boundary; the body)."""
    parts = [
        _request_part(item) if isinstance(item, BatchRequest) else _change_set_part(item) for item in items
    ]
    chosen = _choose_boundary(boundary, "batch", parts)
    return _multipart_content_type(chosen), _multipart(chosen, parts, closing_line_break=True)


def decode_batch_request(content_type: str, body: bytes) -> list[BatchRequestItem]:
    """Decode a batch request body sent with ``content_type``; raise BatchFormatError if malformed."""
    items: list[BatchRequestItem] = []
    for part in _parts(body, _batch_boundary(content_type), "batch part"):
        nested = _nested_boundary(part)
        if nested is None:
            items.append(_decode_request(part))
        else:
            items.append(ChangeSet([_decode_request(inner) for inner in _change_set_parts(part, nested)]))
    return items


def encode_batch_response(
    items: Sequence[BatchResponseItem], *, boundary: str | None = None
) -> tuple[str, bytes]:
    """Encode a batch response (a list item is one change set's responses); return (Content-Type, body)."""
    parts = [
        _response_part(item) if isinstance(item, BatchResponse) else _change_set_response_part(item)
        for item in items
    ]
    chosen = _choose_boundary(boundary, "batchresponse", parts)
    return _multipart_content_type(chosen), _multipart(chosen, parts, closing_line_break=True)


def decode_batch_response(content_type: str, body: bytes) -> list[BatchResponseItem]:
    """Decode a batch response body; a change set's responses come back as a nested list."""
    items: list[BatchResponseItem] = []
    for part in _parts(body, _batch_boundary(content_type), "batch response part"):
        nested = _nested_boundary(part)
        if nested is None:
            items.append(_decode_response(part))
        else:
            items.append([_decode_response(inner) for inner in _change_set_parts(part, nested)])
    return items


# -- decoding: multipart framing -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Part:
    label: str  # e.g. "batch part 2" or "batch part 1, change-set part 3", for error messages
    headers: dict[str, str]  # the part's MIME headers, names lower-cased
    payload: bytes


def _parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    media_type, _, _ = value.partition(";")
    parameters = {}
    for match in _PARAMETER.finditer(value, len(media_type)):
        quoted, bare = match.group(2), match.group(3)
        parameters[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
    return media_type.strip().lower(), parameters


def _batch_boundary(content_type: str) -> str:
    media_type, parameters = _parse_content_type(content_type)
    if media_type != "multipart/mixed":
        raise BatchFormatError(f"a $batch body must be multipart/mixed, not '{content_type}'")
    boundary = parameters.get("boundary")
    if not boundary:
        raise BatchFormatError(f"the Content-Type '{content_type}' has no boundary parameter")
    return boundary


def _split_multipart(body: bytes, boundary: str, label: str) -> list[bytes]:
    found = list(_delimiter(boundary).finditer(body))
    if not found:
        raise BatchFormatError(f"{label}s: no delimiter line '--{boundary}' in the body")
    parts: list[bytes] = []
    for current, following in zip(found, [*found[1:], None], strict=True):
        if current.group(1):
            return parts
        if following is None:
            break
        parts.append(body[_skip_line_break(body, current.end()) : following.start()])
    raise BatchFormatError(f"{label}s: the body ends without the closing delimiter '--{boundary}--'")


def _delimiter(boundary: str) -> re.Pattern[bytes]:
    # A delimiter is a line "--boundary" (plus "--" on the closing one, plus optional padding); the line
    # break before it belongs to the delimiter, so a part ends exactly where its content ends.
    return re.compile(rb"(?:\A|\r?\n)--" + re.escape(boundary.encode("utf-8")) + rb"(--)?[ \t]*(?=\r?\n|\Z)")


def _skip_line_break(data: bytes, index: int) -> int:
    if data.startswith(b"\r\n", index):
        return index + 2
    return index + 1 if data.startswith(b"\n", index) else index


def _split_head(data: bytes, label: str) -> tuple[list[str], bytes]:
    """Split a header block (start line and/or headers) from the body that follows the first blank line."""
    if data.startswith((b"\r\n", b"\n")):
        head, body = b"", data[_skip_line_break(data, 0) :]
    elif (blank := _BLANK_LINE.search(data)) is not None:
        head, body = data[: blank.start()], data[blank.end() :]
    else:  # headers only, up to the end of the part
        head, body = data.removesuffix(b"\n").removesuffix(b"\r"), b""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BatchFormatError(f"{label}: the header block is not UTF-8 ({error.reason})") from error
    return ([] if not text else _LINE_BREAK.split(text)), body


def _parse_headers(lines: list[str], label: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    last: str | None = None
    for line in lines:
        if line[:1] in (" ", "\t") and last is not None:  # obsolete line folding: continues the last header
            headers[last] = f"{headers[last]} {line.strip()}"
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _TOKEN.fullmatch(name):
            raise BatchFormatError(f"{label}: '{line}' is not a header line (Name: value)")
        last = name.lower()
        # Repeated headers combine into one comma-separated value (RFC 9110 §5.3).
        headers[last] = f"{headers[last]}, {value.strip()}" if last in headers else value.strip()
    return headers


def _parts(body: bytes, boundary: str, label: str) -> list[_Part]:
    parts: list[_Part] = []
    for number, raw in enumerate(_split_multipart(body, boundary, label), start=1):
        part_label = f"{label} {number}"
        lines, payload = _split_head(raw, part_label)
        if not lines:
            raise BatchFormatError(f"{part_label}: no MIME headers (Content-Type: application/http expected)")
        headers = _parse_headers(lines, part_label)
        encoding = headers.get("content-transfer-encoding", "binary").lower()
        if encoding not in _IDENTITY_ENCODINGS:
            raise BatchFormatError(f"{part_label}: Content-Transfer-Encoding '{encoding}' is not supported")
        parts.append(_Part(part_label, headers, payload))
    return parts


def _nested_boundary(part: _Part) -> str | None:
    """None for an application/http part, the change set's boundary for a multipart/mixed one."""
    content_type = part.headers.get("content-type")
    if content_type is None:
        raise BatchFormatError(f"{part.label}: no Content-Type header")
    media_type, parameters = _parse_content_type(content_type)
    if media_type == "application/http":
        return None
    if media_type == "multipart/mixed":
        if not parameters.get("boundary"):
            raise BatchFormatError(f"{part.label}: the change set's Content-Type has no boundary")
        return parameters["boundary"]
    raise BatchFormatError(
        f"{part.label}: Content-Type '{content_type}' is neither application/http nor multipart/mixed"
    )


def _change_set_parts(part: _Part, boundary: str) -> list[_Part]:
    inner = _parts(part.payload, boundary, f"{part.label}, change-set part")
    for item in inner:
        if _nested_boundary(item) is not None:
            raise BatchFormatError(f"{item.label}: change sets cannot be nested")
    return inner


# -- decoding: the HTTP message inside a part ------------------------------------------------------------
def _decode_request(part: _Part) -> BatchRequest:
    lines, body = _split_head(part.payload, part.label)
    if not lines:
        raise BatchFormatError(f"{part.label}: no request line")
    match = _REQUEST_LINE.fullmatch(lines[0].strip())
    if match is None:
        raise BatchFormatError(f"{part.label}: '{lines[0]}' is not a request line (METHOD URL HTTP/1.1)")
    headers = _parse_headers(lines[1:], part.label)
    content_id = part.headers.get("content-id", headers.get("content-id"))
    return BatchRequest(match.group(1), match.group(2), headers, body or None, content_id)


def _decode_response(part: _Part) -> BatchResponse:
    lines, body = _split_head(part.payload, part.label)
    if not lines:
        raise BatchFormatError(f"{part.label}: no status line")
    match = _STATUS_LINE.fullmatch(lines[0].strip())
    if match is None:
        raise BatchFormatError(f"{part.label}: '{lines[0]}' is not a status line (HTTP/1.1 200 OK)")
    headers = _parse_headers(lines[1:], part.label)
    content_id = part.headers.get("content-id", headers.get("content-id"))
    return BatchResponse(int(match.group(1)), match.group(2) or "", headers, body, content_id)


# -- encoding ----------------------------------------------------------------------------------------------
def _request_part(request: BatchRequest) -> bytes:
    if not _TOKEN.fullmatch(request.method):
        raise BatchFormatError(f"'{request.method}' is not an HTTP method")
    _check_text("URL", request.url)
    if not request.url.strip():
        raise BatchFormatError("a batch request needs a URL")
    start_line = f"{request.method} {request.url} HTTP/1.1"
    return _http_part(start_line, request.headers, request.body or b"", request.content_id)


def _response_part(response: BatchResponse) -> bytes:
    if not 100 <= response.status <= 599:
        raise BatchFormatError(f"{response.status} is not an HTTP status code")
    _check_text("reason phrase", response.reason)
    reason = response.reason or _standard_reason(response.status)
    status_line = f"HTTP/1.1 {response.status} {reason}".rstrip()
    return _http_part(status_line, response.headers, response.body, response.content_id)


def _standard_reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _http_part(start_line: str, headers: dict[str, str], body: bytes, content_id: str | None) -> bytes:
    mime_headers = {"Content-Type": "application/http", "Content-Transfer-Encoding": "binary"}
    if content_id is not None:
        mime_headers["Content-ID"] = content_id
    return _with_headers(mime_headers, _with_headers(headers, body, start_line=start_line))


def _change_set_part(change_set: ChangeSet) -> bytes:
    inner = [_request_part(request) for request in change_set.requests]
    boundary = _choose_boundary(None, "changeset", inner)
    content_type = {"Content-Type": _multipart_content_type(boundary)}
    return _with_headers(content_type, _multipart(boundary, inner, closing_line_break=False))


def _change_set_response_part(responses: list[BatchResponse]) -> bytes:
    inner = [_response_part(response) for response in responses]
    boundary = _choose_boundary(None, "changesetresponse", inner)
    content_type = {"Content-Type": _multipart_content_type(boundary)}
    return _with_headers(content_type, _multipart(boundary, inner, closing_line_break=False))


def _with_headers(headers: dict[str, str], body: bytes, *, start_line: str | None = None) -> bytes:
    lines = [] if start_line is None else [start_line]
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            raise BatchFormatError(f"'{name}' is not a valid header name")
        _check_text(f"the value of header {name}", value)
        lines.append(f"{name}: {value}")
    return "".join(f"{line}\r\n" for line in lines).encode("utf-8") + b"\r\n" + body


def _check_text(what: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise BatchFormatError(f"{what} must not contain a line break: {value!r}")


def _choose_boundary(given: str | None, prefix: str, parts: list[bytes]) -> str:
    if given is not None:
        if not _BOUNDARY.fullmatch(given):
            raise BatchFormatError(
                f"'{given}' is not a valid multipart boundary (RFC 2046: 1-70 safe characters)"
            )
        if _boundary_collides(given, parts):
            raise BatchFormatError(f"the boundary '{given}' occurs inside a part; choose another")
        return given
    while True:  # a random boundary colliding with content is astronomically unlikely, but check anyway
        candidate = f"{prefix}_{uuid.uuid4()}"
        if not _boundary_collides(candidate, parts):
            return candidate


def _boundary_collides(boundary: str, parts: list[bytes]) -> bool:
    # A part always follows a line break, so a delimiter line at its very start counts too.
    delimiter = _delimiter(boundary)
    return any(delimiter.search(part) for part in parts)


def _multipart_content_type(boundary: str) -> str:
    shown = boundary if _TOKEN.fullmatch(boundary) else '"' + boundary + '"'
    return f"multipart/mixed; boundary={shown}"


def _multipart(boundary: str, parts: list[bytes], *, closing_line_break: bool) -> bytes:
    delimiter = b"--" + boundary.encode("utf-8")
    body = b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts) + delimiter + b"--"
    return body + b"\r\n" if closing_line_break else body
