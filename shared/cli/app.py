"""Parse the command line, load settings, run one command, and turn failures into exit codes.

Each command is a ``Command``: a name, a one-line help, a function that adds its arguments and one that
runs it. Commands live in their own modules and are listed in ``COMMANDS``; adding one is a module and a
line here.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from shared.cli import check_command, ops_commands, sync_commands
from shared.cli.context import EXIT_UNAVAILABLE, EXIT_USAGE, Context
from shared.config import AppSettings, ConfigError
from shared.dataverse.errors import DataverseError
from shared.ifs.errors import IfsError
from shared.sync.mapping.load import MappingError


@dataclass(frozen=True)
class Command:
    """One command of the command line."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Context], int]


COMMANDS: tuple[Command, ...] = (
    Command(
        "provision", sync_commands.PROVISION_HELP, sync_commands.configure_provision, sync_commands.provision
    ),
    Command(
        "deprovision",
        sync_commands.DEPROVISION_HELP,
        sync_commands.configure_deprovision,
        sync_commands.deprovision,
    ),
    Command("sync", sync_commands.SYNC_HELP, sync_commands.configure_sync, sync_commands.sync),
    Command(
        "backfill", sync_commands.BACKFILL_HELP, sync_commands.configure_backfill, sync_commands.backfill
    ),
    Command("check", check_command.CHECK_HELP, check_command.configure_check, check_command.check),
    Command("status", ops_commands.STATUS_HELP, ops_commands.configure_status, ops_commands.status),
    Command("pause", ops_commands.PAUSE_HELP, ops_commands.configure_pause, ops_commands.pause),
    Command("resume", ops_commands.RESUME_HELP, ops_commands.configure_resume, ops_commands.resume),
    Command("replay", ops_commands.REPLAY_HELP, ops_commands.configure_replay, ops_commands.replay),
    Command(
        "reconcile", ops_commands.RECONCILE_HELP, ops_commands.configure_reconcile, ops_commands.reconcile
    ),
    Command("audit", ops_commands.AUDIT_HELP, ops_commands.configure_audit, ops_commands.audit),
    Command("jobs", ops_commands.JOBS_HELP, ops_commands.configure_jobs, ops_commands.jobs),
)


def parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-parser per command."""
    top = argparse.ArgumentParser(
        prog="python -m shared.cli",
        description="The IFS Cloud ⇄ Dynamics 365 Sales connector's command line.",
        epilog="Settings come from the environment, else from ./local.settings.json (as func reads it).",
    )
    top.add_argument("-v", "--verbose", action="store_true", help="log what the connector does (to stderr)")
    commands = top.add_subparsers(dest="command", required=True, metavar="command")
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        sub.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
        command.configure(sub)
        sub.set_defaults(run=command.run)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the process's exit status."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    if not args.verbose:
        logging.getLogger("azure").setLevel(logging.WARNING)
        logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = AppSettings.from_environment(local_settings=Path.cwd() / "local.settings.json")
    context = Context(settings, json_output=args.json)
    try:
        result: int = args.run(args, context)
    except (ConfigError, MappingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (IfsError, DataverseError, httpx.HTTPError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        print("stopped; a backfill continues where it stopped when run again", file=sys.stderr)
        return 130
    return result
