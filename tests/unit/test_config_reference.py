"""The README's settings table, generated from the catalog (``shared.config.reference``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import CATALOG, Setting
from shared.config.reference import (
    BEGIN,
    END,
    HEADER,
    MarkersMissingError,
    default_cell,
    main,
    render,
    settings_table,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readmes_settings_table_is_the_generated_one() -> None:
    """The table between the README's markers is exactly what the catalog generates (else: make docs)."""
    readme = README.read_text(encoding="utf-8")
    assert render(readme, settings_table()) == readme, "the README's settings table is stale: run `make docs`"


def test_every_catalog_setting_has_a_row_in_the_generated_table() -> None:
    """Each declared setting is named in the generated table, in backticks."""
    table = settings_table()
    for setting in CATALOG:
        assert f"`{setting.name}`" in table, setting.name


def test_the_default_column_says_required_empty_or_the_default_and_marks_secrets() -> None:
    """Required, conditionally required, empty, a value; ', secret' on secrets."""
    assert default_cell(Setting("A", "f", "d", "s")) == "required"
    assert default_cell(Setting("A", "f", "d", "s", default="", secret=True)) == "empty, secret"
    assert default_cell(Setting("A", "f", "d", "s", default="30")) == "`30`"
    when = Setting("A", "f", "d", "s", default="", secret=True, required_when="unless `V` is set")
    assert default_cell(when) == "required unless `V` is set, secret"


def test_settings_sharing_a_doc_share_one_row() -> None:
    """Names, features and distinct defaults of one doc text are gathered in the first one's place."""
    catalog = (
        Setting("X_A_DAYS", "sync_a", "a days", "1", default="30", doc="Days of the entity"),
        Setting("LONE", "other", "plain text | with a pipe", "v", default=""),
        Setting("X_B_DAYS", "sync_b", "b days", "1", default="30", doc="Days of the entity"),
        Setting("X_C_DAYS", "sync_c", "c days", "1", default="7", doc="Days of the entity"),
    )
    rows = settings_table(catalog).splitlines()
    assert rows[:2] == HEADER.splitlines()
    assert rows[2:] == [
        "| `X_A_DAYS`, `X_B_DAYS`, `X_C_DAYS` | sync_a, sync_b, sync_c | `30`; `7` | Days of the entity |",
        "| `LONE` | other | empty | plain text \\| with a pipe |",
    ]


def test_render_replaces_only_what_lies_between_the_markers() -> None:
    """Text around the markers stays; the old table goes; without markers it is an error."""
    readme = f"intro\n{BEGIN}\n| old |\n{END}\noutro\n"
    assert render(readme, "| new |") == f"intro\n{BEGIN}\n| new |\n{END}\noutro\n"
    with pytest.raises(MarkersMissingError):
        render("no markers here\n", "| new |")


def test_the_command_checks_and_writes_a_readme(tmp_path: Path) -> None:
    """--check exits 1 on a stale table and leaves it; without it the table is written, then up to date."""
    readme = tmp_path / "README.md"
    stale = f"# x\n{BEGIN}\n| stale |\n{END}\n"
    readme.write_text(stale, encoding="utf-8")
    assert main(["--check", "--readme", str(readme)]) == 1
    assert readme.read_text(encoding="utf-8") == stale
    assert main(["--readme", str(readme)]) == 0
    assert readme.read_text(encoding="utf-8") == render(stale, settings_table())
    assert main(["--check", "--readme", str(readme)]) == 0
    readme.write_text("# no markers\n", encoding="utf-8")
    assert main(["--readme", str(readme)]) == 2
