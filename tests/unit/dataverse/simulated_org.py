"""A freshly seeded simulated organization for the simulator's in-process tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from simulators.common.clock import SimClock
from simulators.dataverse.keys import parse_locator
from simulators.dataverse.records import Caller, Organization
from simulators.dataverse.seed import add_application_user, application_user, seed_fresh_org
from simulators.dataverse.store import Row
from simulators.dataverse.tables import Table

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def frozen_clock() -> SimClock:
    """Simulated time that only moves when a test advances it."""
    return SimClock(START, frozen=True)


@dataclass
class SimulatedOrg:
    """An organization, its application user and its time."""

    org: Organization
    caller: Caller
    time: SimClock = field(default_factory=frozen_clock)

    def table(self, logical_name: str) -> Table:
        table = self.org.table(logical_name)
        assert table is not None
        return table

    def create(self, logical_name: str, body: dict[str, Any]) -> Row:
        return self.org.create(self.table(logical_name), body, self.caller)

    def upsert(
        self, logical_name: str, locator: str, body: dict[str, Any], **headers: str
    ) -> tuple[Row, bool]:
        table = self.table(logical_name)
        return self.org.upsert(table, parse_locator(table, locator), body, self.caller, **headers)

    def delete(self, logical_name: str, locator: str, if_match: str | None = None) -> None:
        table = self.table(logical_name)
        self.org.delete(table, parse_locator(table, locator), if_match=if_match)

    def get(self, logical_name: str, row_id: uuid.UUID) -> Row:
        table = self.table(logical_name)
        return self.org.retrieve(table, parse_locator(table, str(row_id)))

    def key(self, logical_name: str, *columns: str) -> None:
        self.org.keys.define(self.table(logical_name), f"key_{'_'.join(columns)}", columns, active=True)


def fresh_org(key_activation_seconds: float = 60.0) -> SimulatedOrg:
    """A seeded org with one application user."""
    time = frozen_clock()
    org = Organization(now=time.now, key_activation_seconds=key_activation_seconds)
    seed_fresh_org(org)
    app_id = str(uuid.uuid4())
    add_application_user(org, app_id, "connector")
    caller = application_user(org, app_id)
    assert caller is not None
    return SimulatedOrg(org, caller, time)
