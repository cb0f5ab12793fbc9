"""The repository stands alone: citations point at its own docs, and every cited doc and section exists."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
# What git ignores (.gitignore) and git itself: generated, installed or local files, not the project's.
SKIPPED_DIRS = frozenset(
    {".git", ".venv", ".venv-constraints", ".constraints-src", ".tools", "node_modules", "__pycache__",
     ".mypy_cache", ".ruff_cache", ".pytest_cache", ".devhost", ".azure"}
)  # fmt: skip
SKIPPED_FILES = frozenset({"local.settings.json"})

# Places outside the repository that files once cited: the design and research notes beside the worktrees.
# (Written so that this file's own source does not match them.)
OUTSIDE = (
    re.compile(r"\.\./shared\b"),
    re.compile(r"(?<![\w/.-])reference/[\w-]+\.md"),
    re.compile(r"\breference (?:ifs|dataverse|env|peers)\.md"),
    re.compile(r"\bARCHITECTURE" + r"\.md"),
)
# docs/<file>.md, optionally followed by `, "<section>"` (or single quotes); the section's name must end on
# its own line, so a wrapped citation cannot hide a misspelt section.
CITATION = re.compile(
    r"\bdocs/(?P<file>[\w-]+\.md)(?:,\s*(?P<quote>[\"'])(?P<section>[^\"'\n]*)(?P<end>[\"'\n]))?"
)
# docs/<file>.md#anchor anywhere, and Markdown links [text](target) in Markdown files.
ANCHORED = re.compile(r"\bdocs/(?P<file>[\w-]+\.md)#(?P<anchor>[\w-]+)")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(?P<title>.+?) *#*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def project_texts() -> Iterator[tuple[Path, str]]:
    """Every text file of the project (what git tracks or would track), with its text."""
    for folder, dirs, files in os.walk(REPO):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(folder) / name
            if name in SKIPPED_FILES or path.suffix == ".pyc":
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            yield path, text


def headings(markdown: str) -> list[str]:
    """The headings of a Markdown document, outside fenced code blocks."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            found.append(match["title"])
    return found


def slug(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every anchor GitHub gives the headings of a document (a repeated one gets -1, -2 …)."""
    seen: dict[str, int] = {}
    result = set()
    for title in headings(markdown):
        base = slug(title)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def test_the_docs_the_repository_promises_exist() -> None:
    """docs/ holds the architecture and both API notes."""
    for name in ("architecture.md", "ifs-api.md", "dataverse-api.md"):
        assert (DOCS / name).is_file(), name


def test_no_file_cites_anything_outside_the_repository() -> None:
    """No file names ../shared, a reference/*.md note or ARCHITECTURE.md: they are not part of the project."""
    offenders = []
    for path, text in project_texts():
        for number, line in enumerate(text.splitlines(), start=1):
            if path != Path(__file__) and any(pattern.search(line) for pattern in OUTSIDE):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "cite docs/… or the public source instead:\n" + "\n".join(offenders)


def test_every_cited_doc_and_section_exists() -> None:
    """Code, tests and README cite docs/<file>.md that exist, with sections and #anchors they have."""
    titles = {path.name: headings(path.read_text(encoding="utf-8")) for path in DOCS.glob("*.md")}
    slugs = {path.name: anchors(path.read_text(encoding="utf-8")) for path in DOCS.glob("*.md")}
    problems = []
    cited = 0
    for path, text in project_texts():
        where = path.relative_to(REPO)
        if where.parts[0] == "docs":
            continue  # the docs link each other (checked below) and quote other projects' docs/ paths
        for match in CITATION.finditer(text):
            cited += 1
            name, section = match["file"], match["section"]
            if name not in titles:
                problems.append(f"{where}: docs/{name} does not exist")
            elif section is not None and match["end"] == "\n":
                problems.append(f"{where}: keep the section's name on one line: {match[0]!r}")
            elif section is not None and not section.startswith("<") and section not in titles[name]:
                problems.append(f"{where}: docs/{name} has no section {section!r}")
        for match in ANCHORED.finditer(text):
            if match["anchor"] not in slugs.get(match["file"], set()):
                problems.append(f"{where}: docs/{match['file']} has no anchor #{match['anchor']}")
    assert not problems, "\n".join(problems)
    assert cited > 20  # the code cites its docs; a broken pattern would find none and prove nothing


def test_links_between_the_markdown_files_resolve() -> None:
    """Relative links in README.md and docs/*.md reach an existing file, and their #anchor a heading there."""
    problems = []
    for page in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for match in LINK.finditer(text):
            target = match["target"]
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            file_part, _, anchor = target.partition("#")
            linked = (page.parent / file_part).resolve() if file_part else page
            if not linked.exists():
                problems.append(f"{page.name}: {target} does not exist")
                continue
            headed = anchors(linked.read_text(encoding="utf-8")) if linked.suffix == ".md" else set()
            if anchor and linked.suffix == ".md" and anchor not in headed:
                problems.append(f"{page.name}: {target} has no such heading")
    assert not problems, "\n".join(problems)


def test_slugs_follow_githubs_rule() -> None:
    """Arrows and punctuation vanish, spaces become hyphens, repeats are numbered."""
    assert slug("Dynamics → IFS") == "dynamics--ifs"
    assert slug("Dataverse's concurrency limit") == "dataverses-concurrency-limit"
    assert slug("Responses, timeouts and retries") == "responses-timeouts-and-retries"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}
