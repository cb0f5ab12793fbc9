"""Dataverse simulator fidelity over HTTPS: collation, query functions, query languages and options.

Also metadata casts and writes, URL limits and x-ms-dop-hint, and the collation of alternate keys.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from tests.integration.dataverse.conftest import DataverseStack

FORMATTED = "OData.Community.Display.V1.FormattedValue"


def send(
    dataverse: DataverseStack,
    method: str,
    path: str,
    *,
    params: Mapping[str, str] | None = None,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    with dataverse.raw() as http:
        return http.request(
            method,
            f"{dataverse.url}/api/data/v9.2/{path}",
            params=params,
            json=body,
            headers={
                "Authorization": f"Bearer {dataverse.token()}",
                "Accept": "application/json",
                **(headers or {}),
            },
        )


def values(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["value"]
    return found


def create(dataverse: DataverseStack, entity_set: str, body: dict[str, Any]) -> str:
    response = send(dataverse, "POST", entity_set, body=body)
    assert response.status_code == 204, response.text
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def names(dataverse: DataverseStack, query: Mapping[str, str]) -> list[str]:
    return sorted(
        r["name"] for r in values(send(dataverse, "GET", "accounts", params={"$select": "name", **query}))
    )


@pytest.fixture
def accounts(dataverse: DataverseStack) -> dict[str, str]:
    """Three accounts; name -> id."""
    found = {}
    for name, employees in (("Contoso Ltd", 10), ("Fabrikam", 50), ("Adventure Works", 500)):
        found[name] = create(dataverse, "accounts", {"name": name, "numberofemployees": employees})
    return found


def test_string_filters_are_case_insensitive(dataverse: DataverseStack, accounts: dict[str, str]) -> None:
    """filter-rows: 'All filters using string values are case insensitive'."""
    assert names(dataverse, {"$filter": "name eq 'contoso ltd'"}) == ["Contoso Ltd"]
    assert names(dataverse, {"$filter": "contains(name,'CONTOSO')"}) == ["Contoso Ltd"]
    assert names(dataverse, {"$filter": "startswith(name,'adv%wor')"}) == ["Adventure Works"]


def test_query_functions(dataverse: DataverseStack, accounts: dict[str, str]) -> None:
    """In, NotIn, Between, EqualUserId and the date functions select the rows they document."""
    ins = 'Microsoft.Dynamics.CRM.In(PropertyName=\'name\',PropertyValues=["fabrikam","CONTOSO LTD"])'
    assert names(dataverse, {"$filter": ins}) == ["Contoso Ltd", "Fabrikam"]
    not_in = "Microsoft.Dynamics.CRM.NotIn(PropertyName=@p,PropertyValues=@v)"
    assert names(dataverse, {"$filter": not_in, "@p": "'name'", "@v": '["Fabrikam"]'}) == [
        "Adventure Works",
        "Contoso Ltd",
    ]
    between = 'Microsoft.Dynamics.CRM.Between(PropertyName=\'numberofemployees\',PropertyValues=["5","100"])'
    assert names(dataverse, {"$filter": between}) == ["Contoso Ltd", "Fabrikam"]
    assert (
        len(names(dataverse, {"$filter": "Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')"})) == 3
    )
    assert len(names(dataverse, {"$filter": "Microsoft.Dynamics.CRM.Today(PropertyName='createdon')"})) == 3
    assert names(dataverse, {"$filter": "Microsoft.Dynamics.CRM.Yesterday(PropertyName='createdon')"}) == []
    last = "Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=3)"
    assert len(names(dataverse, {"$filter": last})) == 3
    bad = send(
        dataverse,
        "GET",
        "accounts",
        params={"$filter": "Microsoft.Dynamics.CRM.In(PropertyName='nosuch',PropertyValues=[\"a\"])"},
    )
    assert bad.status_code == 400


def test_hierarchy_functions_follow_parent_accounts(dataverse: DataverseStack) -> None:
    """Under/UnderOrEqual/Above walk parentaccountid."""
    top = create(dataverse, "accounts", {"name": "Top"})
    middle = create(
        dataverse, "accounts", {"name": "Middle", "parentaccountid@odata.bind": f"/accounts({top})"}
    )
    create(dataverse, "accounts", {"name": "Leaf", "parentaccountid@odata.bind": f"/accounts({middle})"})
    under = f"Microsoft.Dynamics.CRM.Under(PropertyName='accountid',PropertyValue='{top}')"
    assert names(dataverse, {"$filter": under}) == ["Leaf", "Middle"]
    above = f"Microsoft.Dynamics.CRM.AboveOrEqual(PropertyName='accountid',PropertyValue='{middle}')"
    assert names(dataverse, {"$filter": above}) == ["Middle", "Top"]


def test_unknown_query_options_are_refused(dataverse: DataverseStack, accounts: dict[str, str]) -> None:
    """Never answer a query the simulator did not understand."""
    assert send(dataverse, "GET", "accounts", params={"$frobnicate": "1"}).status_code == 400
    assert send(dataverse, "GET", "accounts", params={"savedQuery": str(uuid.uuid4())}).status_code == 501
    assert send(dataverse, "GET", "accounts", params={"$apply": "aggregate($count as n)"}).status_code == 501
    assert send(dataverse, "GET", "accounts", params={"color": "blue"}).status_code == 400
    record = send(dataverse, "GET", f"accounts({accounts['Fabrikam']})", params={"$filter": "name eq 'x'"})
    assert record.status_code == 400


def test_sql_and_fetchxml_are_served_or_refused(dataverse: DataverseStack, accounts: dict[str, str]) -> None:
    """?sql= and ?fetchXml= answer what they ask for, or 400: never every row and column."""
    sql = (
        "SELECT TOP 1 name, numberofemployees FROM account WHERE name LIKE '%o%' "
        "ORDER BY numberofemployees DESC"
    )
    assert values(send(dataverse, "GET", "accounts", params={"sql": sql})) == [
        {"name": "Adventure Works", "numberofemployees": 500}
    ]
    for refused in (
        "SELECT * FROM account",
        "SELECT name FROM contact",
        "DELETE FROM account",
        "SELECT a.name FROM account a JOIN contact c ON a.accountid = c.parentcustomerid",
    ):
        assert send(dataverse, "GET", "accounts", params={"sql": refused}).status_code == 400, refused
    fetch = (
        '<fetch><entity name="account"><attribute name="name"/>'
        '<filter type="or"><condition attribute="name" operator="eq" value="FABRIKAM"/>'
        '<condition attribute="numberofemployees" operator="gt" value="400"/></filter>'
        '<order attribute="name" descending="true"/></entity></fetch>'
    )
    rows = values(send(dataverse, "GET", "accounts", params={"fetchXml": fetch}))
    assert [r["name"] for r in rows] == ["Fabrikam", "Adventure Works"]
    assert set(rows[0]) == {"@odata.etag", "name", "accountid"}
    joined = (
        '<fetch><entity name="account">'
        '<link-entity name="contact" from="parentcustomerid" to="accountid"/></entity></fetch>'
    )
    assert send(dataverse, "GET", "accounts", params={"fetchXml": joined}).status_code == 400
    paged = (
        '<fetch count="2"><entity name="account"><attribute name="name"/>'
        '<order attribute="name"/></entity></fetch>'
    )
    response = send(
        dataverse, "GET", "accounts", params={"fetchXml": paged},
        headers={"Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.*"'},
    )  # fmt: skip
    body = response.json()
    assert body["@Microsoft.Dynamics.CRM.morerecords"] is True
    assert body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"].startswith('<cookie pagenumber="2"')


def test_attribute_metadata_by_type_cast_with_option_sets(dataverse: DataverseStack) -> None:
    """The SDK's picklist read and the single-attribute cast of 'Query table definitions'."""
    path = (
        "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
    )
    picklists = values(
        send(
            dataverse, "GET", path, params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"}
        )
    )
    industry = next(p for p in picklists if p["LogicalName"] == "industrycode")
    assert {"Value": 1, "Label": "Accounting"}.items() <= {
        "Value": industry["OptionSet"]["Options"][0]["Value"],
        "Label": industry["OptionSet"]["Options"][0]["Label"]["UserLocalizedLabel"]["Label"],
    }.items()
    assert all(p["@odata.type"] == "#Microsoft.Dynamics.CRM.PicklistAttributeMetadata" for p in picklists)
    single = send(
        dataverse, "GET",
        "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='statecode')/Microsoft.Dynamics.CRM.StateAttributeMetadata",
        params={"$expand": "OptionSet"},
    ).json()  # fmt: skip
    assert [(o["Value"], o["DefaultStatus"]) for o in single["OptionSet"]["Options"]] == [(0, 1), (1, 2)]
    boolean = send(
        dataverse, "GET",
        "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='creditonhold')/Microsoft.Dynamics.CRM.BooleanAttributeMetadata",
        params={"$expand": "OptionSet"},
    ).json()  # fmt: skip
    assert boolean["OptionSet"]["TrueOption"]["Label"]["UserLocalizedLabel"]["Label"] == "Yes"
    no_cast = send(
        dataverse,
        "GET",
        "EntityDefinitions(LogicalName='account')/Attributes",
        params={"$expand": "OptionSet"},
    )
    assert no_cast.status_code == 400
    wrong = send(
        dataverse,
        "GET",
        "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
    )
    assert wrong.status_code == 404


def test_entity_definitions_filter_on_is_private(dataverse: DataverseStack) -> None:
    """tables.list's filter: every table is public; IsPrivate and IsCustomEntity are selectable."""
    rows = values(
        send(
            dataverse,
            "GET",
            "EntityDefinitions",
            params={"$filter": "IsPrivate eq false", "$select": "LogicalName,IsCustomEntity"},
        )
    )
    assert {"account", "contact", "salesorder"} <= {r["LogicalName"] for r in rows}
    assert not any(r["IsCustomEntity"] for r in rows)


def test_custom_table_column_and_relationship(dataverse: DataverseStack) -> None:
    """POST EntityDefinitions, a choice column, a lookup by RelationshipDefinitions; prefixes required."""
    label = {"LocalizedLabels": [{"Label": "Line", "LanguageCode": 1033}]}
    table = {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": "new_OrderLineKey",
        "DisplayName": label,
        "OwnershipType": "UserOwned",
        "Attributes": [
            {"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "new_Name",
             "IsPrimaryName": True, "MaxLength": 100, "RequiredLevel": {"Value": "None"},
             "DisplayName": label}
        ],
    }  # fmt: skip
    assert send(dataverse, "POST", "EntityDefinitions", body=table).status_code == 204
    unprefixed = {**table, "SchemaName": "OrderLineKey"}
    assert send(dataverse, "POST", "EntityDefinitions", body=unprefixed).status_code == 400
    goods = {"LocalizedLabels": [{"Label": "Goods", "LanguageCode": 1033}]}
    choice = {
        "@odata.type": "Microsoft.Dynamics.CRM.PicklistAttributeMetadata", "SchemaName": "new_Kind",
        "RequiredLevel": {"Value": "None"}, "DisplayName": label,
        "OptionSet": {"Options": [{"Value": 100000000, "Label": goods}]},
    }  # fmt: skip
    assert (
        send(
            dataverse, "POST", "EntityDefinitions(LogicalName='new_orderlinekey')/Attributes", body=choice
        ).status_code
        == 204
    )
    relationship = {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "SchemaName": "new_salesorder_new_orderlinekey",
        "ReferencedEntity": "salesorder", "ReferencingEntity": "new_orderlinekey",
        "ReferencedAttribute": "salesorderid",
        "Lookup": {"@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                   "SchemaName": "new_SalesOrderId", "DisplayName": label},
    }  # fmt: skip
    assert send(dataverse, "POST", "RelationshipDefinitions", body=relationship).status_code == 204
    line = create(dataverse, "new_orderlinekeys", {"new_name": "L1", "new_kind": 100000000})
    row = send(
        dataverse,
        "GET",
        f"new_orderlinekeys({line})",
        headers={"Prefer": f'odata.include-annotations="{FORMATTED}"'},
    ).json()
    assert row[f"new_kind@{FORMATTED}"] == "Goods"
    assert "_new_salesorderid_value" in row
    file_column = {"@odata.type": "Microsoft.Dynamics.CRM.FileAttributeMetadata", "SchemaName": "new_Doc"}
    refused = send(
        dataverse, "POST", "EntityDefinitions(LogicalName='new_orderlinekey')/Attributes", body=file_column
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (405, "0x80040315")


def test_alternate_keys_collide_case_insensitively(dataverse: DataverseStack) -> None:
    """Two accounts whose accountnumber differs only in case violate the key; lookups ignore case too."""
    dataverse.simulator.admin.run_action("define_key", {"table": "account", "columns": ["accountnumber"]})
    create(dataverse, "accounts", {"name": "One", "accountnumber": "ACC-1"})
    duplicate = send(dataverse, "POST", "accounts", body={"name": "Two", "accountnumber": "acc-1"})
    assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (412, "0x80060892")
    found = send(dataverse, "GET", "accounts(accountnumber='acc-1')", params={"$select": "name"})
    assert found.json()["name"] == "One"
    upsert = send(dataverse, "PATCH", "accounts(accountnumber='Acc-1')", body={"name": "Renamed"})
    assert upsert.status_code == 204
    assert [r["name"] for r in dataverse.simulator.org.store.rows("account")] == ["Renamed"]


def test_url_limits(dataverse: DataverseStack, accounts: dict[str, str]) -> None:
    """32 KB per URL (414 beyond), 64 KB for a request inside $batch."""
    terms = " or ".join(f"name eq 'N{n:05d}'" for n in range(1200))  # about 26 KB encoded, then 414
    long_filter = f"({terms}) or name eq 'Fabrikam'"
    refused = send(dataverse, "GET", "accounts", params={"$filter": long_filter + " or " + terms})
    assert refused.status_code == 414
    assert "32768" in refused.json()["error"]["message"]
    inner = f"/api/data/v9.2/accounts?$select=name&$filter={long_filter}".replace(" ", "%20")
    assert 32_768 < len(inner) < 65_536
    boundary = "batch_limits"
    payload = (
        f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"GET {inner} HTTP/1.1\r\nAccept: application/json\r\n\r\n--{boundary}--\r\n"
    )
    with dataverse.raw() as http:
        batch = http.post(
            f"{dataverse.url}/api/data/v9.2/$batch",
            content=payload.encode(),
            headers={
                "Authorization": f"Bearer {dataverse.token()}",
                "Content-Type": f"multipart/mixed; boundary={boundary}",
            },
        )
    assert batch.status_code == 200
    assert "HTTP/1.1 200" in batch.text
    assert json.loads(batch.text.split("\r\n\r\n")[-1].split("\r\n--")[0])["value"][0]["name"] == "Fabrikam"


def test_dop_hint_header(dataverse: DataverseStack) -> None:
    """x-ms-dop-hint on every response: 48 by default, changed by the admin action until reset."""
    assert send(dataverse, "GET", "WhoAmI").headers["x-ms-dop-hint"] == "48"
    assert send(dataverse, "GET", "nosuchset").headers["x-ms-dop-hint"] == "48"
    with dataverse.admin() as admin:
        admin.action("set_dop_hint", {"value": 4})
    assert send(dataverse, "GET", "WhoAmI").headers["x-ms-dop-hint"] == "4"
    dataverse.simulator.admin.reset()
    assert send(dataverse, "GET", "WhoAmI").headers["x-ms-dop-hint"] == "48"


def test_a_deep_arithmetic_chain_is_a_400_not_a_500(
    dataverse: DataverseStack, accounts: dict[str, str]
) -> None:
    """2500 'add' terms (a tree too deep for a recursive walk) within the URL limit: refused, never 500."""
    chain = "numberofemployees" + " add 1" * 2500 + " eq 2510"
    response = send(dataverse, "GET", "accounts", params={"$filter": chain})
    assert response.status_code == 400
    assert "recursion limit" in response.json()["error"]["message"]
