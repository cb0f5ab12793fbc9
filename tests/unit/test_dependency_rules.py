"""Dependencies point one way, checked on every module's imports.

See docs/architecture.md, "Layout and dependencies".
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def imports(package: str) -> list[tuple[str, str]]:
    """(module file, imported name) for every import in ``package``."""
    found = []
    for path in sorted((REPO / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(REPO)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(REPO)), node.module))
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(f, m) for f, m in imports(package) if any(m == p or m.startswith(p + ".") for p in forbidden)]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        # The connector never depends on dev/test code (left out of deployment by .funcignore).
        ("shared", ("simulators", "devhost", "tests", "bench")),
        # The service layer receives adapters; it knows neither the Functions runtime nor HTTP nor Azure SDKs.
        (
            "shared/sync",
            ("azure", "httpx", "shared.state", "shared.ifs", "shared.dataverse", "shared.bootstrap"),
        ),
        # Adapters satisfy the ports structurally and never import the service layer.
        ("shared/state", ("shared.sync",)),
        ("shared/ifs", ("shared.sync",)),
        ("shared/dataverse", ("shared.sync",)),
    ],
)
def test_no_forbidden_imports(package: str, forbidden: tuple[str, ...]) -> None:
    """No module of the package imports what its layer must not see."""
    assert imports(package), f"no modules found under {package}"
    assert offenders(package, forbidden) == []
