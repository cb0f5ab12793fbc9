"""Every trigger of the connector, thin: parse the input, call a handler in ``shared``, return.

This file is the map of the app. Settings are read per feature when a function runs, so a missing
setting for one feature never stops the others from loading; /api/health reports what is missing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from shared import bootstrap, d365_runtime, d365_webhook
from shared.config import AppSettings, ConfigError, HeartbeatSettings, SyncSettings
from shared.ops.runtime import Operations, operations, purge_state
from shared.platform import health as health_report
from shared.platform import telemetry
from shared.sync import heartbeat as heartbeat_flow
from shared.sync.jobs import UnknownJobError
from shared.sync.registry import mapping_problems

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
# A malformed connection string is reported by /api/health; it must not stop the app from loading.
with contextlib.suppress(ConfigError):
    telemetry.configure(AppSettings.from_environment())


@app.function_name("health")
@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Anonymous: whether each feature's settings are complete, naming the problem settings only."""
    return _health(detailed=False)


@app.function_name("health_details")
@app.route(route="health/details", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def health_details(req: func.HttpRequest) -> func.HttpResponse:
    """With a function key: the same report with each problem's message (never a secret value)."""
    return _health(detailed=True)


def _health(*, detailed: bool) -> func.HttpResponse:
    settings = AppSettings.from_environment()
    body = health_report.report(settings, detailed=detailed)
    with contextlib.suppress(ConfigError):  # a bad SYNC_MAPPINGS_DIR is already in the report
        sync = settings.get(SyncSettings)
        mappings = mapping_problems(sync.mappings_dir) | d365_runtime.mapping_problems(sync)
        if mappings:  # a bad mapping disables its entity only; the others keep running
            body["status"] = "degraded"
            body["mappings"] = mappings if detailed else sorted(mappings)
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")


@app.function_name("heartbeat")
@app.timer_trigger(schedule="%HEARTBEAT_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=False)
def heartbeat(timer: func.TimerRequest) -> None:
    """Enqueue a heartbeat for the echo worker."""
    settings = AppSettings.from_environment()
    queue = settings.get(HeartbeatSettings).echo_queue
    heartbeat_flow.send_heartbeat(
        bootstrap.storage(settings).publisher, queue, datetime.now(UTC), past_due=timer.past_due
    )


@app.function_name("heartbeat_echo")
@app.queue_trigger(arg_name="msg", queue_name="%ECHO_QUEUE%", connection="AzureWebJobsStorage")
def heartbeat_echo(msg: func.QueueMessage) -> None:
    """Record the heartbeat's arrival in the audit trail (a malformed message is parked)."""
    settings = AppSettings.from_environment()
    services = bootstrap.storage(settings)
    queue = settings.get(HeartbeatSettings).echo_queue
    heartbeat_flow.record_echo(
        str(msg.id),
        msg.get_body(),
        audit=services.audit,
        parking=services.parked,
        queue=queue,
        now=datetime.now(UTC),
    )


# ---- IFS → Dynamics: a poll (timer) and a worker (queue) per entity ------------------------------------


def _ops() -> Operations:
    return operations(AppSettings.from_environment())


def _poll(entity: str) -> None:
    _ops().poll(entity)  # skipped while the entity is paused; records the run and the gauges


def _work(entity: str, msg: func.QueueMessage) -> None:
    _ops().work(entity, msg.get_body(), message_id=str(msg.id))  # held while the entity is paused


@app.function_name("poll_customers")
@app.timer_trigger(
    schedule="%SYNC_CUSTOMERS_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=False
)
def poll_customers(timer: func.TimerRequest) -> None:
    """Detect changed IFS customers and enqueue them."""
    _poll("customers")


@app.function_name("sync_customers")
@app.queue_trigger(arg_name="msg", queue_name="%SYNC_CUSTOMERS_QUEUE%", connection="AzureWebJobsStorage")
def sync_customers(msg: func.QueueMessage) -> None:
    """Write the current state of changed IFS customers to Dataverse accounts."""
    _work("customers", msg)


@app.function_name("poll_sales_parts")
@app.timer_trigger(
    schedule="%SYNC_SALES_PARTS_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=False
)
def poll_sales_parts(timer: func.TimerRequest) -> None:
    """Detect changed IFS sales parts and enqueue them."""
    _poll("sales_parts")


@app.function_name("sync_sales_parts")
@app.queue_trigger(arg_name="msg", queue_name="%SYNC_SALES_PARTS_QUEUE%", connection="AzureWebJobsStorage")
def sync_sales_parts(msg: func.QueueMessage) -> None:
    """Write the current state of changed IFS sales parts to Dataverse products and price lists."""
    _work("sales_parts", msg)


@app.function_name("poll_orders")
@app.timer_trigger(
    schedule="%SYNC_ORDERS_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=False
)
def poll_orders(timer: func.TimerRequest) -> None:
    """Detect changed IFS customer orders (with their lines and charges) and enqueue them."""
    _poll("orders")


@app.function_name("sync_orders")
@app.queue_trigger(arg_name="msg", queue_name="%SYNC_ORDERS_QUEUE%", connection="AzureWebJobsStorage")
def sync_orders(msg: func.QueueMessage) -> None:
    """Write the current state of changed IFS orders to Dataverse sales orders and their lines."""
    _work("orders", msg)


@app.function_name("poll_quotations")
@app.timer_trigger(
    schedule="%SYNC_QUOTATIONS_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=False
)
def poll_quotations(timer: func.TimerRequest) -> None:
    """Detect changed IFS sales quotations (with their lines) and enqueue them."""
    _poll("quotations")


@app.function_name("sync_quotations")
@app.queue_trigger(arg_name="msg", queue_name="%SYNC_QUOTATIONS_QUEUE%", connection="AzureWebJobsStorage")
def sync_quotations(msg: func.QueueMessage) -> None:
    """Write the current state of changed IFS quotations to Dataverse quotes and their lines."""
    _work("quotations", msg)


# ---- Dynamics → IFS: the webhook (enqueues only), the order worker, reconciliation, opportunities ----------


@app.function_name("dataverse_webhook")
@app.route(route="webhooks/dataverse", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def dataverse_webhook(req: func.HttpRequest) -> func.HttpResponse:
    """Dataverse's webhook: authenticated, parsed and queued here; 202, or 4xx with a reason.

    The handler checks the secret (header or ?code=, constant time) itself; it never calls Dataverse.
    """
    reply = d365_webhook.answer(
        AppSettings.from_environment(), dict(req.headers), dict(req.params), req.get_body()
    )
    return func.HttpResponse(reply.text(), status_code=reply.status, mimetype="application/json")


@app.function_name("d365_orders")
@app.queue_trigger(arg_name="msg", queue_name="%D365_ORDERS_QUEUE%", connection="AzureWebJobsStorage")
def d365_orders(msg: func.QueueMessage) -> None:
    """Make a Dynamics order exist in IFS exactly once, and pass on fulfil and cancel requests."""
    runtime = d365_runtime.d365_runtime(AppSettings.from_environment())
    runtime.orders.handle(msg.get_body(), message_id=str(msg.id))


@app.function_name("reconcile_d365_orders")
@app.timer_trigger(
    schedule="%D365_RECONCILE_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=False
)
def reconcile_d365_orders(timer: func.TimerRequest) -> None:
    """Enqueue Dynamics orders that should be in IFS but are not (a webhook never delivered); purge marks."""
    d365_runtime.d365_runtime(AppSettings.from_environment()).reconcile()


@app.function_name("poll_d365_opportunities")
@app.timer_trigger(
    schedule="%D365_OPPORTUNITIES_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=False
)
def poll_d365_opportunities(timer: func.TimerRequest) -> None:
    """Read changed opportunities and leads (change tracking) and enqueue them."""
    d365_runtime.d365_runtime(AppSettings.from_environment()).opportunity_poller.poll()


@app.function_name("d365_opportunities")
@app.queue_trigger(arg_name="msg", queue_name="%D365_OPPORTUNITIES_QUEUE%", connection="AzureWebJobsStorage")
def d365_opportunities(msg: func.QueueMessage) -> None:
    """Write changed opportunities and leads to IFS business opportunities."""
    runtime = d365_runtime.d365_runtime(AppSettings.from_environment())
    runtime.opportunity_worker.handle(msg.get_body(), message_id=str(msg.id))


@app.function_name("manage_provision")
@app.route(route="manage/provision", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def manage_provision(req: func.HttpRequest) -> func.HttpResponse:
    """With the master key: what ``python -m shared.cli provision`` does, by the same code."""
    settings = AppSettings.from_environment()
    client = bootstrap.dataverse_client(settings, verify=bootstrap.tls_verify(settings))
    done = d365_runtime.provision_all(
        settings, client, notify=lambda _notice: None
    )  # notices are in the answer
    return func.HttpResponse(json.dumps(done.to_json()), status_code=200, mimetype="application/json")


@app.function_name("manage_deprovision")
@app.route(route="manage/deprovision", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def manage_deprovision(req: func.HttpRequest) -> func.HttpResponse:
    """With the master key: what ``python -m shared.cli deprovision`` does, by the same code."""
    settings = AppSettings.from_environment()
    client = bootstrap.dataverse_client(settings, verify=bootstrap.tls_verify(settings))
    report = d365_runtime.deprovision_d365(settings, client)
    return func.HttpResponse(
        json.dumps(dataclasses.asdict(report)), status_code=200, mimetype="application/json"
    )


# ---- operations: admin HTTP functions (admin key), the jobs timer and the purge timer ---------------------
# Routes may not start with "admin" (the host's own API), hence "ops/". Reconcile and backfill outlast the
# 230 s an HTTP call may take in Azure: they are queued as jobs (202 with the job's URL) for the jobs timer.


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, default=str), status_code=status, mimetype="application/json", headers=headers
    )


def _answer(work: Callable[[], Any], status: int = 200) -> func.HttpResponse:
    try:
        return _json(work(), status)
    except (ValueError, UnknownJobError) as exc:  # a bad request: say why
        return _json({"error": str(exc)}, 400)


def _body(req: func.HttpRequest) -> dict[str, Any]:
    if not req.get_body():
        return {}
    try:
        body = req.get_json()
    except ValueError as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


@app.function_name("ops_status")
@app.route(route="ops/status", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def ops_status(req: func.HttpRequest) -> func.HttpResponse:
    """Per entity: position, last runs, lag, queue depth, poison and parked counts (?entity=E for one)."""
    entity = req.params.get("entity")
    return _answer(lambda: {"entities": [s.to_json() for s in _ops().status([entity] if entity else None)]})


@app.function_name("ops_replay")
@app.route(route="ops/replay", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def ops_replay(req: func.HttpRequest) -> func.HttpResponse:
    """Replay poison messages and parked records: {what?, entity?, key?, error_class?, dry_run?}."""

    def work() -> Any:
        body = _body(req)
        unknown = sorted(set(body) - {"what", "entity", "key", "error_class", "dry_run"})
        if unknown:
            raise ValueError(f"unknown field {', '.join(unknown)}")
        return _ops().replay(**body).to_json()

    return _answer(work)


def _submit(req: func.HttpRequest, kind: str) -> func.HttpResponse:
    def work() -> Any:
        job = _ops().submit(kind, _body(req))
        return {
            "job": job.id,
            "kind": job.kind,
            "status": job.status,
            "status_url": f"/api/ops/jobs/{job.id}",
        }

    response = _answer(work, 202)
    if response.status_code == 202:
        response.headers["Location"] = json.loads(response.get_body())["status_url"]
    return response


@app.function_name("ops_reconcile")
@app.route(route="ops/reconcile", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def ops_reconcile(req: func.HttpRequest) -> func.HttpResponse:
    """Queue a reconcile job: {entity, fix?} -> 202 with the job's status URL."""
    return _submit(req, "reconcile")


@app.function_name("ops_backfill")
@app.route(route="ops/backfill", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def ops_backfill(req: func.HttpRequest) -> func.HttpResponse:
    """Queue a backfill job: {entity, since?, force?} -> 202 with the job's status URL."""
    return _submit(req, "backfill")


@app.function_name("ops_job")
@app.route(route="ops/jobs/{job_id}", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def ops_job(req: func.HttpRequest) -> func.HttpResponse:
    """One job: status, progress, and its result once done."""
    job = _ops().jobs.get(req.route_params.get("job_id", ""))
    if job is None:
        return _json({"error": "no such job"}, 404)
    return _json(
        {
            "job": job.id,
            "kind": job.kind,
            "params": dict(job.params),
            "status": job.status,
            "done": job.done,
            "total": job.total,
            "created_at": job.created_at,
            "updated_at": job.updated_at,
            "finished_at": job.finished_at,
            "result": job.result,
            "error": job.error,
        }
    )


@app.function_name("run_jobs")
@app.timer_trigger(schedule="%OPS_JOBS_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=False)
def run_jobs(timer: func.TimerRequest) -> None:
    """Run queued reconcile and backfill jobs, one slice at a time (OPS_JOB_SLICE_SECONDS)."""
    _ops().run_jobs()


@app.function_name("purge_state")
@app.timer_trigger(schedule="%PURGE_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=False)
def purge_state_timer(timer: func.TimerRequest) -> None:
    """Delete audit rows and finished jobs past AUDIT_RETENTION_DAYS, and expired webhook dedupe claims."""
    purge_state(AppSettings.from_environment())
