"""Reference rows the product flow creates on demand: unit groups and units, price lists, currencies.

IFS sales units (``pcs``, ``m``, ``kg``) become Dataverse units: one unit group per IFS unit, named
``IFS <unit>``, whose base unit is that unit (Dataverse creates a group's base unit with it), since IFS
units of different kinds do not convert into each other. Price lists are one per IFS site and currency,
``IFS <site> <currency>``. Each is found by name first (a row made by an earlier run or by hand is reused),
created only when missing, and remembered in the id map, so later runs cost no request. Currencies are
organization set-up (they carry exchange rates): the connector never creates one; a missing currency is a
``RecordError`` that parks the record with that reason.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from shared.sync.flow import RecordError
from shared.sync.plan import stable_id
from shared.sync.ports import IdLinks, Target

UNIT_GROUPS, UNITS, PRICE_LISTS = "unit_groups", "units", "price_lists"


@dataclass
class References:
    """Finds or creates reference rows, once per process."""

    target: Target
    idmap: IdLinks
    prefix: str = "IFS"
    _cache: dict[tuple[str, str], uuid.UUID] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _remembered(self, kind: str, key: str) -> uuid.UUID | None:
        cached = self._cache.get((kind, key))
        if cached is None:
            stored = self.idmap.target_ids(kind, [key]).get(key)
            if stored is not None:
                cached = uuid.UUID(stored)
                self._cache[(kind, key)] = cached
        return cached

    def _remember(self, kind: str, key: str, row_id: uuid.UUID) -> uuid.UUID:
        self.idmap.link_many(kind, {key: str(row_id)})
        self._cache[(kind, key)] = row_id
        return row_id

    def unit(self, code: str, *, create: bool = True) -> tuple[uuid.UUID, uuid.UUID]:
        """(unit group id, unit id) of the IFS unit ``code``, created when missing.

        Without ``create`` (a dry run) a missing group gets placeholder ids and nothing is written.
        """
        with self._lock:
            group, unit = self._remembered(UNIT_GROUPS, code), self._remembered(UNITS, code)
            if group is not None and unit is not None:
                return group, unit
            name = f"{self.prefix} {code}"
            found = self.target.find("uomschedules", {"name": name}, ["uomscheduleid"])
            if found:
                group = uuid.UUID(str(found[0]["uomscheduleid"]))
            elif not create:
                return stable_id(UNIT_GROUPS, code), stable_id(UNITS, code)
            else:
                group = self.target.create("uomschedules", {"name": name, "baseuomname": code})
            units = self.target.find("uoms", {"_uomscheduleid_value": group, "name": code}, ["uomid"])
            if not units:
                raise RecordError("missing_reference", f"unit group {name!r} has no unit {code!r}")
            unit = uuid.UUID(str(units[0]["uomid"]))
            return self._remember(UNIT_GROUPS, code, group), self._remember(UNITS, code, unit)

    def currency(self, code: str) -> uuid.UUID:
        """The id of the currency with ISO code ``code``; RecordError when the org does not have it."""
        with self._lock:
            known = self._cache.get(("currency", code))
            if known is not None:
                return known
            found = self.target.ids_by(
                "transactioncurrencies", "transactioncurrency", "isocurrencycode", [code]
            )
            if code not in found:
                raise RecordError(
                    "missing_reference",
                    f"no transactioncurrency with isocurrencycode = {code!r} in Dataverse: currencies are "
                    "organization set-up; add it with its exchange rate",
                )
            self._cache[("currency", code)] = found[code]
            return found[code]

    def price_list(self, site: str, currency: str, *, create: bool = True) -> uuid.UUID:
        """The price list of IFS site ``site`` in ``currency``, created when missing (if ``create``)."""
        key = f"{site}|{currency}"
        currency_id = self.currency(currency)
        with self._lock:
            known = self._remembered(PRICE_LISTS, key)
            if known is not None:
                return known
            name = f"{self.prefix} {site} {currency}"
            found = self.target.find("pricelevels", {"name": name}, ["pricelevelid"])
            if found:
                row_id = uuid.UUID(str(found[0]["pricelevelid"]))
            elif not create:
                return stable_id(PRICE_LISTS, key)
            else:
                row_id = self.target.create(
                    "pricelevels",
                    {
                        "name": name,
                        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({currency_id})",
                        "description": f"Prices of IFS site {site} in {currency}, kept by the IFS connector",
                    },
                )
            return self._remember(PRICE_LISTS, key, row_id)
