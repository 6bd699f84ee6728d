"""The docs tell the truth about the tree: every link, path, `make` target and
`python -m` module they name exists, and the README stays short."""

import re
from pathlib import Path

import pytest

from stack.layout import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
TREE = ("services/", "shared/", "tests/", "stack/", "bench/", "chaos/", "ops/", "simulator/", "web/", "docs/", ".ci/")
MAKE_TARGET = re.compile(r"^([a-z][a-z0-9-]*):", re.M)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(m) for m in re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.M)}


def names(doc: Path) -> str:
    return str(doc.relative_to(ROOT))


@pytest.mark.parametrize("doc", DOCS, ids=names)
def test_links_point_at_files_and_headings_that_exist(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):  # http:, mailto:
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("doc", DOCS, ids=names)
def test_paths_in_code_spans_exist(doc: Path) -> None:
    missing = []
    for span in CODE.findall(doc.read_text(encoding="utf-8")):
        for raw in span.split():
            word = raw.strip(",;:()")
            if not word.startswith(TREE) or "{" in word or "<" in word:
                continue
            path = word.split("::")[0]
            if not (list(ROOT.glob(path)) if "*" in path else (ROOT / path).exists()):
                missing.append(word)
    assert missing == []


@pytest.mark.parametrize("doc", DOCS, ids=names)
def test_make_targets_and_modules_named_exist(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    targets = set(MAKE_TARGET.findall((ROOT / "Makefile").read_text(encoding="utf-8")))
    named = set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", text))
    assert named - targets == set()
    modules = set(re.findall(r"python -m ([a-z_][a-z0-9_.]*)", text))
    absent = [m for m in modules if not any((ROOT / p).exists() for p in _module_files(m))]
    assert absent == []


PACKAGES = {"services", "shared", "stack", "bench", "chaos", "simulator"}


def _module_files(module: str) -> list[str]:
    if module.split(".", maxsplit=1)[0] not in PACKAGES:
        return [".venv"]  # a tool of the environment (pytest, schemathesis)
    base = module.replace(".", "/")
    return [f"{base}.py", f"{base}/__main__.py", f"{base}/__init__.py"]


def test_the_readme_is_short_and_points_into_the_repository() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    assert "../shared" not in text


def test_the_checks_see_a_broken_link_and_a_missing_path() -> None:
    assert LINK.findall("see [x](docs/nowhere.md#top)") == ["docs/nowhere.md#top"]
    assert not (ROOT / "docs/nowhere.md").exists()
    assert slug("How they are kept") == "how-they-are-kept"
    assert slug('Decisions where the "spec" is silent') == "decisions-where-the-spec-is-silent"
