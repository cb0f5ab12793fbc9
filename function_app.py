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
from shared.config import AppSettings, ConfigError, HeartbeatSettings
from shared.platform import health as health_report
from shared.platform import telemetry
from shared.sync import heartbeat as heartbeat_flow

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
# A malformed connection string is reported by /api/health; it must not stop the app from loading.
with contextlib.suppress(ConfigError):
    telemetry.configure(AppSettings.from_environment())


@app.function_name("health")
@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Anonymous: whether each feature's settings are complete, naming the problem settings only."""
    body = health_report.report(AppSettings.from_environment(), detailed=False)
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")


@app.function_name("health_details")
@app.route(route="health/details", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def health_details(req: func.HttpRequest) -> func.HttpResponse:
    """With a function key: the same report with each problem's message (never a secret value)."""
    body = health_report.report(AppSettings.from_environment(), detailed=True)
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
