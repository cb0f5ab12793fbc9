"""Applying a mapping to one record: values, maps, types, lengths, lookups and the problems that park it."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from shared.sync.mapping.evaluate import MappingValueError, evaluate
from shared.sync.mapping.load import parse_mapping
from shared.sync.mapping.model import EntityMapping
from shared.sync.registry import SCHEMAS

HEAD = """\
entity = "customers"

[account]
table = "account"
entity_set = "accounts"
key = "accountnumber"

[account.columns]
"""
MAPS = """
[maps.terms]
"30" = 1
"PREPAY" = ""

[maps.countries]
DE = "Germany"
"*" = "*"

[maps.strict]
a = 1
"""


def mapping(*rules: str) -> EntityMapping:
    return parse_mapping(HEAD + "\n".join(rules) + "\n" + MAPS, "customers.toml", SCHEMAS["customers"])


def values(view: Mapping[str, Mapping[str, object] | None], *rules: str) -> dict[str, object]:
    m = mapping(*rules)
    return evaluate(m, m.target("account"), view).values


def test_sources_constants_and_defaults() -> None:
    """A source value, a constant, and a default for an empty source."""
    view = {"customer": {"Name": "ACME", "Fax": None}}
    assert values(
        view,
        'name = "customer.Name"',
        "revenue = { value = 5 }",
        'fax = { from = "customer.Fax", default = "-" }',
    ) == {
        "name": "ACME",
        "revenue": 5,
        "fax": "-",
    }


def test_value_maps_translate_keep_and_empty() -> None:
    """A mapped value, a "*" = "*" fallback that keeps the value, and "" meaning no value."""
    rule_terms = 'paymenttermscode = { from = "customer.Terms", map = "terms" }'
    rule_country = 'address1_country = { from = "customer.Country", map = "countries" }'
    assert values({"customer": {"Terms": "30", "Country": "DE"}}, rule_terms, rule_country) == {
        "paymenttermscode": 1,
        "address1_country": "Germany",
    }
    assert values({"customer": {"Terms": "PREPAY", "Country": "CH"}}, rule_terms, rule_country) == {
        "paymenttermscode": None,
        "address1_country": "CH",
    }


def test_an_unmapped_value_is_a_problem_naming_the_rule_and_the_map() -> None:
    """No entry and no fallback: unmapped_value, with the rule's line and the map's."""
    with pytest.raises(MappingValueError) as caught:
        values(
            {"customer": {"Code": "b"}}, 'accountcategorycode = { from = "customer.Code", map = "strict" }'
        )
    assert caught.value.error_class == "unmapped_value"
    assert "customers.toml:9: account.columns.accountcategorycode" in str(caught.value)
    assert "value 'b' of customer.Code has no entry in value map 'strict' (customers.toml:" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("rule", "given", "expected"),
    [
        ('x = { from = "customer.V", type = "integer" }', "42", 42),
        ('x = { from = "customer.V", type = "money" }', 12.5, 12.5),
        ('x = { from = "customer.V", type = "boolean" }', "TRUE", True),
        ('x = { from = "customer.V", type = "date" }', "2025-11-12T08:00:00Z", "2025-11-12"),
        (
            'x = { from = "customer.V", type = "datetime" }',
            "2025-11-12T08:00:00+01:00",
            "2025-11-12T07:00:00Z",
        ),
        ('x = { from = "customer.V", type = "string" }', 7, "7"),
    ],
)
def test_types_convert(rule: str, given: object, expected: object) -> None:
    """Each type turns the source value into what the Web API expects."""
    assert values({"customer": {"V": given}}, rule)["x"] == expected


@pytest.mark.parametrize(
    ("rule", "given"),
    [
        ('x = { from = "customer.V", type = "integer" }', "4.5"),
        ('x = { from = "customer.V", type = "money" }', "NaN"),
        ('x = { from = "customer.V", type = "boolean" }', "maybe"),
        ('x = { from = "customer.V", type = "datetime" }', "2025-11-12T08:00:00"),
    ],
)
def test_bad_values_are_invalid_value_problems(rule: str, given: object) -> None:
    """A value its type cannot hold parks the record as invalid_value."""
    with pytest.raises(MappingValueError) as caught:
        values({"customer": {"V": given}}, rule)
    assert caught.value.error_class == "invalid_value"


def test_text_too_long_parks_unless_truncated() -> None:
    """max_length refuses longer text (value_too_long) unless truncate is set."""
    with pytest.raises(MappingValueError) as caught:
        values({"customer": {"Name": "x" * 11}}, 'name = { from = "customer.Name", max_length = 10 }')
    assert caught.value.error_class == "value_too_long"
    assert values(
        {"customer": {"Name": "x" * 11}},
        'name = { from = "customer.Name", max_length = 10, truncate = true }',
    ) == {"name": "x" * 10}


def test_required_and_missing_parts() -> None:
    """An empty required value is missing_value; a missing view part reads as empty."""
    with pytest.raises(MappingValueError) as caught:
        values({"customer": {}}, 'name = { from = "customer.Name", required = true }')
    assert caught.value.error_class == "missing_value"
    assert values({"bill_to": None}, 'address1_city = "bill_to.City"') == {"address1_city": None}


def test_lookups_are_left_to_resolve_and_columns_dynamics_owns_are_not_written() -> None:
    """A lookup becomes a pending lookup; an owner = "dynamics" column is not written by this flow."""
    m = mapping(
        'transactioncurrencyid = { from = "customer.Currency", lookup = { table = "transactioncurrency", '
        'by = "isocurrencycode", entity_set = "transactioncurrencies" } }',
        'description = { from = "customer.Note", owner = "dynamics" }',
    )
    evaluated = evaluate(m, m.target("account"), {"customer": {"Currency": "EUR", "Note": "n"}})
    assert evaluated.values == {}
    [lookup] = evaluated.lookups
    assert (lookup.rule.column, lookup.value) == ("transactioncurrencyid", "EUR")
