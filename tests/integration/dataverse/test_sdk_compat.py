"""Microsoft's Python SDK for Dataverse (PowerPlatform-Dataverse-Client) runs unchanged against the simulator.

The SDK talks ``requests`` over the simulator's own HTTPS with an azure-identity ``ClientSecretCredential``
from the Entra simulator; ``REQUESTS_CA_BUNDLE`` trusts the simulators' certificate. Every public operation
a sync would use is exercised and its effect checked on the simulator; the one refusal left (file columns)
is Dataverse's documented NotSupported answer.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.identity import ClientSecretCredential
from PowerPlatform.Dataverse.client import DataverseClient
from PowerPlatform.Dataverse.core.errors import HttpError
from PowerPlatform.Dataverse.models import QueryResult, UpsertItem, col

from tests.integration.dataverse.conftest import DataverseStack


class Priority(enum.IntEnum):
    """A choice column defined from an IntEnum, as the SDK's README shows."""

    LOW = 1
    HIGH = 2


@pytest.fixture
def sdk(dataverse: DataverseStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataverseClient]:
    """The SDK's client for the simulator, trusting its certificate through REQUESTS_CA_BUNDLE."""
    ca_file = str(dataverse.identity.tls.cert_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    client = dataverse.identity.client
    credential = ClientSecretCredential(
        client.tenant_id,
        client.client_id,
        dataverse.identity.client_secret,
        authority=dataverse.identity.entra_url,
        disable_instance_discovery=True,
        connection_verify=ca_file,
    )
    with DataverseClient(dataverse.url, credential) as sdk_client:
        yield sdk_client


def stored(dataverse: DataverseStack, table: str) -> list[dict[str, Any]]:
    return list(dataverse.simulator.org.store.rows(table))


def names(rows: Any) -> list[str]:
    """The ``name`` of each record the SDK returned (its results are typed loosely)."""
    return [str(row["name"]) for row in rows]


def activate_keys(dataverse: DataverseStack, sdk: DataverseClient, table: str) -> None:
    """Move simulated time past the key index build; the SDK then reports the key Active."""
    dataverse.clock.advance(30)
    assert {k.status for k in sdk.tables.get_alternate_keys(table)} == {"Active"}


def test_records_crud(sdk: DataverseClient, dataverse: DataverseStack) -> None:
    """create, retrieve, get, update and delete a record; a text value reaches the server."""
    account_id = sdk.records.create("account", {"name": "Contoso Ltd", "industrycode": "Accounting"})
    [row] = stored(dataverse, "account")
    assert (row["name"], row["industrycode"]) == ("Contoso Ltd", 1)  # the label became its option value
    account = sdk.records.retrieve("account", account_id, select=["name"])
    assert account is not None
    assert account["name"] == "Contoso Ltd"
    sdk.records.update("account", account_id, {"telephone1": "555-0199"})
    updated = sdk.records.retrieve("account", account_id, select=["telephone1"])
    assert updated is not None
    assert updated["telephone1"] == "555-0199"
    sdk.records.delete("account", account_id)
    assert sdk.records.retrieve("account", account_id) is None


def test_bulk_create_update_upsert_and_delete(sdk: DataverseClient, dataverse: DataverseStack) -> None:
    """CreateMultiple, UpdateMultiple, UpsertMultiple by alternate key and BulkDelete on accounts."""
    ids = sdk.records.create("account", [{"name": "Company A"}, {"name": "Company B"}])
    assert len(ids) == 2
    sdk.records.update("account", ids, {"industrycode": 1})
    assert {r["industrycode"] for r in stored(dataverse, "account")} == {1}
    sdk.tables.create_alternate_key("account", "new_accountnumber", ["accountnumber"])
    activate_keys(dataverse, sdk, "account")
    sdk.records.upsert(
        "account",
        [
            UpsertItem(
                alternate_key={"accountnumber": "ACC-001"}, record={"name": "Contoso", "telephone1": "1"}
            )
        ],
    )
    sdk.records.upsert(
        "account",
        [
            UpsertItem(alternate_key={"accountnumber": f"ACC-{n:03d}"}, record={"name": f"N{n}"})
            for n in range(1, 6)
        ],
    )
    by_number = {r["accountnumber"]: r["name"] for r in stored(dataverse, "account") if r["accountnumber"]}
    assert by_number == {f"ACC-{n:03d}": f"N{n}" for n in range(1, 6)}
    job_id = sdk.records.delete("account", ids)
    assert job_id is not None
    with dataverse.admin() as admin:
        assert admin.action("drain_webhooks", {})["drained"]
    assert not {uuid.UUID(i) for i in ids} & {r["accountid"] for r in stored(dataverse, "account")}
    job = sdk.records.retrieve("asyncoperation", job_id, select=["statecode", "statuscode", "operationtype"])
    assert job is not None
    assert (job["statecode"], job["statuscode"], job["operationtype"]) == (3, 30, 13)


def test_queries_paging_builder_sql_and_fetchxml(sdk: DataverseClient) -> None:
    """The query builder (filters, In, order, top, pages), SQL and FetchXML with cookie paging."""
    sdk.records.create("account", [{"name": f"Account {n:02d}", "numberofemployees": n} for n in range(12)])
    sdk.records.create("account", {"name": "Contoso Ltd"})
    top = list(
        sdk.query.builder("account").select("name").where(col("numberofemployees") >= 5)
        .order_by("numberofemployees", descending=True).top(3).execute()
    )  # fmt: skip
    assert names(top) == ["Account 11", "Account 10", "Account 09"]
    pages = list(sdk.query.builder("account").select("name").page_size(5).execute_pages())
    assert [len(p) for p in pages] == [5, 5, 3]
    chosen = sdk.query.builder("account").select("name").where(col("name").in_(["account 01", "ACCOUNT 02"]))
    assert sorted(names(chosen.execute())) == ["Account 01", "Account 02"]
    same = sdk.query.builder("account").select("name").where(col("name") == "contoso ltd").execute()
    assert names(same) == ["Contoso Ltd"]
    rows = sdk.query.sql(
        "SELECT TOP 2 name FROM account WHERE numberofemployees BETWEEN 3 AND 6 ORDER BY name"
    )
    assert names(rows) == ["Account 03", "Account 04"]
    fetch = sdk.query.fetchxml(
        '<fetch count="4"><entity name="account"><attribute name="name"/>'
        '<filter><condition attribute="numberofemployees" operator="lt" value="10"/></filter>'
        '<order attribute="name"/></entity></fetch>'
    )
    page_sizes = [len(page.records) for page in fetch.execute_pages()]
    assert page_sizes == [4, 4, 2]
    result = sdk.query.builder("account").select("name").where(col("name").startswith("Account 1")).execute()
    assert isinstance(result, QueryResult)
    frame = result.to_dataframe()
    assert sorted(frame["name"]) == ["Account 10", "Account 11"]


def test_metadata_reads(sdk: DataverseClient) -> None:
    """tables.get/list, columns with and without typed properties, picklist options through the SDK."""
    info = sdk.tables.get("account")
    assert info is not None
    assert info.entity_set_name == "accounts"
    assert "account" in {t["LogicalName"] for t in sdk.tables.list()}
    columns = {c["LogicalName"] for c in sdk.tables.list_columns("account")}
    assert {"name", "industrycode", "accountnumber"} <= columns
    typed = sdk.tables.get_column("account", "accountnumber", typed=True)
    assert typed is not None
    assert typed["MaxLength"] == 20
    assert sdk.tables.get_column("account", "no_such_column") is None


def test_metadata_writes_relationships_and_custom_records(
    sdk: DataverseClient, dataverse: DataverseStack
) -> None:
    """A custom table with typed columns, a column added, updated and removed, a lookup, then dropped."""
    sdk.tables.create(
        "new_Project",
        {
            "new_Budget": "money",
            "new_Code": "string",
            "new_Count": "int",
            "new_Prio": Priority,
            "new_Start": "datetime",
            "new_Done": "bool",
        },
        display_name="Project",
    )
    sdk.tables.add_columns("new_Project", {"new_Status": "string"})
    sdk.tables.update_column("new_Project", "new_Status", {"max_length": 400})
    status = sdk.tables.get_column("new_Project", "new_Status", typed=True)
    assert status is not None
    assert status["MaxLength"] == 400
    account_id = sdk.records.create("account", {"name": "Owner"})
    relationship = sdk.tables.create_lookup_field(
        referencing_table="new_project",
        lookup_field_name="new_AccountId",
        referenced_table="account",
        display_name="Account",
    )
    project_id = sdk.records.create(
        "new_project",
        {
            "new_name": "P1",
            "new_prio": "HIGH",
            "new_budget": 1250.5,
            "new_AccountId@odata.bind": f"/accounts({account_id})",
        },
    )
    [row] = stored(dataverse, "new_project")
    assert (row["new_prio"], str(row["new_accountid"].id)) == (2, account_id)
    project = sdk.records.retrieve(
        "new_project",
        project_id,
        select=["new_prio", "new_budget"],
        include_annotations="OData.Community.Display.V1.FormattedValue",
    )
    assert project is not None
    assert project["new_prio@OData.Community.Display.V1.FormattedValue"] == "HIGH"
    # The SDK defines "money" columns as DecimalAttributeMetadata: grouped, two places, no symbol.
    assert project["new_budget@OData.Community.Display.V1.FormattedValue"] == "1,250.50"
    assert sdk.tables.get_relationship(relationship.relationship_schema_name) is not None
    sdk.tables.remove_columns("new_Project", ["new_Status"])
    assert sdk.tables.get_column("new_Project", "new_Status") is None
    assert relationship.relationship_id is not None
    sdk.tables.delete_relationship(relationship.relationship_id)
    sdk.tables.delete("new_Project")
    assert sdk.tables.get("new_Project") is None


def test_batch_with_a_changeset(sdk: DataverseClient, dataverse: DataverseStack) -> None:
    """A $batch with a create, an update and a change set whose update references its create."""
    existing = sdk.records.create("account", {"name": "Existing"})
    batch = sdk.batch.new()
    batch.records.create("account", {"name": "Batch A"})
    batch.records.update("account", existing, {"telephone1": "1"})
    with batch.changeset() as change_set:
        reference = change_set.records.create("account", {"name": "In change set"})
        change_set.records.update("account", reference, {"telephone1": "2"})
    result = batch.execute()
    assert [r.status_code for r in result.responses] == [204, 204, 204, 204]
    phones = {r["name"]: r["telephone1"] for r in stored(dataverse, "account")}
    assert phones == {"Existing": "1", "Batch A": None, "In change set": "2"}


def test_formatted_values_of_money_choices_booleans_and_dates(sdk: DataverseClient) -> None:
    """Formatted values come back for money, choices, yes/no, dates and lookups."""
    contact = sdk.records.create("contact", {"lastname": "Ng"})
    account = sdk.records.create(
        "account",
        {
            "name": "Contoso",
            "creditlimit": 1234.5,
            "industrycode": 7,
            "creditonhold": True,
            "primarycontactid@odata.bind": f"/contacts({contact})",
        },
    )
    row = sdk.records.retrieve(
        "account", account, include_annotations="OData.Community.Display.V1.FormattedValue"
    )
    assert row is not None
    formatted = "@OData.Community.Display.V1.FormattedValue"
    assert row[f"creditlimit{formatted}"] == "$1,234.50"
    assert row[f"industrycode{formatted}"] == "Consulting"
    assert row[f"creditonhold{formatted}"] == "Yes"
    assert row[f"statecode{formatted}"] == "Active"
    assert row[f"_primarycontactid_value{formatted}"] == "Ng"
    assert row[f"createdon{formatted}"].endswith(("AM", "PM"))


def test_file_columns_answer_not_supported(sdk: DataverseClient, tmp_path: Path) -> None:
    """files.upload needs a file column; creating one gets Dataverse's documented NotSupported (405)."""
    account = sdk.records.create("account", {"name": "With a file"})
    document = tmp_path / "report.txt"
    document.write_text("hello", encoding="utf-8")
    with pytest.raises(HttpError) as caught:
        sdk.files.upload("account", account, "new_Document", str(document))
    assert caught.value.status_code == 405
    assert caught.value.details.get("service_error_code") == "0x80040315"
