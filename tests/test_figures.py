"""The figures package: the science never imports it (no import circle), and each figure is
readable (at most 4 panels per row, a sane aspect ratio, labelled axes)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "rnnreplay"
SCIENCE = ("claims", "theory", "metrics", "stats", "dynamics", "learning")
DRAWING = ("cli.py", "__main__.py")  # the command line may draw; the figures package is the drawing


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a module of the package, at any depth
    (inside functions too); relative imports resolved against the package."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts[:-1])  # the package holding the module (an __init__: the package itself)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]  # from . import figures
    return found


def _science_files() -> list[Path]:
    """Every module of the package outside the figures package and the command line."""
    files = [p for p in PACKAGE.rglob("*.py") if "figures" not in p.relative_to(PACKAGE).parts[:1]
             and p.name not in DRAWING]
    assert {f"{m}.py" for m in SCIENCE} <= {p.name for p in files}
    return files


def test_no_science_module_imports_the_figures_package():
    """No module outside the figures package and the CLI imports rnnreplay.figures or pyplot, not
    even inside a function: the science returns data, the figures package draws it."""
    offending = []
    for path in _science_files():
        for line, module in _imported_modules(path):
            if module == "rnnreplay.figures" or module.startswith("rnnreplay.figures.") or \
                    module.startswith("matplotlib") or module.startswith("seaborn"):
                offending.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    assert not offending, offending


def test_the_import_scan_finds_a_function_level_import(tmp_path):
    """The scan above sees an import of the figures package inside a function (a relative one)."""
    fake = PACKAGE / "_scan_probe.py"
    fake.write_text("def f():\n    from .figures import draw\n    from . import figures\n")
    try:
        found = {m for _, m in _imported_modules(fake)}
    finally:
        fake.unlink()
    assert "rnnreplay.figures" in found and "rnnreplay.figures.draw" in found


@pytest.mark.parametrize("module", SCIENCE)
def test_importing_a_science_module_loads_no_plotting(module):
    """Importing a science module (in a fresh interpreter) loads neither the figures package nor pyplot."""
    code = (f"import sys, rnnreplay.{module}; "
            "bad = [m for m in sys.modules if m.startswith(('rnnreplay.figures', 'matplotlib.pyplot'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(PACKAGE.parent), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
