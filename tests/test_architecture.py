"""The house: stages import only what comes before them, the sandbox stands alone, the library
never prints, and docs/architecture.md names every module that exists (and none that does not)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "importer"
ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"

# What each part of the package may import (besides itself). The base modules are the
# vocabulary every stage shares; each stage sees the base and the stages before it; `run`
# strings the stages together; only the CLI's own modules sit above it.
BASE = {"countries", "errors", "masking", "models", "records", "syntax", "usps"}
MAY_IMPORT: dict[str, set[str]] = {
    "base": {"base"},
    "reading": {"base"},
    "mapping": {"base"},
    "validation": {"base"},
    "sending": {"base"},
    "results": {"base", "reading"},
    "suggest": {"base", "reading", "mapping", "validation"},
    "sandbox": set(),
    "run": {"base", "reading", "mapping", "validation", "sending", "results", "sandbox"},
    "console": {"base", "sending", "run"},
    "cli": {"base", "run", "console", "sandbox", "suggest", "reading", "top"},
    "main": {"cli"},
    "top": {"base", "run"},
}


def part_of(module: str) -> str:
    """`importer.run.api` -> "run"; `importer.errors` -> "base"; `importer` -> "top"."""
    parts = module.split(".")
    if len(parts) == 1:
        return "top"
    head = parts[1]
    if head in BASE:
        return "base"
    return {"__main__": "main"}.get(head, head)


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        found[name] = path
    return found


def imports_of(path: Path, module: str, found: dict[str, Path]) -> set[str]:
    """Every importer module this file imports, at any depth (lazy imports included).

    `from importer import __version__` counts as the base: the version is a constant.
    Imports under `if TYPE_CHECKING:` are names for annotations only (no runtime
    dependency, no cycle) and are not counted.
    """
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            stem = node.module or ""
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level or None]
                stem = ".".join(base + ([stem] if stem else []))
            for alias in node.names:
                name = f"{stem}.{alias.name}"
                if name == "importer.__version__":
                    targets.add("importer.errors")  # stands for the base
                else:
                    targets.add(name if name in found else stem)
    return {name for name in targets if name == "importer" or name.startswith("importer.")}


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_module_imports_a_later_stage(module: str) -> None:
    own = part_of(module)
    allowed = MAY_IMPORT[own] | {own}
    found = modules()
    targets = imports_of(found[module], module, found)
    wrong = sorted(target for target in targets if part_of(target) not in allowed)
    assert not wrong, f"{module} ({own}) imports {wrong}"


def test_importing_the_library_loads_neither_click_nor_tqdm_nor_prints() -> None:
    code = (
        "import sys, importer; "
        "report = importer.validate; "
        "print(sorted(m for m in ('click', 'tqdm') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n" and done.stderr == ""


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["send", "--help"]])
def test_the_command_line_starts_without_the_pipeline(argv: list[str]) -> None:
    # --version and --help answer at once: pandas, pandera and requests load on first use.
    code = (
        "import sys; from importer import cli; sys.argv = ['enerflo-import', *sys.argv[1:]]\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('pandas', 'pandera', 'requests', 'numpy', 'importer.run.api')\n"
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True
    )
    assert done.stderr == "[]\n" and done.stdout


def test_no_print_or_exit_outside_the_cli() -> None:
    offenders = []
    for name, path in modules().items():
        if part_of(name) in {"cli", "console", "main"} or name.startswith("importer.sandbox"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
                called = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                if called in {"print", "exit", "echo"}:
                    offenders.append(f"{name}:{node.lineno} {called}")
    assert offenders == []


def test_the_architecture_page_names_every_module_and_only_those() -> None:
    text = ARCHITECTURE.read_text()
    named = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)`", text))
    existing = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    }
    assert sorted(existing - named) == [], "modules the page does not describe"
    assert sorted(named - existing) == [], "modules the page names that do not exist"


def test_every_path_and_link_the_docs_give_exists() -> None:
    """README.md and docs/ point at files (tests, mappings, images, other pages); a move
    must not leave them pointing at nothing."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = []
    for page in pages:
        text = page.read_text()
        paths = re.findall(
            r"`((?:tests|docs|mappings|sample_data|benchmarks|importer)/[\w./-]+\.\w+)`", text
        )
        links = re.findall(r"\]\((?!https?://|#|mailto:)([^)#\s]+)", text)
        for target in paths:
            if not (ROOT / target).exists():
                missing.append(f"{page.name}: `{target}`")
        for target in links:
            if not (page.parent / target).exists():
                missing.append(f"{page.name}: ({target})")
    assert missing == []
