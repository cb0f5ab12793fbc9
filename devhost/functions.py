"""Discover the functions of a v2 Python app and call them the way the worker does.

``app.get_functions()`` may be called only once per FunctionApp (it keeps names across calls), so
discovery happens once per loaded app. Binding expressions such as ``%ECHO_QUEUE%`` are resolved from
app settings, and a missing setting is an error that names it, as the real host reports it.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

_EXPRESSION = re.compile(r"%([^%]+)%")


class FunctionIndexError(RuntimeError):
    """The app could not be indexed: a binding the local host cannot serve, or an unresolved setting."""


def resolve(value: str, settings: Mapping[str, str]) -> str:
    """Replace ``%NAME%`` binding expressions with app-setting values."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in settings:
            raise FunctionIndexError(f"binding expression %{name}% refers to a missing app setting {name}")
        return settings[name]

    return _EXPRESSION.sub(lookup, value)


class Capture(func.Out[Any]):
    """Receives what a function sets on an output binding."""

    def __init__(self) -> None:
        self.value: Any = None

    def set(self, val: Any) -> None:
        """Record the value the function set."""
        self.value = val

    def get(self) -> Any:
        """The recorded value."""
        return self.value


@dataclass(frozen=True)
class QueueOutput:
    """A queue output binding: argument name and target queue."""

    arg_name: str
    queue_name: str
    connection: str


@dataclass(frozen=True)
class LocalFunction:
    """One indexed function: its trigger, the trigger's settings and its output bindings."""

    name: str
    trigger: str  # "httpTrigger", "timerTrigger" or "queueTrigger"
    arg_name: str
    user_function: Callable[..., Any]
    trigger_settings: dict[str, Any]
    queue_outputs: tuple[QueueOutput, ...] = field(default_factory=tuple)

    def invoke(self, trigger_value: Any) -> tuple[Any, dict[str, Capture]]:
        """Call the function with its trigger value and fresh output captures; returns (result, captures)."""
        captures = {out.arg_name: Capture() for out in self.queue_outputs}
        kwargs: dict[str, Any] = {self.arg_name: trigger_value, **captures}
        if inspect.iscoroutinefunction(self.user_function):
            result = asyncio.run(self.user_function(**kwargs))
        else:
            result = self.user_function(**kwargs)
        return result, captures


SUPPORTED_TRIGGERS = {"httpTrigger", "timerTrigger", "queueTrigger"}


def index_app(app: func.FunctionApp, settings: Mapping[str, str]) -> list[LocalFunction]:
    """Index every function of ``app`` (call once per app), resolving binding expressions."""
    indexed = []
    for function in app.get_functions():
        bindings = json.loads(function.get_function_json())["bindings"]
        trigger = next(b for b in bindings if b["type"].endswith("Trigger"))
        if trigger["type"] not in SUPPORTED_TRIGGERS:
            raise FunctionIndexError(
                f"{function.get_function_name()}: devhost cannot serve {trigger['type']}"
            )
        outputs = []
        for binding in bindings:
            if binding["direction"] != "OUT" or binding["type"] == "http":
                continue
            if binding["type"] != "queue":
                raise FunctionIndexError(
                    f"{function.get_function_name()}: devhost cannot serve output binding {binding['type']}"
                )
            outputs.append(
                QueueOutput(binding["name"], resolve(binding["queueName"], settings), binding["connection"])
            )
        trigger_settings = {k: resolve(v, settings) if isinstance(v, str) else v for k, v in trigger.items()}
        indexed.append(
            LocalFunction(
                name=str(function.get_function_name()),
                trigger=trigger["type"],
                arg_name=trigger["name"],
                user_function=function.get_user_function(),
                trigger_settings=trigger_settings,
                queue_outputs=tuple(outputs),
            )
        )
    return indexed


def load_app(module_name: str) -> func.FunctionApp:
    """Import ``module_name`` afresh (a new FunctionApp, so it can be indexed) and return its ``app``."""
    module = importlib.import_module(module_name)
    module = importlib.reload(module)
    app = getattr(module, "app", None)
    if not isinstance(app, func.FunctionApp):
        raise FunctionIndexError(f"{module_name} has no FunctionApp named 'app'")
    return app
