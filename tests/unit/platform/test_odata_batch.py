"""The OData $batch multipart codec: Microsoft's published exchanges, round trips, tolerance and errors."""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import json
from pathlib import Path
from typing import Any

import pytest

from shared.platform.odata_batch import (
    BatchFormatError,
    BatchRequest,
    BatchResponse,
    ChangeSet,
    decode_batch_request,
    decode_batch_response,
    encode_batch_request,
    encode_batch_response,
)

EXCHANGES = Path(__file__).resolve().parents[2] / "vectors" / "dataverse" / "http-exchanges"
REQUEST_VECTORS = sorted(path.name for path in EXCHANGES.glob("batch-*.request.http"))
RESPONSE_VECTORS = sorted(path.name for path in EXCHANGES.glob("batch-*.response.http"))
TASKS = "/api/data/v9.2/tasks"
ACCOUNT_BIND = "accounts(00000000-0000-0000-0000-000000000001)"


def read_exchange(name: str, *, line_break: str = "\n") -> tuple[dict[str, str], bytes]:
    """(outer headers, body bytes) of a vector, trailing whitespace stripped per line (see PROVENANCE.md)."""
    lines = [line.rstrip() for line in (EXCHANGES / name).read_text(encoding="utf-8").split("\n")]
    blank = lines.index("")
    headers = {}
    for line in lines[1:blank]:
        header, _, value = line.partition(":")
        headers[header.strip().lower()] = value.strip()
    return headers, line_break.join(lines[blank + 1 :]).encode("utf-8")


def request_vector(name: str, *, line_break: str = "\n") -> list[BatchRequest | ChangeSet]:
    headers, body = read_exchange(name, line_break=line_break)
    return decode_batch_request(headers["content-type"], body)


def response_content_type(body: bytes) -> str:
    """The published responses omit Content-Type; their boundary is on the first delimiter line."""
    first_line = body.lstrip().split(b"\n", 1)[0].rstrip(b"\r")
    return "multipart/mixed; boundary=" + first_line.removeprefix(b"--").decode("ascii")


def response_vector(name: str, *, line_break: str = "\n") -> list[BatchResponse | list[BatchResponse]]:
    _, body = read_exchange(name, line_break=line_break)
    return decode_batch_response(response_content_type(body), body)


def json_body(body: bytes | None) -> Any:
    assert body is not None
    return json.loads(body)


# -- Microsoft's published $batch exchanges ----------------------------------------------------------------
def test_changeset_request_decodes_to_a_change_set_and_a_get() -> None:
    """Three POSTs with Content-IDs 1-3 inside a change set, then a GET outside it."""
    change_set, get = request_vector("batch-changeset.request.http")
    assert isinstance(change_set, ChangeSet)
    assert [(r.method, r.url, r.content_id) for r in change_set.requests] == [
        ("POST", TASKS, "1"),
        ("POST", TASKS, "2"),
        ("POST", TASKS, "3"),
    ]
    for number, request in enumerate(change_set.requests, start=1):
        assert request.headers == {"content-type": "application/json; type=entry"}
        assert json_body(request.body) == {
            "subject": f"Task {number} in batch",
            "regardingobjectid_account_task@odata.bind": ACCOUNT_BIND,
        }
    assert get == BatchRequest(
        "GET", f"/api/data/v9.2/{ACCOUNT_BIND}/Account_Tasks?$select=subject", {}, None, None
    )


def test_content_id_references_survive_in_urls_and_bodies() -> None:
    """The `$1`/`$2` references in a later body come through untouched; URLs keep the doc's placeholder."""
    (change_set,) = request_vector("batch-changeset-content-id-reference.request.http")
    assert isinstance(change_set, ChangeSet)
    urls = [request.url for request in change_set.requests]
    assert urls == [
        f"[Organization URI]/api/data/v9.2/{entity}" for entity in ("leads", "contacts", "accounts")
    ]
    assert [request.content_id for request in change_set.requests] == ["1", "2", "3"]
    assert json_body(change_set.requests[1].body) == {"firstname": "first name"}
    assert json_body(change_set.requests[2].body) == {
        "name": "IcM Account",
        "originatingleadid@odata.bind": "$1",
        "primarycontactid@odata.bind": "$2",
    }


@pytest.mark.parametrize(
    "name",
    ["batch-continue-on-error.request.http", "batch-error-stops-without-continue-on-error.request.http"],
)
def test_error_handling_requests_ignore_the_mismatched_content_lengths(name: str) -> None:
    """The published parts declare Content-Length 436/439/250, which do not match; boundaries frame them."""
    items = request_vector(name)
    assert all(isinstance(item, BatchRequest) for item in items)
    requests = [item for item in items if isinstance(item, BatchRequest)]
    assert [(r.method, r.url, r.content_id) for r in requests] == [("POST", TASKS, None)] * 3
    subjects = [json_body(request.body)["subject"] for request in requests]
    assert subjects[0] == "Subject is too long " + "x" * 184
    assert subjects[1:] == ["Task 2 in batch", "Task 3 in batch"]


def test_changeset_response_nests_the_change_set_and_keeps_the_json_part() -> None:
    """Three 204s with Location/OData-EntityId inside the change set response, then a 200 with JSON."""
    change_set, query = response_vector("batch-changeset.response.http")
    assert isinstance(change_set, list)
    assert isinstance(query, BatchResponse)
    task_ids = ["e73ffc82", "e83ffc82", "e93ffc82"]
    for number, (response, task_id) in enumerate(zip(change_set, task_ids, strict=True), start=1):
        entity = f"[Organization Uri]/api/data/v9.2/tasks({task_id}-e292-ed11-aad1-000d3a9933c9)"
        assert response == BatchResponse(
            204,
            "No Content",
            {"odata-version": "4.0", "location": entity, "odata-entityid": entity},
            b"",
            str(number),
        )
    assert (query.status, query.reason, query.content_id) == (200, "OK", None)
    assert query.headers["content-type"] == "application/json; odata.metadata=minimal; odata.streaming=true"
    value = json_body(query.body)["value"]
    assert [row["subject"] for row in value] == ["Task 1 in batch", "Task 2 in batch", "Task 3 in batch"]
    assert value[0]["@odata.etag"] == 'W/"77181173"'


def test_content_id_reference_response() -> None:
    """The change set's three responses echo Content-IDs 1-3 and name the created leads, contact, account."""
    (change_set,) = response_vector("batch-changeset-content-id-reference.response.http")
    assert isinstance(change_set, list)
    assert [(r.status, r.content_id, r.body) for r in change_set] == [
        (204, "1", b""),
        (204, "2", b""),
        (204, "3", b""),
    ]
    entities = [response.headers["odata-entityid"].rsplit("/", 1)[1].split("(")[0] for response in change_set]
    assert entities == ["leads", "contacts", "accounts"]


def test_continue_on_error_response_has_the_error_and_both_successes() -> None:
    """With odata.continue-on-error: the 400 part (REQ_ID, error 0x80044331) and two 204 parts."""
    error, first, second = response_vector("batch-continue-on-error.response.http")
    assert isinstance(error, BatchResponse)
    assert (error.status, error.reason) == (400, "Bad Request")
    assert error.headers["req_id"] == "de4c5227-4a28-4ebd-8ced-3392ece1697b"
    assert json_body(error.body)["error"]["code"] == "0x80044331"
    assert [(r.status, r.body) for r in (first, second) if isinstance(r, BatchResponse)] == [
        (204, b""),
        (204, b""),
    ]


def test_error_stops_response_has_only_the_error() -> None:
    """Without continue-on-error the batch stops: one 400 part."""
    (error,) = response_vector("batch-error-stops-without-continue-on-error.response.http")
    assert isinstance(error, BatchResponse)
    assert error.status == 400
    assert json_body(error.body)["error"]["message"].startswith("A validation error occurred.")


@pytest.mark.parametrize("name", REQUEST_VECTORS)
def test_request_vectors_round_trip(name: str) -> None:
    """Decoding our own encoding of a published batch request gives the same items."""
    items = request_vector(name)
    content_type, body = encode_batch_request(items)
    assert decode_batch_request(content_type, body) == items


@pytest.mark.parametrize("name", RESPONSE_VECTORS)
def test_response_vectors_round_trip(name: str) -> None:
    """Decoding our own encoding of a published batch response gives the same items."""
    items = response_vector(name)
    content_type, body = encode_batch_response(items)
    assert decode_batch_response(content_type, body) == items


def shape(item: BatchRequest | ChangeSet | BatchResponse | list[BatchResponse]) -> Any:
    """Everything but the bodies' line breaks, with JSON bodies parsed."""
    if isinstance(item, ChangeSet):
        return [shape(request) for request in item.requests]
    if isinstance(item, list):
        return [shape(response) for response in item]
    body = json.loads(item.body) if item.body else None
    if isinstance(item, BatchRequest):
        return (item.method, item.url, item.headers, item.content_id, body)
    return (item.status, item.reason, item.headers, item.content_id, body)


@pytest.mark.parametrize("name", REQUEST_VECTORS)
def test_request_vectors_decode_the_same_with_crlf(name: str) -> None:
    """Real servers send CRLF; the LF-only Learn samples and their CRLF form decode alike."""
    lf, crlf = request_vector(name), request_vector(name, line_break="\r\n")
    assert [shape(item) for item in crlf] == [shape(item) for item in lf]


@pytest.mark.parametrize("name", RESPONSE_VECTORS)
def test_response_vectors_decode_the_same_with_crlf(name: str) -> None:
    """CRLF and LF responses decode alike."""
    lf, crlf = response_vector(name), response_vector(name, line_break="\r\n")
    assert [shape(item) for item in crlf] == [shape(item) for item in lf]


# -- encoding ----------------------------------------------------------------------------------------------
UPSERT = BatchRequest(
    "PATCH",
    "https://org.crm.dynamics.com/api/data/v9.2/accounts(accountnumber='C1')",
    {"Content-Type": "application/json", "If-Match": "*"},
    b'{"name":"Acme"}',
    "1",
)
ORDER_LINES = BatchRequest("POST", "$1/OrderLinesArray", {"If-Match": "$1"}, b'{"CatalogNo":"A"}', "2")
READ = BatchRequest("GET", "CustomerOrderSet(OrderNo='C1')?$select=OrderNo", {"Accept": "application/json"})


def test_encoded_request_is_crlf_multipart_with_the_parts_in_order() -> None:
    """The encoding is exact: CRLF everywhere, MIME headers, request line, headers, blank line, body."""
    content_type, body = encode_batch_request([ChangeSet([UPSERT]), READ], boundary="batch_1")
    assert content_type == "multipart/mixed; boundary=batch_1"
    changeset_boundary = body.split(b"boundary=", 1)[1].split(b"\r\n", 1)[0].decode()
    assert changeset_boundary.startswith("changeset_")
    expected = (
        "--batch_1\r\n"
        f"Content-Type: multipart/mixed; boundary={changeset_boundary}\r\n"
        "\r\n"
        f"--{changeset_boundary}\r\n"
        "Content-Type: application/http\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        "Content-ID: 1\r\n"
        "\r\n"
        "PATCH https://org.crm.dynamics.com/api/data/v9.2/accounts(accountnumber='C1') HTTP/1.1\r\n"
        "Content-Type: application/json\r\n"
        "If-Match: *\r\n"
        "\r\n"
        '{"name":"Acme"}\r\n'
        f"--{changeset_boundary}--\r\n"
        "--batch_1\r\n"
        "Content-Type: application/http\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        "\r\n"
        "GET CustomerOrderSet(OrderNo='C1')?$select=OrderNo HTTP/1.1\r\n"
        "Accept: application/json\r\n"
        "\r\n"
        "\r\n"
        "--batch_1--\r\n"
    )
    assert body.decode() == expected


def test_decoded_header_names_are_lower_case() -> None:
    """Whatever case the sender used, decoded names are lower-case; values are untouched."""
    content_type, body = encode_batch_request([ChangeSet([UPSERT, ORDER_LINES]), READ])
    change_set, read = decode_batch_request(content_type, body)
    assert isinstance(change_set, ChangeSet)
    assert change_set.requests == [
        BatchRequest(
            UPSERT.method, UPSERT.url, {"content-type": "application/json", "if-match": "*"}, UPSERT.body, "1"
        ),
        BatchRequest(ORDER_LINES.method, ORDER_LINES.url, {"if-match": "$1"}, ORDER_LINES.body, "2"),
    ]
    assert read == BatchRequest(READ.method, READ.url, {"accept": "application/json"}, None, None)


def test_the_stdlib_mime_parser_reads_our_encoding() -> None:
    """An independent multipart parser (email) finds the same parts, nesting and payloads."""
    content_type, body = encode_batch_request([ChangeSet([UPSERT, ORDER_LINES]), READ])
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    assert message.is_multipart()
    change_set, read = message.iter_parts()
    assert change_set.get_content_type() == "multipart/mixed"
    inner = list(change_set.iter_parts())
    assert [part["Content-ID"] for part in inner] == ["1", "2"]
    assert payload_text(inner[1]).startswith("POST $1/OrderLinesArray HTTP/1.1\r\nIf-Match: $1\r\n\r\n")
    assert read.get_content_type() == "application/http"
    assert payload_text(read).startswith("GET CustomerOrderSet(OrderNo='C1')?$select=OrderNo HTTP/1.1")


def payload_text(part: email.message.Message) -> str:
    payload = part.get_payload()
    assert isinstance(payload, str)
    return payload


BINARY = b"\x00\xff\r\n--batch_not_the_boundary\r\n\n\rline\r\n\r\n\r\n"


def test_bodies_round_trip_byte_for_byte() -> None:
    """Line breaks, NUL, non-UTF-8 bytes and trailing blank lines in a body come back exactly."""
    items: list[BatchRequest | ChangeSet] = [
        BatchRequest("POST", "/upload", {"Content-Type": "application/octet-stream"}, BINARY, "a"),
        ChangeSet([BatchRequest("PUT", "/x", {}, b"\r\n", "b"), BatchRequest("DELETE", "/y", {}, None, "c")]),
        ChangeSet([]),
    ]
    content_type, body = encode_batch_request(items, boundary="batch_not")
    decoded = decode_batch_request(content_type, body)
    first, change_set, empty = decoded
    assert isinstance(first, BatchRequest)
    assert first.body == BINARY
    assert isinstance(change_set, ChangeSet)
    assert [request.body for request in change_set.requests] == [b"\r\n", None]
    assert empty == ChangeSet([])


def test_responses_encode_with_standard_reasons_and_echoed_content_ids() -> None:
    """A blank reason becomes the standard phrase; Content-IDs go into the MIME headers of each part."""
    items: list[BatchResponse | list[BatchResponse]] = [
        [
            BatchResponse(204, "", {"OData-EntityId": "https://x/accounts(1)"}, b"", "1"),
            BatchResponse(201, "Created", {"Content-Type": "application/json"}, b'{"id":1}', "2"),
        ],
        BatchResponse(412, "", {}, b'{"error":{"code":"","message":"stale"}}'),
        BatchResponse(299, "", {}, b""),
    ]
    content_type, body = encode_batch_response(items)
    assert content_type.startswith("multipart/mixed; boundary=batchresponse_")
    assert b"boundary=changesetresponse_" in body
    assert b"Content-ID: 1\r\n\r\nHTTP/1.1 204 No Content\r\n" in body
    assert b"HTTP/1.1 412 Precondition Failed\r\n" in body
    assert b"\r\nHTTP/1.1 299\r\n" in body
    change_set, stale, unusual = decode_batch_response(content_type, body)
    assert isinstance(change_set, list)
    assert [(r.status, r.reason, r.content_id) for r in change_set] == [
        (204, "No Content", "1"),
        (201, "Created", "2"),
    ]
    assert isinstance(stale, BatchResponse)
    assert (stale.status, stale.reason, json_body(stale.body)["error"]["message"]) == (
        412,
        "Precondition Failed",
        "stale",
    )
    assert unusual == BatchResponse(299, "", {}, b"", None)


def test_a_boundary_that_needs_quotes_is_quoted() -> None:
    """A boundary with characters outside an HTTP token is quoted in the Content-Type and still decodes."""
    content_type, body = encode_batch_request([READ], boundary="batch 1:2")
    assert content_type == 'multipart/mixed; boundary="batch 1:2"'
    assert decode_batch_request(content_type, body) == [
        BatchRequest(READ.method, READ.url, {"accept": "application/json"}, None, None)
    ]


def test_empty_batches() -> None:
    """A batch with no parts encodes to the closing delimiter alone and decodes to nothing."""
    content_type, body = encode_batch_request([], boundary="b")
    assert body == b"--b--\r\n"
    assert decode_batch_request(content_type, body) == []
    assert decode_batch_response(*encode_batch_response([])) == []


# -- tolerance -----------------------------------------------------------------------------------------------
def test_decoding_tolerates_what_real_senders_vary() -> None:
    """Preamble/epilogue, padding, header case, folding, inner Content-ID, absolute URLs, mixed line ends."""
    body = (
        b"This is a preamble.\r\n"
        b"--b1   \r\n"
        b"content-type: APPLICATION/HTTP\r\n"
        b"CONTENT-TRANSFER-ENCODING: Binary\r\n"
        b"\r\n"
        b"PATCH https://acme.ifs.cloud/main/ifsapplications/projection/v1/CustomerOrderHandling.svc/"
        b"CustomerOrderSet(OrderNo='C1') HTTP/1.1\n"
        b'If-Match: W/"abc"\n'
        b"Content-ID: 7\n"
        b"X-Folded: first\r\n"
        b"\tsecond\r\n"
        b"X-Twice: a\r\n"
        b"x-twice: b\r\n"
        b"\n"
        b'{"CustomerPoNo":"P1"}\r\n'
        b"--b1\n"
        b'Content-Type: multipart/mixed;boundary="cs 1"\n'
        b"\n"
        b"--cs 1\n"
        b"Content-Type: application/http\n"
        b"Content-ID: 2\n"
        b"\n"
        b"DELETE CustomerOrderLineSet(LineNo='1',RelNo='1',OrderNo='C1',LineItemNo=0) HTTP/1.1\n"
        b"\n"
        b"--cs 1--\n"
        b"--b1--\r\n"
        b"This is an epilogue.\r\n"
    )
    patch, change_set = decode_batch_request('Multipart/Mixed; charset=utf-8; Boundary="b1"', body)
    assert patch == BatchRequest(
        "PATCH",
        "https://acme.ifs.cloud/main/ifsapplications/projection/v1/CustomerOrderHandling.svc/"
        "CustomerOrderSet(OrderNo='C1')",
        {"if-match": 'W/"abc"', "content-id": "7", "x-folded": "first second", "x-twice": "a, b"},
        b'{"CustomerPoNo":"P1"}',
        "7",
    )
    assert change_set == ChangeSet(
        [
            BatchRequest(
                "DELETE",
                "CustomerOrderLineSet(LineNo='1',RelNo='1',OrderNo='C1',LineItemNo=0)",
                {},
                None,
                "2",
            )
        ]
    )


def test_a_response_part_may_end_right_after_its_headers() -> None:
    """A 204 whose headers run straight into the next delimiter (no blank line) has an empty body."""
    body = (
        b"--r\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\n--r--"
    )
    assert decode_batch_response("multipart/mixed; boundary=r", body) == [
        BatchResponse(204, "No Content", {"odata-version": "4.0"}, b"", None)
    ]


# -- malformed input -----------------------------------------------------------------------------------------
GOOD_PART = b"Content-Type: application/http\r\n\r\nGET /x HTTP/1.1\r\n\r\n"


@pytest.mark.parametrize(
    ("content_type", "body", "fragment"),
    [
        ("application/json", b"{}", "a $batch body must be multipart/mixed, not 'application/json'"),
        ("multipart/mixed", b"--b--", "has no boundary parameter"),
        ("multipart/mixed; boundary=b", b"GET /x HTTP/1.1\r\n", "no delimiter line '--b' in the body"),
        ("multipart/mixed; boundary=b", b"--b\r\n" + GOOD_PART, "ends without the closing delimiter '--b--'"),
        ("multipart/mixed; boundary=b", b"--bb\r\n" + GOOD_PART + b"\r\n--bb--", "no delimiter line '--b'"),
        ("multipart/mixed; boundary=b", b"--b\r\n--b--", "batch part 1: no MIME headers"),
        (
            "multipart/mixed; boundary=b",
            b"--b\r\n\r\nGET /x HTTP/1.1\r\n--b--",
            "batch part 1: no MIME headers",
        ),
        (
            "multipart/mixed; boundary=b",
            b"--b\r\nContent-ID: 1\r\n\r\nGET /x HTTP/1.1\r\n--b--",
            "batch part 1: no Content-Type header",
        ),
        (
            "multipart/mixed; boundary=b",
            b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--",
            "batch part 1: Content-Type 'text/plain' is neither application/http nor multipart/mixed",
        ),
        (
            "multipart/mixed; boundary=b",
            b"--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: base64\r\n\r\nR0VU\r\n"
            b"--b--",
            "Content-Transfer-Encoding 'base64' is not supported",
        ),
        (
            "multipart/mixed; boundary=b",
            b"--b\r\nContent-Type: application/http\r\n\r\nGET /x\r\n\r\n--b--",
            "batch part 1: 'GET /x' is not a request line (METHOD URL HTTP/1.1)",
        ),
        (
            "multipart/mixed; boundary=b",
            b"--b\r\nContent-Type: application/http\r\n\r\nGET /x HTTP/1.1\r\nNoColonHere\r\n\r\n--b--",
            "batch part 1: 'NoColonHere' is not a header line (Name: value)",
        ),
        (
            "multipart/mixed; boundary=b",
            b"--b\r\nContent-Type: application/http\r\n\r\n\r\n--b--",
            "batch part 1: no request line",
        ),
        (
            "multipart/mixed; boundary=b",
            b"--b\r\nBad Header: x\r\n\r\nGET /x HTTP/1.1\r\n--b--",
            "batch part 1: 'Bad Header: x' is not a header line",
        ),
        (
            "multipart/mixed; boundary=b",
            b"--b\r\nContent-Type: multipart/mixed\r\n\r\n--c\r\n--c--\r\n--b--",
            "batch part 1: the change set's Content-Type has no boundary",
        ),
        (
            "multipart/mixed; boundary=b",
            b"--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n" + GOOD_PART + b"\r\n--b--",
            "batch part 1, change-set parts: the body ends without the closing delimiter '--c--'",
        ),
        (
            "multipart/mixed; boundary=b",
            b"--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n"
            b"Content-Type: multipart/mixed; boundary=d\r\n\r\n--d\r\n"
            + GOOD_PART
            + b"\r\n--d--\r\n--c--\r\n--b--",
            "batch part 1, change-set part 1: change sets cannot be nested",
        ),
        (
            "multipart/mixed; boundary=b",
            b"--b\r\nContent-Type: application/http\r\n\r\nGET /\xe9 HTTP/1.1\r\n\r\n--b--",
            "batch part 1: the header block is not UTF-8",
        ),
    ],
)
def test_malformed_batch_requests_are_rejected_with_the_reason(
    content_type: str, body: bytes, fragment: str
) -> None:
    """A broken batch names the part and the problem instead of losing requests."""
    with pytest.raises(BatchFormatError) as caught:
        decode_batch_request(content_type, body)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"200 OK\r\n\r\n", "'200 OK' is not a status line (HTTP/1.1 200 OK)"),
        (b"HTTP/1.1 OK\r\n\r\n", "'HTTP/1.1 OK' is not a status line"),
        (b"HTTP/1.1 2000 Huge\r\n\r\n", "is not a status line"),
        (b"\r\n", "batch response part 1: no status line"),
    ],
)
def test_malformed_batch_responses_are_rejected(payload: bytes, fragment: str) -> None:
    """A response part needs an HTTP status line."""
    body = b"--r\r\nContent-Type: application/http\r\n\r\n" + payload + b"\r\n--r--"
    with pytest.raises(BatchFormatError) as caught:
        decode_batch_response("multipart/mixed; boundary=r", body)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("item", "boundary", "fragment"),
    [
        (BatchRequest("GET", "/x", {"X-Bad": "a\r\nInjected: 1"}), None, "must not contain a line break"),
        (BatchRequest("GET", "/x", {"Bad Name": "a"}), None, "'Bad Name' is not a valid header name"),
        (BatchRequest("GET", "/x", {"": "a"}), None, "'' is not a valid header name"),
        (BatchRequest("GE T", "/x", {}), None, "'GE T' is not an HTTP method"),
        (BatchRequest("GET", "/x\nHost: evil", {}), None, "URL must not contain a line break"),
        (BatchRequest("GET", " ", {}), None, "a batch request needs a URL"),
        (BatchRequest("GET", "/x", {}, None, "1\r\n"), None, "must not contain a line break"),
        (BatchRequest("GET", "/x", {}), "", "'' is not a valid multipart boundary"),
        (BatchRequest("GET", "/x", {}), "x" * 71, "is not a valid multipart boundary"),
        (BatchRequest("GET", "/x", {}), "ends-with-space ", "is not a valid multipart boundary"),
        (BatchRequest("GET", "/x", {}), 'quote"d', "is not a valid multipart boundary"),
        (
            BatchRequest("POST", "/x", {}, b"--batch_1\r\n"),
            "batch_1",
            "the boundary 'batch_1' occurs inside a part",
        ),
    ],
)
def test_unencodable_requests_are_refused(item: BatchRequest, boundary: str | None, fragment: str) -> None:
    """Header injection, invalid names and unusable boundaries raise instead of producing a broken batch."""
    with pytest.raises(BatchFormatError) as caught:
        encode_batch_request([item], boundary=boundary)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (BatchResponse(99, "", {}, b""), "99 is not an HTTP status code"),
        (BatchResponse(600, "", {}, b""), "600 is not an HTTP status code"),
        (BatchResponse(200, "OK\r\nX: 1", {}, b""), "reason phrase must not contain a line break"),
    ],
)
def test_unencodable_responses_are_refused(response: BatchResponse, fragment: str) -> None:
    """A status outside 100-599 or a reason with a line break cannot be encoded."""
    with pytest.raises(BatchFormatError) as caught:
        encode_batch_response([response])
    assert fragment in str(caught.value)
