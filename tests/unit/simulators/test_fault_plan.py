"""Fault plans: parsing the JSON, and the order in which the injector hands out faults."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.common.faults import Fault, FaultInjector, FaultKind, FaultPlan, FaultPlanError, LateCommit


def labels(injector: FaultInjector, count: int, method: str = "GET", path: str = "/x") -> list[str]:
    return [injector.next_fault(method, path).label for _ in range(count)]


def test_default_plan_injects_nothing() -> None:
    """A fresh injector lets every request through untouched."""
    assert labels(FaultInjector(), 50) == ["ok"] * 50


def test_script_shorthands_are_consumed_in_order_then_requests_pass() -> None:
    """Names and status codes in the script map to faults, one per request, in order."""
    injector = FaultInjector()
    injector.set_plan(FaultPlan.from_json({"script": ["throttle", 503, "drop", "ok", 429, 500, "latency"]}))
    faults = [injector.next_fault("GET", "/x") for _ in range(8)]
    assert [f.label for f in faults] == [
        "throttle",
        "error",
        "drop",
        "ok",
        "throttle",
        "error",
        "latency",
        "ok",
    ]
    assert [f.status for f in faults[:6]] == [429, 503, 0, 200, 429, 500]


def test_step_objects_carry_parameters_and_repeat() -> None:
    """An object step sets status, Retry-After, latency, after and times."""
    plan = FaultPlan.from_json(
        {
            "script": [
                {"kind": "throttle", "retry_after": 0, "times": 2},
                {"kind": "error", "status": 504, "after": True},
                {"kind": "drop", "after": True, "latency_ms": 20},
            ]
        }
    )
    assert plan.script == (
        Fault(FaultKind.THROTTLE, 429, retry_after=0),
        Fault(FaultKind.THROTTLE, 429, retry_after=0),
        Fault(FaultKind.ERROR, 504, after=True),
        Fault(FaultKind.DROP, 0, latency_ms=20, after=True),
    )
    assert [f.label for f in plan.script] == ["throttle", "throttle", "error_after", "drop_after"]


def test_plan_defaults_shape_the_shorthand_steps() -> None:
    """retry_after_seconds, error_status and latency_ms apply to steps that do not say otherwise."""
    plan = FaultPlan.from_json(
        {
            "script": ["throttle", "error", "latency"],
            "retry_after_seconds": 9,
            "error_status": 502,
            "latency_ms": 5,
        }
    )
    assert plan.script == (
        Fault(FaultKind.THROTTLE, 429, retry_after=9),
        Fault(FaultKind.ERROR, 502),
        Fault(latency_ms=5),
    )


def test_same_seed_gives_the_same_faults() -> None:
    """Random faults come from a seeded RNG: replaying the plan replays the outcomes."""
    plan = FaultPlan.from_json(
        {"rates": {"throttle": 0.3, "error": 0.2, "drop": 0.1, "latency": 0.5}, "seed": 42}
    )
    injector = FaultInjector()
    injector.set_plan(plan)
    first = labels(injector, 200)
    injector.set_plan(plan)
    assert labels(injector, 200) == first
    assert {"ok", "latency", "throttle", "error", "drop"} <= set(first)


def test_different_seeds_give_different_faults() -> None:
    """The seed is what fixes the sequence."""
    injector = FaultInjector()
    injector.set_plan(FaultPlan.from_json({"rates": {"error": 0.5}, "seed": 1}))
    one = labels(injector, 64)
    injector.set_plan(FaultPlan.from_json({"rates": {"error": 0.5}, "seed": 2}))
    assert labels(injector, 64) != one


def test_script_runs_before_rates() -> None:
    """Scripted steps come first; the rates take over afterwards."""
    injector = FaultInjector()
    injector.set_plan(FaultPlan.from_json({"script": ["ok", "ok"], "rates": {"error": 1}}))
    assert labels(injector, 4) == ["ok", "ok", "error", "error"]


def test_only_matching_requests_see_faults_or_consume_steps() -> None:
    """Paths and methods filter which requests the plan applies to."""
    injector = FaultInjector()
    injector.set_plan(FaultPlan.from_json({"script": ["error"], "paths": ["/api/*"], "methods": ["post"]}))
    assert injector.next_fault("GET", "/api/x").label == "ok"
    assert injector.next_fault("POST", "/other").label == "ok"
    assert injector.next_fault("POST", "/api/x").label == "error"
    assert injector.remaining_script() == []


def test_plan_round_trips_through_json() -> None:
    """to_json produces a plan that parses back to the same plan."""
    plan = FaultPlan.from_json(
        {
            "script": ["drop_after", {"kind": "error", "status": 500, "retry_after": 3}],
            "rates": {"throttle": 0.1},
            "seed": 5,
            "paths": ["/a"],
            "methods": ["GET"],
        }
    )
    assert FaultPlan.from_json(plan.to_json()) == plan


@pytest.mark.parametrize(
    ("plan", "reason"),
    [
        ({"script": ["dorp"]}, "script[0]: unknown fault 'dorp'"),
        ({"script": [302]}, "script[0]: status 302 is not a fault"),
        (
            {"script": [{"kind": "drop", "status": 500}]},
            "'status' applies only to error and commit_late steps",
        ),
        (
            {"script": [{"kind": "ok", "after": True}]},
            "'after' is a boolean and applies only to error and drop",
        ),
        ({"script": [{"status": 500}]}, "'kind' is required"),
        ({"script": [{"kind": "error", "colour": "red"}]}, "unknown keys ['colour']"),
        ({"rates": {"throttle": 0.7, "error": 0.5}}, "must not exceed 1"),
        ({"rates": {"error": 2}}, "rates.error: expected a number in [0, 1]"),
        ({"rates": {"teapot": 0.1}}, "rates: expected an object"),
        ({"retry_after_seconds": -1}, "retry_after_seconds: expected an integer"),
        ({"sript": []}, "unknown keys ['sript']"),
        ([], "a fault plan is a JSON object"),
    ],
)
def test_malformed_plans_are_rejected_with_the_reason(plan: Any, reason: str) -> None:
    """Each mistake is reported with where it is and what was expected."""
    with pytest.raises(FaultPlanError) as caught:
        FaultPlan.from_json(plan)
    assert reason in str(caught.value)


def test_commit_late_steps_parse_with_their_answer_and_delay() -> None:
    """commit_late: no answer by default (held until the client gives up), or a gateway's status."""
    plan = FaultPlan.from_json(
        {"script": ["commit_late", {"kind": "commit_late", "status": 504, "after_requests": 3}]}
    )
    assert plan.script == (
        Fault(FaultKind.COMMIT_LATE, 0),
        Fault(FaultKind.COMMIT_LATE, 504, after_requests=3),
    )
    assert [f.label for f in plan.script] == ["commit_late", "commit_late"]
    assert FaultPlan.from_json(plan.to_json()) == plan


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        ({"kind": "error", "after_requests": 2}, "'after_requests' applies only to commit_late steps"),
        ({"kind": "commit_late", "after_requests": 0}, "after_requests: expected an integer in \\[1"),
        ({"kind": "commit_late", "status": 200}, "status: expected an integer in \\[400, 599\\]"),
    ],
)
def test_malformed_commit_late_steps_are_refused(step: dict[str, Any], reason: str) -> None:
    """Its parameters are checked like every other step's."""
    with pytest.raises(FaultPlanError, match=reason):
        FaultPlan.from_json({"script": [step]})


def test_held_requests_fall_due_after_their_count_of_later_requests() -> None:
    """Only ready commits count down, one per arriving request; a discarded one never falls due."""
    injector = FaultInjector()
    first = LateCommit({}, b"1", remaining=2)
    waiting = LateCommit({}, b"2", remaining=1)
    injector.hold(first)
    injector.hold(waiting)
    injector.mark_ready(first)
    assert injector.due() == []
    assert injector.due() == [first]
    assert injector.held() == 1
    assert injector.discard_held() == 1
    injector.mark_ready(waiting)
    assert injector.due() == []
