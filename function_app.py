"""Every trigger of the connector, thin: parse the input, call a handler in ``shared``, return.

This file is the map of the app. Settings are read per feature when a function runs, so a missing
setting for one feature never stops the others from loading; /api/health reports what is missing.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import azure.functions as func

from shared import bootstrap
from shared.config import AppSettings, ConfigError, HeartbeatSettings, SyncSettings
from shared.platform import health as health_report
from shared.platform import telemetry
from shared.runtime import sync_runtime
from shared.sync import heartbeat as heartbeat_flow
from shared.sync.registry import mapping_problems
from shared.sync.worker import handle_message

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
        mappings = mapping_problems(settings.get(SyncSettings).mappings_dir)
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


def _poll(entity: str) -> None:
    sync_runtime(AppSettings.from_environment()).poll(entity)


def _work(entity: str, msg: func.QueueMessage) -> None:
    runtime = sync_runtime(AppSettings.from_environment())
    handle_message(
        runtime.engine,
        entity,
        msg.get_body(),
        message_id=str(msg.id),
        parking=runtime.storage.parked,
        queue=runtime.entities[entity].queue,
    )


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
