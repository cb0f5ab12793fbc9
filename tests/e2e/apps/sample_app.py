"""A function app exercising every trigger kind devhost serves (used only by the devhost tests)."""

from __future__ import annotations

import json
import os

import azure.functions as func
from azure.storage.queue import QueueClient

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="echo/{item_id:int}/{rest?}", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def echo(req: func.HttpRequest) -> func.HttpResponse:
    """Echo what the request carried."""
    payload = {
        "method": req.method,
        "route": dict(req.route_params),
        "params": dict(req.params),
        "body": req.get_body().decode(),
        "header": req.headers.get("x-sample"),
    }
    return func.HttpResponse(json.dumps(payload), status_code=201, mimetype="application/json")


@app.route(route="secured", methods=["GET"])
def secured(req: func.HttpRequest) -> func.HttpResponse:
    """Reachable with a function key."""
    return func.HttpResponse("secret ok")


@app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
async def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    """Reachable only with the master key (and async)."""
    return func.HttpResponse("admin ok")


@app.route(route="boom", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    """Fails, as a function with a bug would."""
    raise RuntimeError("bug")


@app.route(route="items/{item}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def item(req: func.HttpRequest) -> func.HttpResponse:
    """Registered before items/new, which must still win for that path (literal before parameter)."""
    return func.HttpResponse(f"item {req.route_params['item']}")


@app.route(route="items/new", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def new_item(req: func.HttpRequest) -> func.HttpResponse:
    """The literal route."""
    return func.HttpResponse("new item form")


@app.route(route="codes/{code:length(5):alpha}", auth_level=func.AuthLevel.ANONYMOUS)
def code(req: func.HttpRequest) -> func.HttpResponse:
    """Constraints with arguments, chained; no methods listed, so every method is accepted."""
    return func.HttpResponse(f"{req.method} {req.route_params['code']}")


@app.timer_trigger(schedule="%SAMPLE_SCHEDULE%", arg_name="timer", run_on_startup=False)
@app.queue_output(arg_name="out", queue_name="%SAMPLE_QUEUE%", connection="AzureWebJobsStorage")
def tick(timer: func.TimerRequest, out: func.Out[str]) -> None:
    """Put a message on the sample queue."""
    out.set(json.dumps({"past_due": timer.past_due, "say": "hello"}))


@app.queue_trigger(arg_name="msg", queue_name="%SAMPLE_QUEUE%", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="out", queue_name="%SAMPLE_QUEUE%-done", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage, out: func.Out[str]) -> None:
    """Forward the message and its dequeue count; "fail" always fails; "big" sets an unsendable output."""
    body = json.loads(msg.get_body())
    if body.get("say") == "steal":
        # Another consumer takes the lease (as when an invocation outlives it): the host's delete must fail.
        queue = QueueClient.from_connection_string(
            os.environ["AzureWebJobsStorage"], os.environ["SAMPLE_QUEUE"]
        )
        queue.update_message(str(msg.id), msg.pop_receipt, visibility_timeout=0)
    if body.get("say") == "big":
        out.set("x" * 70_000)  # a queue message may hold 64 KiB: the output binding fails, not the function
        return
    if body.get("say") == "fail":
        raise ValueError("asked to fail")
    if body.get("say") == "fail-once" and msg.dequeue_count == 1:
        raise ValueError("first try fails")
    out.set(json.dumps({**body, "dequeue_count": msg.dequeue_count, "pid": os.getpid()}))
