"""What reconcile and check judge without a network: values, privileges, columns, fields and keys."""

from __future__ import annotations

import uuid
from decimal import Decimal

from shared.config.sync import SHIPPED_MAPPINGS
from shared.sync import customers, products
from shared.sync.checks import (
    column_results,
    field_results,
    key_results,
    needed_privileges,
    privilege_results,
)
from shared.sync.mapping.load import load_mapping
from shared.sync.plan import TargetRow
from shared.sync.reconcile import compare_row, same
from shared.sync.registry import PART_SOURCES, REFERENCE_PRIVILEGES, ROOT_ROWS, mapping_path

CUSTOMERS = load_mapping(mapping_path(SHIPPED_MAPPINGS, "customers"), customers.SCHEMA)
PARTS = load_mapping(mapping_path(SHIPPED_MAPPINGS, "sales_parts"), products.SCHEMA)


def test_values_compare_as_dataverse_stores_them() -> None:
    """Empty equals absent; numbers to four places; booleans exactly; text case-sensitively."""
    assert same(None, "")
    assert same(1000.0, 1000)
    assert same(12.34, Decimal("12.3400"))
    assert not same(12.34, 12.35)
    assert same(True, True)
    assert not same(False, 0)
    assert not same("Acme", "ACME")
    assert not same(1, None)


def test_a_row_compares_columns_binds_and_presence() -> None:
    """Binds compare with the lookup's _value; annotations are skipped; deletes want the row gone."""
    target = CUSTOMERS.target("account")
    currency = uuid.uuid4()
    row = TargetRow(
        target,
        {"accountnumber": "C1"},
        {
            "name": "Acme",
            "creditlimit": 10.0,
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({currency})",
            "x@OData.Community.Display.V1.FormattedValue": "ignored",
        },
    )
    current = {"name": "Acme", "creditlimit": 10, "_transactioncurrencyid_value": str(currency).upper()}
    assert compare_row(row, current) == []
    assert compare_row(row, {**current, "name": "Other", "_transactioncurrencyid_value": None}) == [
        ("name", "Acme", "Other"), ("transactioncurrencyid", str(currency), None)
    ]  # fmt: skip
    assert compare_row(row, None) == [("(row)", "present", "absent")]
    gone = TargetRow(target, uuid.uuid4(), {}, delete=True)
    assert compare_row(gone, None) == []
    assert compare_row(gone, {"name": "x"}) == [("(row)", "removed", "present")]


def test_privileges_needed_follow_the_mappings_and_the_flows() -> None:
    """Read/Create/Write on written tables, Read on lookup tables, and the flows' own reference rows."""
    needed = needed_privileges([CUSTOMERS, PARTS], REFERENCE_PRIVILEGES)
    assert needed["account"] == {"Read", "Create", "Write"}
    assert needed["transactioncurrency"] == {"Read"}
    assert needed["uomschedule"] == {"Read", "Create"}
    assert needed["productpricelevel"] == {"Read", "Create", "Write", "Delete"}


def test_privilege_results_fail_on_missing_and_warn_below_global() -> None:
    """A missing privilege names itself and the fix; a Basic one is a warning; all Global is ok."""
    ids = {kind: uuid.uuid4() for kind in ("Read", "Create", "Write")}
    table = {"account": {kind: (f"prv{kind}Account", ids[kind]) for kind in ids}}
    needed = {"account": {"Read", "Create", "Write"}}
    everything = {ids[k]: (f"prv{k}Account", "Global") for k in ids}
    [ok] = privilege_results(needed, table, everything)
    assert ok.status == "ok"
    [missing] = privilege_results(needed, table, {k: v for k, v in everything.items() if k != ids["Create"]})
    assert (missing.status, missing.detail) == ("fail", "missing prvCreateAccount")
    assert missing.fix.startswith("grant the application user Create on account")
    [basic] = privilege_results(needed, table, {**everything, ids["Write"]: ("prvWriteAccount", "Basic")})
    assert basic.status == "warn"


def test_columns_and_fields_are_checked_against_metadata() -> None:
    """A column the table lacks or cannot write fails; so does an IFS field its entity type lacks."""
    account = {rule.column: (True, True) for rule in CUSTOMERS.target("account").columns} | {
        "accountnumber": (True, True)
    }
    [ok] = column_results(CUSTOMERS, {"account": account})
    assert ok.status == "ok"
    [bad] = column_results(CUSTOMERS, {"account": {**account, "creditlimit": (False, False)}})
    assert bad.detail == "creditlimit cannot be written (neither on create nor on update)"
    [unread] = column_results(CUSTOMERS, {})
    assert unread.status == "skip"
    names = frozenset({"Name", "CreditLimit", "CreditBlocked", "PayTermId", "CurrencyCode", "Company"})
    address = frozenset({"Address1", "Address2", "ZipCode", "City", "State", "Country", "Name"})
    fields = {ROOT_ROWS: names, "addresses": address, "comm_methods": frozenset({"Value", "Method"})}
    [fine] = field_results(CUSTOMERS, PART_SOURCES["customers"], fields)
    assert fine.status == "ok"
    assert "computed or unchecked parts: status" in fine.detail
    [missing] = field_results(
        CUSTOMERS, PART_SOURCES["customers"], {**fields, "addresses": address - {"City"}}
    )
    assert missing.status == "fail"
    assert "City is not a field of the addresses collection" in missing.detail
    assert "customers.toml:" in missing.detail


def test_alternate_keys_must_be_active() -> None:
    """Active is ok; missing or still building: provision; failed: fix the data and reactivate."""
    results = key_results([CUSTOMERS, PARTS], {"account": {"ifs_accountnumber": "Active"}, "product": {}})
    assert [(r.name, r.status) for r in results] == [
        ("alternate key ifs_accountnumber on account", "ok"),
        ("alternate key ifs_productnumber on product", "fail"),
    ]
    assert "provision" in results[1].fix
    [failed] = key_results([CUSTOMERS], {"account": {"IFS_AccountNumber": "Failed"}})
    assert "reactivate" in failed.fix
