"""The simulator's security roles: a write without its privilege is refused as Dataverse refuses it.

Every application user holds the connector's role (every privilege); revoking one makes the next write of that
kind fail with 403 and PrivilegeDenied (0x80040220), naming the privilege; granting it back lets it through.
``RetrieveUserPrivileges`` and ``EntityDefinitions``' ``Privileges`` tell the same story to the connector.
"""

from __future__ import annotations

import uuid

import pytest

from shared.dataverse import inspect
from shared.dataverse.errors import AccessDeniedError
from tests.integration.dataverse.conftest import DataverseStack


def revoke(dataverse: DataverseStack, table: str, privilege: str) -> None:
    with dataverse.admin() as admin:
        admin.action("revoke_privilege", {"table": table, "privilege": privilege})


def test_a_revoked_create_is_refused_with_privilege_denied(dataverse: DataverseStack) -> None:
    """403, code 0x80040220, the privilege's name and the table in the message; nothing created."""
    client = dataverse.client()
    client.create("accounts", {"name": "Allowed"})
    revoke(dataverse, "account", "Create")
    with pytest.raises(AccessDeniedError) as refused:
        client.create("accounts", {"name": "Refused"})
    assert refused.value.status == 403
    assert refused.value.code == "0x80040220"
    assert "is missing prvCreateAccount privilege" in refused.value.message
    assert "for entity 'account'" in refused.value.message
    assert [r["name"] for r in client.query("accounts", select=["name"])] == ["Allowed"]


def test_write_and_delete_need_their_own_privileges(dataverse: DataverseStack) -> None:
    """Without Write an update fails, without Delete a delete; granting them back heals both."""
    client = dataverse.client()
    account = client.create("accounts", {"name": "A"}).id
    assert account is not None
    revoke(dataverse, "account", "Write")
    with pytest.raises(AccessDeniedError, match="prvWriteAccount"):
        client.update("accounts", account, {"name": "B"})
    client.create("accounts", {"name": "a new row needs Create only"})
    revoke(dataverse, "account", "Delete")
    with pytest.raises(AccessDeniedError, match="prvDeleteAccount"):
        client.delete("accounts", account)
    with dataverse.admin() as admin:
        admin.action("grant_privilege", {"table": "account", "privilege": "Write"})
        admin.action("grant_privilege", {"table": "account", "privilege": "Delete"})
    client.update("accounts", account, {"name": "B"})
    client.delete("accounts", account)


def test_the_user_and_the_metadata_name_the_same_privileges(dataverse: DataverseStack) -> None:
    """RetrieveUserPrivileges lists the role's privileges by the ids EntityDefinitions gives them."""
    client = dataverse.client()
    user = client.who_am_i().user_id
    table = inspect.table_privileges(client, "salesorderdetail")
    assert table["Create"].name == "prvCreateSalesOrderDetail"
    assert set(table) == {"Create", "Read", "Write", "Delete", "Assign", "Share", "Append", "AppendTo"}
    held = inspect.user_privileges(client, user)
    assert held[table["Create"].id].depth == "Global"
    revoke(dataverse, "salesorderdetail", "Create")
    held = inspect.user_privileges(client, user)
    assert table["Create"].id not in held
    assert table["Write"].id in held


def test_seeded_reference_data_and_other_users_are_unaffected(dataverse: DataverseStack) -> None:
    """The SYSTEM user seeds rows whatever the role says; the privilege ids are stable across resets."""
    client = dataverse.client()
    before = inspect.table_privileges(client, "account")["Create"].id
    revoke(dataverse, "uomschedule", "Create")
    with dataverse.admin() as admin:
        admin.reset()
    assert inspect.table_privileges(client, "account")["Create"].id == before
    assert isinstance(before, uuid.UUID)
    client.create("uomschedules", {"name": "a reset org has the role whole again", "baseuomname": "u"})


def test_admin_actions_refuse_unknown_tables_and_privileges(dataverse: DataverseStack) -> None:
    """A typo in a test's admin call is a 400 with the expected shape, never a silent no-op."""
    with dataverse.admin() as admin:
        for body in ({"table": "nosuch", "privilege": "Create"}, {"table": "account", "privilege": "Fly"}):
            with pytest.raises(Exception, match="expected"):
                admin.action("revoke_privilege", body)
