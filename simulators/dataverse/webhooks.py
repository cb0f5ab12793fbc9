"""Webhook steps firing on the organization's events, delivered as Dataverse delivers them.

``WebhookDispatcher`` is the organization's ``Pipeline`` (``simulators/dataverse/events.py``). For every
event it finds the enabled ``sdkmessageprocessingsteps`` whose handler is a webhook ``serviceendpoint``,
whose ``sdkmessage`` is the event's message and whose ``sdkmessagefilter`` names the event's table (a step
without a filter fires for every table); for an Update with ``filteringattributes``, only when the request
wrote one of those columns. Then, per step:

- synchronous (mode 0): delivered at once, inside the request (pre-validation/pre-operation steps before the
  write, post-operation steps after it); a failed call fails the request with the webhook error and rolls
  it back (register-web-hook: "the entire transaction" fails). ASSUMED: the caller gets HTTP 400 with the
  error table's webhook code. The payload is built under the organization's lock and the call is made
  with it released (``Store.call_out``): the endpoint, or any other client, may read from the organization
  meanwhile (seeing the request's uncommitted rows), while writes wait for the request to finish -- so an
  endpoint that writes back into the organization waits until the call times out.
- asynchronous (mode 1, post-operation only): a system job (``asyncoperation``, Waiting) is written with
  the request, the payload captured as of the event; when the request commits, a background worker
  delivers it (In Progress, then Succeeded — deleted when the step has ``asyncautodelete`` — or Failed
  31 with ``errorcode``, ``message`` and ``friendlymessage``). A rolled-back request queues nothing.

Steps registered on SetState fire for state changes made through Update only when
``setstate_steps_on_update`` is set: the documented behaviour is that Update steps fire for them
("special update operation behavior"), and a practitioner's test found SetState steps do not (ASSUMED).

``drain(timeout)`` waits until every queued job has run: tests (and the ``drain_webhooks`` admin action)
use it instead of sleeping. ``close()`` stops the worker (on reset).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from shared.dataverse.webhook import (
    MODE_SYNCHRONOUS,
    STAGE_POST_OPERATION,
    EntityReference,
    OptionSetValue,
)
from simulators.common.provenance import assumed, captured
from simulators.dataverse import errors
from simulators.dataverse.delivery import POST_FAILED, Endpoint, Outcome, deliver
from simulators.dataverse.events import Operation, RowEvent
from simulators.dataverse.records import Organization
from simulators.dataverse.remote_context import WebhookDelivery, webhook_delivery
from simulators.dataverse.step_context import Image, build_context
from simulators.dataverse.step_context import Organization as ContextOrganization
from simulators.dataverse.store import Ref, Row

_log = logging.getLogger(__name__)

WEBHOOK_CONTRACT = 8
SYSTEM_EVENT = 1  # asyncoperation.operationtype "System Event"
_PRE_STAGES = frozenset({10, 20})
_SETSTATE_MESSAGES = ("SetState", "SetStateDynamicEntity")
_IMAGE_PRE, _IMAGE_POST, _IMAGE_BOTH = 0, 1, 2

captured(
    "dataverse",
    "webhook RemoteExecutionContext",
    "Members, order and typed values as in the use-webhooks.md sample and the albanian-xrm captures "
    "(tests/vectors/dataverse/): SharedVariables IsAutoTransact/DefaultsAddedFlag; "
    "AsynchronousStepPrimaryName image; ParentContext at stage 30 with SuppressDuplicateDetection",
)
assumed(
    "dataverse",
    "OperationId of webhook contexts",
    "OperationId = RequestId for synchronous steps and the system job's id for asynchronous ones: "
    "inferred from a single capture, not documented.",
)
captured(
    "dataverse",
    "failed webhook system jobs",
    "asyncoperation statecode 3 / statuscode 31 with errorcode, message, friendlymessage, queried by "
    "_owningextensionid_value (register-web-hook.md); asyncautodelete removes successful jobs "
    "(asynchronous-service.md)",
)
assumed(
    "dataverse",
    "synchronous webhook failure",
    "The failing request answers 400 with the error table's Webhooks* code; no capture of the response.",
)
assumed(
    "dataverse",
    "system job columns",
    "name = the step's name, operationtype 1 (System Event), regardingobjectid = the event's row, depth 1.",
)
assumed(
    "dataverse",
    "SetState steps on Update",
    "Not fired for state changes made through Update unless Settings.setstate_steps_on_update (a "
    "practitioner's observation; the docs only say Update steps fire).",
)


@dataclass(frozen=True)
class Step:
    """A registered step, as the dispatcher needs it."""

    id: uuid.UUID
    name: str
    stage: int
    mode: int
    rank: int
    endpoint_id: uuid.UUID
    asyncautodelete: bool
    images: tuple[Image, ...]


@dataclass(frozen=True)
class Job:
    """A queued asynchronous delivery: its system job, step, event and captured request."""

    job_id: uuid.UUID
    step: Step
    message: str
    entity: str
    delivery: WebhookDelivery


@dataclass(frozen=True)
class DeliveryRecord:
    """What a delivery did, for the ``webhook_deliveries`` admin action and tests."""

    step_id: uuid.UUID
    step_name: str
    message: str
    entity: str
    mode: int
    statuses: tuple[int | None, ...]
    succeeded: bool
    error: str

    def to_json(self) -> dict[str, Any]:
        """The record as JSON."""
        return {
            "step_id": str(self.step_id),
            "step_name": self.step_name,
            "message": self.message,
            "entity": self.entity,
            "mode": self.mode,
            "statuses": list(self.statuses),
            "succeeded": self.succeeded,
            "error": self.error,
        }


class WebhookDispatcher:
    """Fires webhook steps for one organization's events and runs its asynchronous deliveries."""

    def __init__(
        self,
        org: Organization,
        *,
        organization_domain: str,
        organization_name: str,
        http_factory: Callable[[], httpx.Client],
        setstate_steps_on_update: bool = False,
    ) -> None:
        self._org = org
        self._domain = organization_domain
        self._context_org = ContextOrganization(org.organization_id, organization_name)
        self._http_factory = http_factory
        self._setstate_on_update = setstate_steps_on_update
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._worker: threading.Thread | None = None
        self._closed = False
        self.deliveries: list[DeliveryRecord] = []

    # -- Pipeline -------------------------------------------------------------------------------------

    def before(self, operation: Operation, event: RowEvent) -> None:
        """Synchronous pre-validation and pre-operation steps."""
        for step, message_event in self._matching(event):
            if step.stage in _PRE_STAGES and step.mode == MODE_SYNCHRONOUS:
                self._deliver_now(operation, message_event, step)

    def after(self, operation: Operation, event: RowEvent) -> None:
        """Post-operation steps: synchronous ones now, asynchronous ones as system jobs of the request."""
        for step, message_event in self._matching(event):
            if step.stage != STAGE_POST_OPERATION:
                continue
            if step.mode == MODE_SYNCHRONOUS:
                self._deliver_now(operation, message_event, step)
            else:
                operation.deferred.append(self._new_job(operation, message_event, step))

    def committed(self, operation: Operation) -> None:
        """Queue the request's asynchronous deliveries."""
        for job in operation.deferred:
            if isinstance(job, Job):
                self._submit(job)

    def rolled_back(self, operation: Operation) -> None:
        """Nothing to deliver: the system jobs were written in the rolled-back transaction."""
        operation.deferred.clear()

    # -- matching steps ----------------------------------------------------------------------------------

    def _matching(self, event: RowEvent) -> list[tuple[Step, RowEvent]]:
        found: list[tuple[Step, RowEvent]] = []
        events = [event]
        if self._setstate_on_update and event.message == "Update" and "statecode" in event.submitted:
            events += [_setstate_event(event, name) for name in _SETSTATE_MESSAGES]
        for candidate in events:
            found += [(step, candidate) for step in self._steps_for(candidate)]
        found.sort(key=lambda item: (item[0].stage, item[0].rank))
        return found

    def _steps_for(self, event: RowEvent) -> Iterable[Step]:
        store = self._org.store
        for row in store.rows("sdkmessageprocessingstep"):
            handler = row.get("eventhandler")
            if row.get("statecode") != 0 or not isinstance(handler, Ref):
                continue
            if handler.logical_name != "serviceendpoint":
                continue
            endpoint = store.get("serviceendpoint", handler.id)
            if endpoint is None or endpoint.get("contract") != WEBHOOK_CONTRACT:
                continue
            if _name(store.get, row.get("sdkmessageid"), "name").casefold() != event.message.casefold():
                continue
            filter_ref = row.get("sdkmessagefilterid")
            if filter_ref is not None:
                table = _name(store.get, filter_ref, "primaryobjecttypecode")
                if table != event.table.logical_name:
                    continue
            if not _passes_filtering(row.get("filteringattributes"), event):
                continue
            yield Step(
                id=row["sdkmessageprocessingstepid"],
                name=str(row.get("name") or ""),
                stage=int(row["stage"]),
                mode=int(row["mode"]),
                rank=int(row.get("rank") or 0),
                endpoint_id=handler.id,
                asyncautodelete=bool(row.get("asyncautodelete")),
                images=tuple(self._images(row["sdkmessageprocessingstepid"])),
            )

    def _images(self, step_id: uuid.UUID) -> Iterable[Image]:
        for row in self._org.store.rows("sdkmessageprocessingstepimage"):
            parent = row.get("sdkmessageprocessingstepid")
            if not isinstance(parent, Ref) or parent.id != step_id:
                continue
            kind = row.get("imagetype")
            attributes = tuple(a.strip() for a in str(row.get("attributes") or "").split(",") if a.strip())
            yield Image(
                alias=str(row.get("entityalias") or ""),
                pre=kind in (_IMAGE_PRE, _IMAGE_BOTH),
                post=kind in (_IMAGE_POST, _IMAGE_BOTH),
                attributes=attributes,
            )

    # -- synchronous delivery ------------------------------------------------------------------------------

    def _request(
        self, operation: Operation, event: RowEvent, step: Step, job_id: uuid.UUID | None
    ) -> WebhookDelivery:
        context = build_context(
            organization=self._context_org,
            operation=operation,
            event=event,
            step_id=step.id,
            stage=step.stage,
            mode=step.mode,
            images=step.images,
            operation_id=job_id,
        )
        return webhook_delivery(context, organization=self._domain)

    def _deliver_now(self, operation: Operation, event: RowEvent, step: Step) -> None:
        # Payload and endpoint are read under the lock; the call itself is made with the lock released
        # (Store.call_out), so an endpoint that reads back from the organization is answered meanwhile.
        request = self._request(operation, event, step, None)
        endpoint = self._endpoint(step)
        outcome = self._org.store.call_out(
            lambda: self._call(step, event.message, event.table.logical_name, endpoint, request)
        )
        if outcome.error is not None:
            message = f"{outcome.error.message} {outcome.detail}".strip()
            raise errors.WebApiError(400, outcome.error.code, message)

    def _endpoint(self, step: Step) -> Endpoint | None:
        row = self._org.store.get("serviceendpoint", step.endpoint_id)
        if row is None:
            return None
        return Endpoint(str(row.get("url") or ""), row.get("authtype"), row.get("authvalue"))

    def _call(
        self, step: Step, message: str, entity: str, endpoint: Endpoint | None, delivery: WebhookDelivery
    ) -> Outcome:
        """Make the call (no store access: it may run with the store lock released) and record it."""
        if endpoint is None:
            outcome = Outcome(error=POST_FAILED, detail="the step's service endpoint no longer exists")
        else:
            with self._http_factory() as http:
                outcome = deliver(http, endpoint, delivery)
        self.deliveries.append(
            DeliveryRecord(
                step_id=step.id,
                step_name=step.name,
                message=message,
                entity=entity,
                mode=step.mode,
                statuses=tuple(attempt.status for attempt in outcome.attempts),
                succeeded=outcome.succeeded,
                error=outcome.error.code if outcome.error else "",
            )
        )
        return outcome

    # -- asynchronous jobs -----------------------------------------------------------------------------

    def _new_job(self, operation: Operation, event: RowEvent, step: Step) -> Job:
        job_id = uuid.uuid4()
        table = self._org.table("asyncoperation")
        if table is None:
            raise LookupError("the organization does not serve the asyncoperation table")
        now = self._org.now_datetime()
        who = Ref("systemuser", operation.caller.user_id)
        row: Row = dict.fromkeys(table.columns)
        row.update(
            asyncoperationid=job_id,
            name=step.name,
            operationtype=SYSTEM_EVENT,
            messagename=event.message,
            primaryentitytype=event.table.logical_name,
            regardingobjectid=Ref(event.table.logical_name, event.row_id),
            owningextensionid=Ref("sdkmessageprocessingstep", step.id),
            correlationid=operation.correlation_id,
            requestid=operation.request_id,
            depth=1,
            retrycount=0,
            statecode=0,
            statuscode=0,
            createdon=now,
            modifiedon=now,
            createdby=who,
            modifiedby=who,
            ownerid=who,
            owningbusinessunit=Ref("businessunit", operation.caller.business_unit_id),
        )
        self._org.store.put("asyncoperation", job_id, row)
        request = self._request(operation, event, step, job_id)
        return Job(job_id, step, event.message, event.table.logical_name, request)

    def _submit(self, job: Job) -> None:
        with self._idle:
            if self._closed:
                return
            self._pending += 1
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="webhook-deliveries", daemon=True)
                self._worker.start()
            # Queued under the lock: a close() cannot slip in between counting the job and queuing it
            # (its stop sentinel would go first and leave the job counted forever).
            self._queue.put(job)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._run(job)
            except Exception as exc:  # one bad job must not stop the deliveries behind it
                _log.exception("webhook delivery of system job %s failed unexpectedly", job.job_id)
                self._fail(job, Outcome(error=POST_FAILED, detail=f"{type(exc).__name__}: {exc}"))
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _set_job(self, job_id: uuid.UUID, **values: Any) -> Row | None:
        store = self._org.store
        with store.lock:
            row = store.get("asyncoperation", job_id)
            if row is None:
                return None
            row.update(values, modifiedon=self._org.now_datetime())
            return store.put("asyncoperation", job_id, row)

    def _run(self, job: Job) -> None:
        started = self._set_job(job.job_id, statecode=2, statuscode=20, startedon=self._org.now_datetime())
        if started is None:
            return  # the job was deleted (or the organization reset) before it ran
        outcome = self._call(job.step, job.message, job.entity, self._endpoint(job.step), job.delivery)
        finished = self._org.now_datetime()
        if outcome.succeeded:
            if job.step.asyncautodelete:
                with self._org.store.lock:
                    self._org.store.remove("asyncoperation", job.job_id)
            else:
                self._set_job(job.job_id, statecode=3, statuscode=30, completedon=finished)
            return
        self._fail(job, outcome)

    def _fail(self, job: Job, outcome: Outcome) -> None:
        """Complete the system job as Failed (31) with the outcome's webhook error."""
        error = outcome.error or POST_FAILED
        self._set_job(
            job.job_id,
            statecode=3,
            statuscode=31,
            completedon=self._org.now_datetime(),
            errorcode=error.number,
            friendlymessage=error.message,
            message=f"{error.message} {outcome.detail}".strip(),
        )

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every queued delivery has run; False when ``timeout`` seconds were not enough."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    @property
    def pending(self) -> int:
        """Deliveries queued or running."""
        with self._idle:
            return self._pending

    def close(self) -> None:
        """Stop the worker after the delivery it is running; queued ones are dropped."""
        with self._idle:
            self._closed = True
            worker = self._worker
        dropped = 0
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            dropped += job is not None
        if worker is not None:
            self._queue.put(None)
        with self._idle:
            self._pending -= dropped
            self._idle.notify_all()


def _name(get: Callable[[str, uuid.UUID], Row | None], reference: Any, column: str) -> str:
    if not isinstance(reference, Ref):
        return ""
    row = get(reference.logical_name, reference.id)
    value = (row or {}).get(column)
    return value if isinstance(value, str) else ""


def _passes_filtering(filtering: Any, event: RowEvent) -> bool:
    """An Update step with filtering attributes fires only when the request wrote one of them."""
    if event.message != "Update" or not isinstance(filtering, str) or not filtering.strip():
        return True
    wanted = {a.strip().lower() for a in filtering.split(",") if a.strip()}
    return bool(wanted & set(event.submitted))


def _setstate_event(event: RowEvent, message: str) -> RowEvent:
    """The SetState-shaped event of a state change made through Update."""
    after: Mapping[str, Any] = event.after or {}
    parameters = {
        "EntityMoniker": EntityReference(event.table.logical_name, event.row_id),
        "State": OptionSetValue(int(after.get("statecode") or event.submitted.get("statecode") or 0)),
        "Status": OptionSetValue(int(after.get("statuscode") or event.submitted.get("statuscode") or -1)),
    }
    return RowEvent(
        message, event.table, event.row_id, before=event.before, after=event.after, parameters=parameters
    )
