"""Run function_app.py locally, as ``func start`` would: ``python -m devhost [--duration S] [--port N]``.

Settings come from ``local.settings.json`` (copy ``local.settings.sample.json``) and the environment;
the environment wins. Storage must be reachable: ``python -m devhost.azurite -- python -m devhost``
starts Azurite for the run.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from devhost.host import REPO_ROOT, LocalHost
from shared.config import AppSettings


def main(argv: list[str]) -> int:
    """Run the host until interrupted, for ``--duration`` seconds, or (``--drain``) until queues are empty."""
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("--app", default="function_app", help="module holding the FunctionApp named 'app'")
    parser.add_argument("--port", type=int, default=7071, help="HTTP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--drain", action="store_true", help="stop once every trigger queue is empty")
    parser.add_argument("--settings", type=Path, default=REPO_ROOT / "local.settings.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = dict(AppSettings.from_environment(local_settings=args.settings).values)
    host = LocalHost(app_module=args.app, settings=settings, http_port=args.port)
    host.start(background=not args.drain)
    print(
        f"devhost: {len(host.functions)} functions; HTTP on {host.url}/{host.host_settings.route_prefix}/",
        flush=True,
    )
    for function in host.functions.values():
        print(
            f"  {function.name}: {function.trigger} {function.trigger_settings.get('route') or ''}",
            flush=True,
        )
    try:
        if args.drain:
            return 0 if host.drain(timeout=args.duration or 300) else 1
        if args.duration is not None:
            host.run_for(args.duration)
        else:
            host.run_for(float("inf"))
    except KeyboardInterrupt:
        pass
    finally:
        host.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
