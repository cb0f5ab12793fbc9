"""Mapping files: the shipped ones are valid; a bad one is refused, naming file, line and field per fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config.sync import SHIPPED_MAPPINGS
from shared.sync.mapping.lines import LineIndex
from shared.sync.mapping.load import MappingError, parse_mapping
from shared.sync.registry import SCHEMAS, mapping_problems

CUSTOMERS = SCHEMAS["customers"]
GOOD = """\
entity = "customers"

[account]
table = "account"
entity_set = "accounts"
key = "accountnumber"

[account.columns]
name = "customer.Name"
creditlimit = { from = "company.CreditLimit", type = "money" }
paymenttermscode = { from = "company.PayTermId", map = "terms" }

[maps.terms]
"30" = 1
"""


def with_columns(*lines: str, text: str = GOOD) -> str:
    """``text`` with rule lines added at the end of [account.columns] (lines 12, 13 …)."""
    return text.replace("\n[maps.terms]", "".join(f"{line}\n" for line in lines) + "\n[maps.terms]")


def problems(text: str) -> list[str]:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, "customers.toml", CUSTOMERS)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("entity", sorted(SCHEMAS))
def test_shipped_mapping_files_are_valid(entity: str) -> None:
    """Every flow's shipped mapping file passes its own validation."""
    assert mapping_problems(SHIPPED_MAPPINGS) == {}
    assert (SHIPPED_MAPPINGS / f"{entity}.toml").is_file()


def test_a_valid_file_reads_into_rules() -> None:
    """Shorthand and inline rules, value maps and the key column come through."""
    mapping = parse_mapping(GOOD, "customers.toml", CUSTOMERS)
    account = mapping.target("account")
    assert account.key == "accountnumber"
    assert [r.column for r in account.columns] == ["name", "creditlimit", "paymenttermscode"]
    assert account.columns[0].source == "customer.Name"
    assert account.columns[1].kind == "money"
    assert mapping.maps["terms"].entries == {"30": 1}
    assert account.columns[2].location.line == 11


def test_each_fault_is_named_with_file_line_and_field() -> None:
    """A typo'd option, an unknown view part, a missing value map and a bad type are all reported at once."""
    text = GOOD.replace('type = "money"', 'type = "cash"').replace('map = "terms"', 'map = "term"')
    text = text.replace('name = "customer.Name"', 'name = { form = "customer.Name" }')
    found = problems(with_columns('address1_city = "shipto.City"', text=text))
    assert "customers.toml:9: account.columns.name.form: unknown option" in found[0]
    assert any(
        p.startswith("customers.toml:9: account.columns.name: needs exactly one of 'from'") for p in found
    )
    assert any(
        p.startswith("customers.toml:10: account.columns.creditlimit.type: unknown type") for p in found
    )
    assert any(
        p.startswith("customers.toml:11: account.columns.paymenttermscode.map: no value map 'term'")
        for p in found
    )
    assert any(
        "customers.toml:12: account.columns.address1_city.from: no view part 'shipto'" in p for p in found
    )


def test_broken_toml_names_its_line() -> None:
    """A syntax error is reported with the line TOML's parser gives."""
    [found] = problems(GOOD.replace('table = "account"', 'table = "account'))
    assert found.startswith("customers.toml:4: : not valid TOML")


def test_structure_faults() -> None:
    """Wrong entity, missing target section, unknown section, mapping the key column."""
    text = GOOD.replace('entity = "customers"', 'entity = "orders"') + "\n[extras]\nx = 1\n"
    found = problems(text)
    assert any("customers.toml:1: entity: must say entity = 'customers' (found 'orders')" in p for p in found)
    extras_line = text.splitlines().index("[extras]") + 1
    assert any(f"customers.toml:{extras_line}: extras: unknown section" in p for p in found)
    found = problems(GOOD.replace('name = "customer.Name"', 'accountnumber = "customer.CustomerId"'))
    assert any(
        "account.columns.accountnumber: the key column is written from the IFS key" in p for p in found
    )
    found = problems('entity = "customers"\n')
    assert found == ["customers.toml:1: account: missing the [account] section (table account)"]


def test_options_are_checked_by_type_and_choice() -> None:
    """An option of the wrong type or outside its choices is refused."""
    text = GOOD.replace(
        "[account]\n", '[options]\nlink_existing = "email"\nblocked_fields = "X"\n\n[account]\n'
    )
    found = problems(text)
    assert any("options.link_existing: must be one of none, name, name+postalcode" in p for p in found)
    assert any("options.blocked_fields: must be list, not str" in p for p in found)


def test_lookup_rules_are_checked() -> None:
    """A lookup needs table and by (or a synced entity) and an entity set."""
    found = problems(
        with_columns(
            'transactioncurrencyid = { from = "company.CurrencyCode", lookup = { table = "currency" } }',
            'parentaccountid = { from = "customer.P", lookup = { entity = "vendors", entity_set = "x" } }',
        )
    )
    assert any(
        p.startswith(
            "customers.toml:12: account.columns.transactioncurrencyid.lookup: needs table = <logical name>"
        )
        for p in found
    )
    assert any("transactioncurrencyid.lookup.entity_set: must name the entity set" in p for p in found)
    assert any(
        "customers.toml:13: account.columns.parentaccountid.lookup.entity: unknown entity 'vendors'" in p
        for p in found
    )


def test_missing_file_is_a_mapping_problem(tmp_path: Path) -> None:
    """An absent mapping file disables its entity with a clear reason; the others are still checked."""
    for name in ("sales_parts", "orders", "quotations"):
        (tmp_path / f"{name}.toml").write_text((SHIPPED_MAPPINGS / f"{name}.toml").read_text())
    found = mapping_problems(tmp_path)
    assert list(found) == ["customers"]
    assert "customers.toml:1: : cannot read" in found["customers"][0]


def test_line_index_finds_headers_keys_and_inline_keys() -> None:
    """Dotted paths resolve to the line they are written on, else to their longest written prefix."""
    index = LineIndex('a = 1\n[b.c]\n"d e" = { f = 2, g.h = 3 }\n[[i]]\nj = 4\n')
    assert index.line_of(("a",)) == 1
    assert index.line_of(("b", "c")) == 2
    assert index.line_of(("b", "c", "d e", "g", "h")) == 3
    assert index.line_of(("i", "j")) == 5
    assert index.line_of(("b", "c", "zzz")) == 2
    assert index.line_of(("nowhere",)) == 1


def test_the_readme_example_adds_a_field_without_code() -> None:
    """The README's example line, added to the shipped customers.toml, is a valid new column rule."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    example = readme.split("### Mapping files", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    shipped = (SHIPPED_MAPPINGS / "customers.toml").read_text()
    mapping = parse_mapping(
        shipped.replace("[account.columns]\n", "[account.columns]\n" + example), "c.toml", CUSTOMERS
    )
    [rule] = [r for r in mapping.target("account").columns if r.column == "websiteurl"]
    assert (rule.source, rule.max_length) == ("customer.WebSite", 200)
    message = "customers.toml:35: account.columns.paymenttermscode.map: no value map 'terms'"
    assert message in readme
    assert message in problems(shipped.replace('map = "payment_terms"', 'map = "terms"'))[0]


def test_the_connectors_own_columns_must_say_their_text_length() -> None:
    """A column named ifs_… is created by provision as text: without type and length it is refused."""
    found = problems(
        with_columns(
            'ifs_state = "customer.Name"',
            'ifs_note = { from = "customer.Name", type = "string", max_length = 40 }',
        )
    )
    assert found == [
        "customers.toml:12: account.columns.ifs_state: a column named ifs_… is created by provision as text: "
        'give type = "string" and max_length'
    ]
    keyed = GOOD.replace('key = "accountnumber"', 'key = "ifs_customer"')
    [key_problem] = problems(keyed)
    assert key_problem.startswith("customers.toml:6: account.key: a key column named ifs_…")
