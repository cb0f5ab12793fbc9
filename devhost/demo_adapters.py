"""The demo's adapters part: the connector's adapters at work against every simulator, no credentials needed.

Entra ID, Key Vault, Dataverse and IFS Cloud run on loopback over HTTPS (``simulators.stack``). The
connector's own composition root builds the clients from app settings that hold no secret: the IFS
client secret and the token-encryption key come from the Key Vault simulator, tokens from the Entra and
IFS IAM simulators, and the IFS token is cached AES-GCM-encrypted in Azurite.
"""

from __future__ import annotations

import collections
import ssl
from typing import Any

import httpx

from shared import bootstrap
from shared.config import AppSettings, IfsSettings
from shared.dataverse.bulk import BulkUpserter
from shared.dataverse.client import DataverseClient
from shared.dataverse.provisioning import Provisioner
from shared.ifs.client import IfsClient
from shared.ifs.etag import decode_etag
from shared.ifs.query import Query, eq
from simulators.stack import SimulatorStack

CAPTURED_ORDER = "C1000000933"  # one of the real orders captured from a live tenant


def _ifs_part(ifs: IfsClient, settings: AppSettings, say: Any) -> list[dict[str, Any]]:
    entities = settings.get(IfsSettings).entities
    customers = list(ifs.iter_rows(entities.customers))
    say(f"IFS CustomerInfoSet: {len(customers)} customers streamed page by page")
    states = collections.Counter(
        row["Objstate"] for row in ifs.iter_rows(entities.orders, Query(select=("OrderNo", "Objstate")))
    )
    say(f"IFS CustomerOrderSet: {sum(states.values())} orders by state: {dict(sorted(states.items()))}")
    captured = ifs.get(entities.orders, {"OrderNo": CAPTURED_ORDER})
    if captured.etag is None:
        raise RuntimeError(f"IFS answered order {CAPTURED_ORDER} without an ETag")
    etag = decode_etag(captured.etag)
    say(f"captured order {CAPTURED_ORDER}: ETag {captured.etag}")
    say(f"  = rowid {etag.objid}, objversion {etag.objversion} (changes on every write)")
    lines = list(ifs.iter_rows(entities.order_lines, Query(filter=eq("OrderNo", CAPTURED_ORDER))))
    described = ", ".join(f"{line['CatalogNo']} x {line['BuyQtyDue']}" for line in lines)
    say(f"  {len(lines)} line(s): {described}")
    return customers


def _account(customer: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    return {"accountnumber": customer["CustomerId"]}, {
        "name": customer["Name"],
        "creditlimit": customer.get("CreditLimit"),
    }


def _dataverse_part(
    dataverse: DataverseClient, customers: list[dict[str, Any]], stack: SimulatorStack, say: Any
) -> bool:
    provisioner = Provisioner(dataverse, sleep=stack.identity.clock.advance)
    key = provisioner.ensure_alternate_key("account", "ifs_accountnumber", ["accountnumber"], poll=0.5)
    say(f"Dataverse alternate key account({', '.join(key.key_attributes)}): {key.status}")
    rows = [_account(c) for c in customers]
    upserter = BulkUpserter(dataverse, chunk_size=500)
    results = upserter.upsert_many("accounts", "account", rows)
    via = collections.Counter(r.via for r in results)
    written = sum(r.ok for r in results)
    say(f"bulk upsert of {len(rows)} accounts by accountnumber: {written} ok via {dict(via)}")
    again = upserter.upsert_many("accounts", "account", rows)
    count = len(list(dataverse.query("accounts", select=["accountid"])))
    say(f"same upsert again: {sum(r.ok for r in again)} ok, still {count} accounts (idempotent by key)")
    return count == len(customers) and all(r.ok for r in results)


def run(stack: SimulatorStack, storage_settings: dict[str, str], say: Any) -> bool:
    """Run the adapters part; True when every step did what it should."""
    settings = AppSettings(stack.app_settings() | storage_settings)
    vault = settings.values["KEY_VAULT_URL"]
    say(f"app settings hold no secret: IFS_CLIENT_SECRET and TOKEN_ENCRYPTION_KEY come from {vault}")
    verify = ssl.create_default_context(cafile=str(stack.identity.tls.cert_path))
    before = _tokens_issued(stack)
    with httpx.Client(verify=verify, timeout=30) as http:
        customers = _ifs_part(bootstrap.ifs_client(settings, http), settings, say)
    issued = _tokens_issued(stack) - before
    table = f"{storage_settings['STATE_TABLE_PREFIX']}tokens"
    say(f"IFS IAM tokens issued: {issued} (then reused from table {table}, AES-GCM encrypted)")
    ok = _dataverse_part(bootstrap.dataverse_client(settings, verify=verify), customers, stack, say)
    return ok and issued == 1


def _tokens_issued(stack: SimulatorStack) -> int:
    return sum(1 for r in stack.ifs.admin.log.entries() if r.path.endswith("/token"))
