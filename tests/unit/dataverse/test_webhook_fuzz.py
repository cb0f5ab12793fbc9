"""Webhook parser under fuzzing: any bytes, text, JSON document or header set either parses or is refused.

"Refused" means WebhookPayloadError (the HTTP trigger's 400) with a message that can be logged; any other
exception would be a 500. A parsed context holds only Unicode text and numbers within .NET's range.

Bounded for ``make test``: fixed example counts, derandomized, no example database, no deadline (the
machine is shared). A long local run: ``WEBHOOK_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest
tests/unit/dataverse/test_webhook_fuzz.py -p no:cacheprovider -o timeout=0`` (random seeds, each test runs
that many examples).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shared.dataverse.webhook import (
    RemoteExecutionContext,
    WebhookHeaders,
    WebhookPayloadError,
    parse_remote_execution_context,
    parse_webhook_headers,
)

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "dataverse"
PAYLOADS = [VECTORS / "webhook-ms-docs-sample.json", *sorted((VECTORS / "webhook-captures").glob("*.json"))]
DOCUMENTS = [json.loads(path.read_bytes(), parse_float=Decimal) for path in PAYLOADS]

LONG_RUN = int(os.environ.get("WEBHOOK_FUZZ_EXAMPLES", "0"))


def fuzz_settings(examples: int) -> settings:
    """``examples`` per test in CI, reproducibly; WEBHOOK_FUZZ_EXAMPLES examples with fresh seeds locally."""
    return settings(
        max_examples=LONG_RUN or examples,
        derandomize=not LONG_RUN,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- what a run must show ---------------------------------------------------------------------------------

DOUBLE_MAX = Decimal("1.7976931348623157e308")


def assert_clean(value: Any) -> None:
    """Every string in a parsed value is UTF-8 encodable and every number finite within a double's range."""
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            node.encode("utf-8")
        elif isinstance(node, Decimal | int) and not isinstance(node, bool):
            assert Decimal(node).is_finite()
            assert Decimal(node).copy_abs() <= DOUBLE_MAX
        elif isinstance(node, Mapping):
            pending.extend(node.keys())
            pending.extend(node.values())
        elif isinstance(node, tuple | list):
            pending.extend(node)
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            pending.extend(getattr(node, field.name) for field in dataclasses.fields(node))
        else:
            assert node is None or isinstance(node, bool | UUID | datetime), type(node)


REASON_DETAIL = re.compile("[0-9('\"]")


def parse_or_refuse(
    body: bytes | str, headers: WebhookHeaders | None = None
) -> RemoteExecutionContext | None:
    """Parse ``body``: a context that passes assert_clean, or None for a refusal that can be logged."""
    try:
        context = parse_remote_execution_context(body, headers=headers)
    except WebhookPayloadError as error:
        refusal = error
    else:
        assert_clean(context)
        assert context.trimmed is (headers is not None and headers.size_exceeded)
        event("parsed")
        return context
    str(refusal).encode("utf-8")
    assert refusal.reason
    # How far inputs get (--hypothesis-show-statistics): the reason up to its first detail.
    event(f"refused: {REASON_DETAIL.split(refusal.reason, maxsplit=1)[0][:40].strip()}")
    return None


# --- strategies -------------------------------------------------------------------------------------------


class Number(str):
    """A JSON number written as given, so literals beyond float or Decimal reach the parser."""


SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
STRUCTURAL = st.sampled_from('{}[]":,\\/-.0123456789eE')
# One character in ten a surrogate, three in ten JSON punctuation or digits, the rest any code point.
CHARACTERS = st.integers(min_value=0, max_value=9).flatmap(
    lambda pick: SURROGATES if pick == 0 else STRUCTURAL if pick < 4 else st.characters()
)


def texts(max_size: int) -> st.SearchStrategy[str]:
    """Strings of CHARACTERS. Not st.text(CHARACTERS): text() quietly leaves the surrogates out of it."""
    return st.lists(CHARACTERS, max_size=max_size).map("".join)


TEXT = texts(12)
NUMBERS_IN_RANGE = st.from_regex(
    r"-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,2})?", fullmatch=True
)
# At the edges: three to 22 exponent digits (beyond a double; from 19 digits on beyond what Decimal can
# hold), integers past a double, and the limits themselves.
NUMBERS_AT_THE_EDGES = st.one_of(
    st.from_regex(r"-?[0-9](\.[0-9]{1,3})?[eE][+-]?[0-9]{3,22}", fullmatch=True),
    st.integers(min_value=10**300, max_value=10**400).map(str),
    st.sampled_from(
        [
            "1e9999999999999999999",
            "1e-9999999999999999999",
            "0E1000000000000000000",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "4.9406564584124654e-324",
            "4.9e-325",
            "79228162514264337593543950335",
            "-0.0",
        ]
    ),
)
# One number in ten from the edges: more would refuse most documents before their structure is looked at.
NUMBER_LITERALS = (
    st.integers(min_value=0, max_value=9)
    .flatmap(lambda pick: NUMBERS_AT_THE_EDGES if pick == 0 else NUMBERS_IN_RANGE)
    .map(Number)
)
TYPE_HINTS = st.sampled_from(
    [
        f"{name}:http://schemas.microsoft.com/xrm/2011/Contracts"
        for name in (
            "Entity",
            "EntityReference",
            "EntityCollection",
            "Money",
            "OptionSetValue",
            "QueryExpression",
            "AliasedValue",
        )
    ]
    + [
        "Guid:#System",
        "DateTime:#System",
        "KeyValuePairOfstringanyType:#System.Collections.Generic",
        "Entity:http://schemas.datacontract.org/2004/07/Nope",
        "Entity",
        ":",
    ]
)
MEMBER_NAMES = st.one_of(
    st.sampled_from(
        [
            "__type",
            "__value",
            "key",
            "value",
            "Value",
            "Id",
            "LogicalName",
            "Name",
            "Attributes",
            "FormattedValues",
            "KeyAttributes",
            "RelatedEntities",
            "RowVersion",
            "EntityState",
            "Entities",
            "EntityName",
            "MoreRecords",
            "PagingCookie",
            "TotalRecordCount",
            "Target",
        ]
    ),
    TEXT,
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    NUMBER_LITERALS,
    TEXT,
    st.sampled_from(
        [
            "6d81597f-0f9f-e711-8122-000d3aa2331c",
            "/Date(1506409448000-0700)/",
            "/Date(999999999999999999)/",
            "/Date(-999999999999999999)/",
        ]
    ),
    TYPE_HINTS,
)


def json_values(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """JSON trees over ``leaves``; objects are often typed (``__type`` first) and use Dataverse names."""

    def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        members = st.dictionaries(MEMBER_NAMES, children, max_size=5)
        typed = st.builds(lambda hint, rest: {"__type": hint, **rest}, TYPE_HINTS, members)
        pairs = st.lists(
            st.builds(lambda key, value: {"key": key, "value": value}, TEXT, children), max_size=3
        )
        return st.lists(children, max_size=4) | members | typed | pairs

    return st.recursive(leaves, containers, max_leaves=20)


JSON_VALUES = json_values(SCALARS)


def to_json(node: Any, *, ascii_only: bool) -> str:
    """JSON text for ``node``; Number literals as written; non-ASCII escaped or raw (surrogates stay raw)."""
    if isinstance(node, Number):
        return str(node)
    if isinstance(node, dict):
        members = (
            f"{to_json(key, ascii_only=ascii_only)}:{to_json(v, ascii_only=ascii_only)}"
            for key, v in node.items()
        )
        return "{" + ",".join(members) + "}"
    if isinstance(node, list):
        return "[" + ",".join(to_json(item, ascii_only=ascii_only) for item in node) + "]"
    if isinstance(node, Decimal):
        return str(node)
    return json.dumps(node, ensure_ascii=ascii_only)


def wire(node: Any, ascii_only: bool) -> bytes:
    """The body bytes; raw surrogates become their (invalid) UTF-8 form, as a broken sender would write."""
    return to_json(node, ascii_only=ascii_only).encode("utf-8", "surrogatepass")


def leaves(document: Any) -> list[tuple[Any, Any, Any]]:
    """Every (container, key, value) of a non-container value in ``document``."""
    found: list[tuple[Any, Any, Any]] = []
    pending = [document]
    while pending:
        node = pending.pop()
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(child, dict | list):
                pending.append(child)
            else:
                found.append((node, key, child))
    return found


def mutate_structure(draw: st.DrawFn, document: Any) -> None:
    """Walk down to a random container; replace, drop or add one of its members."""
    node = document
    while True:
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        containers = [child for _, child in children if isinstance(child, dict | list) and child]
        if not containers or draw(st.integers(min_value=0, max_value=5)) == 0:
            break
        node = draw(st.sampled_from(containers))
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    action = draw(st.sampled_from(["replace", "drop", "add"] if keys else ["add"]))
    if action == "replace":
        node[draw(st.sampled_from(keys))] = draw(JSON_VALUES)
    elif action == "drop":
        del node[draw(st.sampled_from(keys))]
    elif isinstance(node, dict):
        node[draw(MEMBER_NAMES)] = draw(JSON_VALUES)
    else:
        node.insert(draw(st.integers(min_value=0, max_value=len(node))), draw(JSON_VALUES))


def mutate_leaf(draw: st.DrawFn, document: Any) -> None:
    """Give one existing string or number a fuzzed value of its kind, where the parser accepts that kind."""
    found = leaves(document)
    strings = [leaf for leaf in found if isinstance(leaf[2], str)]
    numbers = [leaf for leaf in found if isinstance(leaf[2], int | Decimal) and not isinstance(leaf[2], bool)]
    if draw(st.booleans()) or not numbers:
        node, key, _ = draw(st.sampled_from(strings))
        node[key] = draw(TEXT)
    else:
        node, key, _ = draw(st.sampled_from(numbers))
        node[key] = draw(NUMBER_LITERALS)


@st.composite
def mutated_vectors(draw: st.DrawFn) -> Any:
    """A real payload with one to three changes: a string or number re-drawn, a member replaced or dropped."""
    document = copy.deepcopy(draw(st.sampled_from(DOCUMENTS)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        mutate = draw(st.sampled_from([mutate_structure, mutate_leaf]))
        mutate(draw, document)
    return document


VALID_HEADERS = {
    "x-ms-dynamics-organization": "orgname.crm.dynamics.com",
    "X-MS-Dynamics-Entity-Name": "contact",
    "x-ms-dynamics-request-name": "Update",
    "x-ms-correlation-request-id": "b374239d-4233-41a9-8b17-a86cb4f737b5",
    "x-ms-dynamics-msg-size-exceeded": "true",
    "x-request-id": "4af10637-4ea2-e711-8122-000d3aa2331c",
}
HEADER_VALUES = st.text(max_size=12) | st.sampled_from(["true", "false", "TRUE", " ", ""])


@st.composite
def header_sets(draw: st.DrawFn) -> dict[str, str]:
    """A valid header set with some headers dropped, some values replaced and random headers added."""
    headers = {
        name: draw(HEADER_VALUES) if draw(st.integers(min_value=0, max_value=4)) == 0 else value
        for name, value in VALID_HEADERS.items()
        if draw(st.integers(min_value=0, max_value=5))
    }
    extra = draw(st.dictionaries(st.sampled_from(list(VALID_HEADERS)) | st.text(max_size=8), HEADER_VALUES))
    if draw(st.booleans()):
        extra = {name.upper(): value for name, value in extra.items()}
    return {**headers, **extra}


# --- properties -------------------------------------------------------------------------------------------


def test_every_vector_parses_cleanly() -> None:
    """The vectors the fuzzing starts from parse, and their contexts pass the same checks."""
    for path in PAYLOADS:
        assert_clean(parse_remote_execution_context(path.read_bytes()))


@fuzz_settings(300)
@given(
    st.binary(max_size=300) | st.builds(lambda prefix: prefix + b'"\xed\xa0\x80"}', st.binary(max_size=20))
)
def test_any_bytes(body: bytes) -> None:
    """Arbitrary bytes (and UTF-8-encoded surrogates) parse or are refused."""
    parse_or_refuse(body)


@fuzz_settings(300)
@given(texts(300))
def test_any_text(body: str) -> None:
    """Arbitrary text, lone surrogates included, parses or is refused."""
    parse_or_refuse(body)


@fuzz_settings(400)
@given(JSON_VALUES, st.booleans())
def test_any_json_document(document: Any, ascii_only: bool) -> None:
    """Any JSON value, escaped or raw, with numbers of any size, parses or is refused."""
    parse_or_refuse(wire(document, ascii_only))
    parse_or_refuse(to_json(document, ascii_only=ascii_only))


@fuzz_settings(500)
@given(mutated_vectors(), st.booleans())
def test_any_change_to_a_real_payload(document: Any, ascii_only: bool) -> None:
    """Real payloads with values replaced, dropped or added anywhere parse or are refused."""
    parse_or_refuse(wire(document, ascii_only))


@fuzz_settings(200)
@given(header_sets(), st.sampled_from(PAYLOADS))
def test_any_header_set(headers: dict[str, str], payload: Path) -> None:
    """Any header set parses or is refused; a parsed one sets the context's trimmed flag, nothing else."""
    try:
        parsed = parse_webhook_headers(headers)
    except WebhookPayloadError as error:
        str(error).encode("utf-8")
        return
    context = parse_or_refuse(payload.read_bytes(), headers=parsed)
    assert context is not None
    assert dataclasses.replace(context, trimmed=False) == parse_remote_execution_context(payload.read_bytes())
