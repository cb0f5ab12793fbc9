"""Where each simulated response shape comes from: ``captured`` (with its source) or ``assumed`` (with why).

A simulator is only as faithful as its shapes. Every response body, header or status a simulator produces
is declared once, next to the code that builds it::

    TOKEN_RESPONSE = captured("entra", "token response",
                              "Entra client-credentials doc sample (MicrosoftDocs/entra-docs ...)")

    @assumed("keyvault", "disabled secret 403", "message text not seen in any capture")
    def disabled_secret(name: str) -> JSONResponse: ...

``captured`` means the shape was copied from a real capture or a documented request/response exchange,
and ``source`` says which (a URL or repository path, precise enough to find it again). ``assumed`` means
no capture or document confirms it, and ``source`` says why the simulator does it this way — the client
code must then keep the behaviour configurable rather than hard-code it. ``GET /_admin/shapes`` lists the
shapes of a simulator (``?all=1``: of every simulator in the process).

Both functions register into the process-wide ``SHAPES`` registry and return the ``Shape``, which can also
be used as a decorator (it returns the decorated function unchanged).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Provenance(StrEnum):
    """How sure a simulator is of a shape."""

    CAPTURED = "captured"
    ASSUMED = "assumed"


@dataclass(frozen=True)
class Shape:
    """One simulated response shape and where it comes from."""

    simulator: str
    name: str
    provenance: Provenance
    source: str  # captured: where it was seen; assumed: why it is shaped this way

    def __call__(self, function: F) -> F:
        """Use the shape as a decorator on the function that builds it; the function is unchanged."""
        return function

    def to_json(self) -> dict[str, str]:
        """The shape as a JSON object."""
        return {key: str(value) for key, value in asdict(self).items()}


class ShapeRegistry:
    """Shapes by simulator and name; registering the same name again replaces it (modules may reload)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shapes: dict[tuple[str, str], Shape] = {}

    def register(self, shape: Shape) -> Shape:
        """Add or replace a shape; returns it."""
        if not shape.source.strip():
            raise ValueError(
                f"shape {shape.simulator}/{shape.name} needs a source (or the reason it is assumed)"
            )
        with self._lock:
            self._shapes[(shape.simulator, shape.name)] = shape
        return shape

    def for_simulator(self, simulator: str) -> list[Shape]:
        """The shapes of one simulator, sorted by name."""
        with self._lock:
            return sorted(
                (s for s in self._shapes.values() if s.simulator == simulator), key=lambda s: s.name
            )

    def all(self) -> list[Shape]:
        """Every shape, sorted by simulator and name."""
        with self._lock:
            return sorted(self._shapes.values(), key=lambda s: (s.simulator, s.name))


SHAPES = ShapeRegistry()


def captured(simulator: str, name: str, source: str) -> Shape:
    """Declare a shape copied from a real capture or documented exchange; ``source`` says where."""
    return SHAPES.register(Shape(simulator, name, Provenance.CAPTURED, source))


def assumed(simulator: str, name: str, why: str) -> Shape:
    """Declare a shape no capture confirms; ``why`` explains the choice."""
    return SHAPES.register(Shape(simulator, name, Provenance.ASSUMED, why))
