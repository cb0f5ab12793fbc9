"""``python -m simulators.ifs`` serves a seeded tenant with the options it was given."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[3]


def test_standalone_simulator_serves_seeded_data() -> None:
    """Started with seed, size and realm options, it hands out a token and answers a count with $top."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators.ifs",
            "--port",
            "0",
            "--size",
            "30",
            "--seed",
            "9",
            "--realm",
            "demo1",
            "--client-id",
            "cli",
            "--client-secret",
            "s3",
            "--no-captures",
            "--latency-ms",
            "1",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("serving on http://127.0.0.1:")
        url = line.removeprefix("serving on ")
        with httpx.Client(base_url=url, timeout=10, trust_env=False) as http:
            token = http.post(
                "/auth/realms/demo1/protocol/openid-connect/token",
                data={"grant_type": "client_credentials", "client_id": "cli", "client_secret": "s3"},
            ).json()["access_token"]
            body = http.get(
                "/main/ifsapplications/projection/v1/CustomerOrderHandling.svc/CustomerOrderSet",
                params={"$select": "OrderNo", "$count": "true", "$top": "1"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            plan = http.get("/_admin/faults").json()["plan"]
        assert body["@odata.count"] == 30
        assert plan["latency_ms"] == 1
    finally:
        process.terminate()
        process.wait(timeout=10)
