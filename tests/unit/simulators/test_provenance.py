"""Provenance registry: every simulated shape says whether it was captured or assumed, and why."""

from __future__ import annotations

import pytest

from simulators.common.provenance import SHAPES, Provenance, Shape, ShapeRegistry, assumed, captured


def test_registry_lists_shapes_per_simulator() -> None:
    """Shapes are grouped by simulator and sorted by name."""
    registry = ShapeRegistry()
    registry.register(Shape("a", "z-shape", Provenance.CAPTURED, "doc X"))
    registry.register(Shape("a", "b-shape", Provenance.ASSUMED, "no capture"))
    registry.register(Shape("b", "other", Provenance.ASSUMED, "no capture"))
    assert [s.name for s in registry.for_simulator("a")] == ["b-shape", "z-shape"]
    assert len(registry.all()) == 3


def test_registering_again_replaces() -> None:
    """Re-declaring a shape (a module reload) replaces it instead of duplicating it."""
    registry = ShapeRegistry()
    registry.register(Shape("a", "s", Provenance.ASSUMED, "first"))
    registry.register(Shape("a", "s", Provenance.CAPTURED, "second"))
    assert [s.source for s in registry.for_simulator("a")] == ["second"]


def test_a_shape_needs_a_source() -> None:
    """A captured shape without a source, or an assumed one without a reason, is refused."""
    with pytest.raises(ValueError, match="needs a source"):
        ShapeRegistry().register(Shape("a", "s", Provenance.CAPTURED, " "))


def test_helpers_register_globally_and_decorate_unchanged() -> None:
    """captured/assumed register in SHAPES; the returned shape decorates a function without wrapping it."""

    @assumed("unit-test-sim", "builder", "made up for this test")
    def builder() -> str:
        return "body"

    shape = captured("unit-test-sim", "captured one", "https://example.invalid/capture")
    assert builder() == "body"
    assert shape.to_json() == {
        "simulator": "unit-test-sim",
        "name": "captured one",
        "provenance": "captured",
        "source": "https://example.invalid/capture",
    }
    assert {s.name for s in SHAPES.for_simulator("unit-test-sim")} == {"builder", "captured one"}


def test_identity_simulators_declare_their_shapes() -> None:
    """Importing the Entra and Key Vault simulators registers both captured and assumed shapes."""
    import simulators.entra.app  # noqa: PLC0415 -- registration happens on import
    import simulators.keyvault.app  # noqa: F401, PLC0415

    for simulator in ("entra", "keyvault"):
        kinds = {s.provenance for s in SHAPES.for_simulator(simulator)}
        assert kinds == {Provenance.CAPTURED, Provenance.ASSUMED}
