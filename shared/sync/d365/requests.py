"""Fulfilment and cancellation: requests to IFS, which owns the order once it exists there.

A person fulfilling an order in Dynamics asks IFS to run the configured step on the matching customer
order (default: ``CustomerOrder_ReleaseOrder`` while it is still Planned); in any other state there is
nothing to do, and the audit trail says so. A person cancelling asks IFS to cancel it. Each request reads
the order first and sends its ETag in ``If-Match``: when someone changed the order meanwhile IFS answers
412, and the request is read and decided again (a few times, then the message is retried). A transition
IFS refuses (the order is already reserved, picked, delivered …) is not an error of the connector: it is
parked with IFS's reason, and the IFS → Dynamics flow puts the Dynamics order back to IFS's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from shared.sync.ports import IfsOperations

ATTEMPTS = 3
Verdict = Literal["done", "nothing_to_do", "refused"]


class RequestRefusedError(Exception):
    """IFS refused the transition: a decision for a person, parked with IFS's reason."""

    transient = False
    error_class = "ifs_refused"

    def __init__(self, order_no: str, action: str, state: str, reason: str) -> None:
        self.order_no = order_no
        self.action = action
        self.state = state
        self.reason = reason
        super().__init__(f"IFS refused {action} on customer order {order_no} ({state}): {reason}")


class ConcurrentChangeError(Exception):
    """The order kept changing between our read and our request: retried later."""

    transient = True


@dataclass(frozen=True)
class RequestResult:
    """What a request came to: done, nothing to do (and why), with IFS's state before it."""

    verdict: Verdict
    state: str
    message: str


def _conflict(exc: BaseException) -> bool:
    return getattr(exc, "status", None) in (409, 412) or getattr(exc, "outcome_unknown", False) is True


def _refusal(exc: BaseException) -> str | None:
    if getattr(exc, "status", None) == 400:
        message = getattr(exc, "message", None)
        return str(message) if message else str(exc)
    return None


class OrderRequests:
    """Runs fulfil and cancel requests against IFS customer orders."""

    def __init__(
        self,
        ifs: IfsOperations,
        orders: Any,
        *,
        fulfil_action: str | None,
        fulfil_states: frozenset[str],
        cancel_action: str,
    ) -> None:
        self._ifs = ifs
        self._orders = orders
        self._fulfil_action = fulfil_action
        self._fulfil_states = fulfil_states
        self._cancel_action = cancel_action

    def fulfil(self, order_no: str) -> RequestResult:
        """Run the fulfil action when the IFS order is in one of its states; else nothing to do."""
        action = self._fulfil_action
        if action is None:
            return RequestResult(
                "nothing_to_do", "", "no IFS step is configured for fulfilment (D365_FULFIL_ACTION)"
            )
        states = self._fulfil_states
        return self._request(
            order_no,
            action,
            wanted=lambda row: row.get("Objstate") in states,
            skip=lambda row: (
                f"IFS order is {row.get('Objstate')}, {action} runs only when {' or '.join(sorted(states))}"
            ),
        )

    def cancel(self, order_no: str) -> RequestResult:
        """Ask IFS to cancel the order (nothing to do when it already is)."""
        return self._request(
            order_no,
            self._cancel_action,
            wanted=lambda row: row.get("Objstate") != "Cancelled",
            skip=lambda row: "the IFS order is already cancelled",
        )

    def _request(self, order_no: str, action: str, *, wanted: Any, skip: Any) -> RequestResult:
        key = {"OrderNo": order_no}
        last: BaseException | None = None
        for _ in range(ATTEMPTS):
            row, etag = self._ifs.get(self._orders, key, select=("OrderNo", "Objstate"))
            state = str(row.get("Objstate") or "")
            if not wanted(row):
                return RequestResult("nothing_to_do", state, str(skip(row)))
            try:
                self._ifs.call_action(self._orders, key, action, {}, etag=etag or "*")
            except Exception as exc:
                if _conflict(exc):  # changed since our read (or our own lost try): read and decide again
                    last = exc
                    continue
                reason = _refusal(exc)
                if reason is not None:
                    raise RequestRefusedError(order_no, action, state, reason) from exc
                raise
            return RequestResult("done", state, f"{action} run on IFS order {order_no} (was {state})")
        raise ConcurrentChangeError(
            f"IFS order {order_no} changed on each of {ATTEMPTS} tries of {action}; trying again later"
        ) from last
