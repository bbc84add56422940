"""The reader's path: a short README, a documentation site that builds in strict mode, and no pointer
to a file outside the repository."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 200
LINE_MAX_CHARS = 120
# Files the README may link before they exist (none now: every link must resolve).
EXPECTED_MISSING: set[str] = set()
# What a reference to a file outside the repository looks like: the project's private notes, an
# absolute path on a development machine, a sibling checkout. (This file names them, so it is skipped.)
OUTSIDE = re.compile(r"SCIENCE\.md|DESIGN\.md|/work/|\.\./shared|shared/docs")
DOC_REFERENCE = re.compile(r"\bdocs/([\w\-/]+\.md)(#[\w\-]+)?")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".smk", ".rst", ".toml", ".cfg", ".txt", ".sh", ""}


def _repository_files() -> list[Path]:
    """The repository's tracked files (git), else every file outside build and result folders."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        files = [ROOT / name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "results", "site", ".snakemake", "__pycache__"}
        files = [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]
    return [p for p in files if p.exists() and p.suffix in TEXT_SUFFIXES and p.name != "LICENSE"]


def _headings_slugs(page: Path) -> set[str]:
    """The anchors MkDocs gives a page's headings (the toc extension's default slugify)."""
    from markdown.extensions.toc import slugify

    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slugify(re.sub(r"[`*]", "", m.group(1)).strip(), "-") for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"
    long = [(i + 1, len(line)) for i, line in enumerate(lines) if len(line) > LINE_MAX_CHARS]
    assert not long, f"README.md lines longer than {LINE_MAX_CHARS} characters (line, length): {long}"


def test_readme_names_the_ci_test_command():
    """CI (.ci/run) runs `make test`: the README's test command, exactly."""
    assert "\nmake test\n" in (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test\b", (ROOT / "README.md").read_text(), re.M)
    assert re.search(r"^make reproduce\b", (ROOT / "README.md").read_text(), re.M)


def test_readme_links_resolve():
    """Every relative link and image of the README names a file of the repository (and a heading of it
    for a docs page's anchor)."""
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    relative = [t for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]
    assert len(relative) >= 8, relative  # the README links into docs/
    for target in relative:
        path, _, anchor = target.partition("#")
        if path in EXPECTED_MISSING:
            continue
        assert (ROOT / path).exists(), f"README.md links {target}: no such file"
        if anchor and path.endswith(".md"):
            assert anchor in _headings_slugs(ROOT / path), f"README.md links {target}: no such heading"


def test_nothing_points_outside_the_repository():
    hits = []
    for path in _repository_files():
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not hits, "references to files outside the repository:\n" + "\n".join(hits)


def test_references_to_docs_pages_resolve():
    """Comments and docstrings that send the reader to docs/<page>.md#<heading> name a page and heading
    that exist (the site's own links are checked by the strict build)."""
    bad, seen = [], 0
    for path in _repository_files():
        if path.is_relative_to(ROOT / "docs") and path.suffix == ".md":
            continue
        for match in DOC_REFERENCE.finditer(path.read_text(errors="replace")):
            seen += 1
            page = ROOT / "docs" / match.group(1)
            if not page.exists():
                bad.append(f"{path.relative_to(ROOT)}: {match.group(0)} (no such page)")
            elif match.group(2) and match.group(2)[1:] not in _headings_slugs(page):
                bad.append(f"{path.relative_to(ROOT)}: {match.group(0)} (no such heading)")
    assert seen >= 10 and not bad, bad


def test_docs_site_builds_strict(tmp_path):
    """`mkdocs build --strict`: a broken link, a missing anchor or a page left out of the navigation fails."""
    try:
        import material  # noqa: F401  (mkdocs-material: the theme)
    except ImportError:
        pytest.fail("mkdocs-material is not installed: pip install -e '.[dev]'")
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
                          "--site-dir", str(tmp_path / "site")], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert out.returncode == 0, out.stdout + out.stderr
    site = tmp_path / "site"
    for page in ("methods", "results", "replay-dynamics", "cluster", "performance", "bad-inputs", "changelog",
                 "robustness", "scale", "budget"):
        assert (site / page / "index.html").exists(), page
    assert (site / "scale" / "claims_by_width.png").exists() and (site / "budget" / "claims_by_budget.png").exists()
