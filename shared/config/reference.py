"""The README's configuration reference, generated from the settings catalog.

Every setting is declared once, in ``CATALOG``; the README's settings table is written from it, between two
marker comments, so the table cannot drift from what the app reads. ``python -m shared.config.reference``
(``make docs``) rewrites the table; with ``--check`` it changes nothing and exits 1 when the table is out of
date, which a unit test does too.

One row per setting, in catalog order; settings that share a ``doc`` text (the same setting per synced
entity) share one row listing all their names, features and distinct defaults. The meaning is the
setting's ``doc`` (Markdown) or else its description; the default column says ``required`` (with
``required_when`` when only sometimes), ``empty`` or the default value, and marks secrets.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from shared.config.catalog import CATALOG
from shared.config.setting import Setting

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN = "<!-- begin settings table: `make docs` writes it from shared/config; edit the catalog, not here -->"
END = "<!-- end settings table -->"
HEADER = "| setting | feature | default | meaning |\n|---|---|---|---|"


class MarkersMissingError(ValueError):
    """The README lacks the marker comments that enclose the generated table."""


def default_cell(setting: Setting) -> str:
    """The default column of ``setting``: required (and when), empty or its default, and whether secret."""
    if setting.required_when:
        cell = f"required {setting.required_when}"
    elif setting.default is None:
        cell = "required"
    elif setting.default == "":
        cell = "empty"
    else:
        cell = f"`{setting.default}`"
    return f"{cell}, secret" if setting.secret else cell


def _escape(text: str) -> str:
    # A bare | would end the table cell.
    return text.replace("|", "\\|")


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def settings_table(catalog: Sequence[Setting] = CATALOG) -> str:
    """The Markdown table of ``catalog``: header and one row per setting or per group sharing a doc."""
    groups: dict[str, list[Setting]] = {}
    for setting in catalog:
        groups.setdefault(setting.doc or f"\0{setting.name}", []).append(setting)
    rows = [HEADER]
    for members in groups.values():
        first = members[0]
        names = ", ".join(f"`{s.name}`" for s in members)
        features = ", ".join(_distinct(s.feature for s in members))
        defaults = "; ".join(_distinct(default_cell(s) for s in members))
        meaning = _escape(first.doc or first.description)
        rows.append(f"| {names} | {features} | {defaults} | {meaning} |")
    return "\n".join(rows)


def render(readme: str, table: str) -> str:
    """``readme`` with ``table`` between the markers (everything between them is replaced)."""
    start = readme.find(BEGIN)
    end = readme.find(END, start + len(BEGIN)) if start >= 0 else -1
    if start < 0 or end < 0:
        raise MarkersMissingError(f"the README needs {BEGIN!r} and {END!r} around the settings table")
    return f"{readme[: start + len(BEGIN)]}\n{table}\n{readme[end:]}"


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the README's settings table, or with ``--check`` say whether it is up to date."""
    parser = argparse.ArgumentParser(
        prog="python -m shared.config.reference", description="Write the README's settings table."
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when out of date")
    parser.add_argument("--readme", type=Path, default=README, help="the file to write (default: README.md)")
    args = parser.parse_args(argv)
    current = args.readme.read_text(encoding="utf-8")
    try:
        wanted = render(current, settings_table())
    except MarkersMissingError as exc:
        print(f"{args.readme}: {exc}", file=sys.stderr)
        return 2
    if wanted == current:
        print(f"{args.readme}: the settings table is up to date")
        return 0
    if args.check:
        print(f"{args.readme}: the settings table is out of date; run `make docs`", file=sys.stderr)
        return 1
    args.readme.write_text(wanted, encoding="utf-8")
    print(f"{args.readme}: settings table written ({len(CATALOG)} settings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
