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


# --- Readable figures: at most 4 panels per row, width / height <= 2.5, every axes labelled -----

MAX_ASPECT, MAX_PER_ROW = 2.5, 4


@pytest.fixture
def drawn(monkeypatch):
    """Figures drawn but not saved: name -> matplotlib Figure (``save`` captured in every module)."""
    import importlib

    import matplotlib.pyplot as plt

    figs = {}

    def keep(fig, path):
        figs[Path(path).stem] = fig

    for module in ("common", "claims", "kr24", "learning", "replay", "replay_dynamics", "theory"):
        monkeypatch.setattr(importlib.import_module(f"rnnreplay.figures.{module}"), "save", keep)
    yield figs
    for fig in figs.values():
        plt.close(fig)


def _long_table(rng) -> "pd.DataFrame":
    """A synthetic long metrics table of 5 tasks x 3 variants x 3 seeds (one seed missing in one
    variant), with the metrics the figures draw."""
    import pandas as pd

    from rnnreplay.metrics import metric_names

    scalars = ["wasserstein", "reach_time", "speed", "off_track", "share_stationary", "share_diffusion",
               "share_momentum", "momentum_persistence", *metric_names(figure="kr24_summary")]
    curves = [f"coverage_curve_distance{x}" for x in (0.5, 1.0, 2.0)] + \
        [f"{m}_lag{k}" for m in ("mean_displacement", "displacement_slope") for k in (1, 2, 4, 8)]
    rows = []
    for task in ("tmaze", "triangle", "openfield", "headdirection", "rat"):
        for variant in ("noleak", "leak_adapt_mom", "leak_replay_lv0.5"):
            for seed in range(3 if variant != "noleak" else 2):
                rows += [dict(task=task, variant=variant, seed=seed, metric=m, value=float(rng.uniform(0.1, 1)))
                         for m in scalars + curves]
    return pd.DataFrame(rows)


def _check(fig, name):
    width, height = fig.get_size_inches()
    assert width / height <= MAX_ASPECT, f"{name}: {width:.1f} x {height:.1f} in, aspect {width / height:.2f}"
    panels = [ax for ax in fig.axes if ax.axison and ax.get_label() != "<colorbar>"]
    rows = {}
    for ax in panels:
        box = ax.get_position()
        rows.setdefault(round(box.y0, 2), []).append(ax)
    assert max(len(r) for r in rows.values()) <= MAX_PER_ROW, f"{name}: {max(len(r) for r in rows.values())} per row"
    for ax in panels:
        assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), \
            f"{name}: panel {ax.get_title()!r} lacks an axis label"


def test_redrawn_figures_are_readable(drawn, tmp_path):
    """The figures redrawn for readability keep to at most 4 panels per row and width / height <= 2.5
    and label every axis; on 5 tasks, where the old ones ran 5-7 panels in one row."""
    import numpy as np
    import pandas as pd

    from rnnreplay import figures
    from rnnreplay.tasks import OpenField

    rng = np.random.default_rng(0)
    table = _long_table(rng)
    figures.momentum_sweep(table, {"noleak": 1.0, "leak_adapt_mom": 0.6, "leak_replay_lv0.5": 0.5},
                           ["wasserstein", "reach_time", "speed", "off_track"], tmp_path / "momentum_sweep.png")
    figures.kr24_summary(table, ["openfield", "headdirection"], tmp_path / "kr24_summary.png")
    figures.replay_model_shares(table, tmp_path / "replay_model_shares.png")
    figures.replay_coverage(table, tmp_path / "replay_coverage.png")
    figures.replay_displacement(table, tmp_path / "replay_displacement.png")
    loss = pd.DataFrame([dict(task=t, variant=v, seed=s, step=k, loss=float(rng.lognormal(-2, 0.3)) * (1e3 if s == 1
                                                                                                      and k == 3 else 1))
                         for t in ("tmaze", "triangle", "openfield", "headdirection", "rat")
                         for v in ("noleak", "leak") for s in range(3) for k in range(1, 21)])
    figures.loss_curves(loss, tmp_path / "loss_curves.png")
    kl = pd.DataFrame([dict(quiescent=q, active=a, seed=s, kl=float(rng.uniform(0, 3)))
                       for q in ("trained", "untrained") for a in ("trained", "uniform") for s in range(3 if q == "trained" else 2)])
    figures.kl_heatmap(kl, tmp_path / "kr24_kl.png")
    task = OpenField(n_cells=8)
    points = lambda: rng.uniform(-0.5, 0.5, (50, 20, 2))  # noqa: E731
    figures.density_grid(task, {"openfield/noisy": (points(), points()), "openfield/gru": (points(), points())},
                         tmp_path / "kr24_densities.png")
    assert set(drawn) == {"momentum_sweep", "kr24_summary", "replay_model_shares", "replay_coverage",
                          "replay_displacement", "loss_curves", "kr24_kl", "kr24_densities"}
    for name, fig in drawn.items():
        _check(fig, name)
    # one legend per figure, and the loss axis not stretched by the spiking seed
    for name in ("momentum_sweep", "loss_curves", "replay_coverage", "replay_displacement"):
        assert len(drawn[name].legends) == 1 and not any(ax.get_legend() for ax in drawn[name].axes), name
    low, high = drawn["loss_curves"].axes[0].get_ylim()
    assert high < 10, high
    # n where seeds are missing: the KL cells of 'untrained' average 2 seeds, the others 3
    texts = [t.get_text() for t in drawn["kr24_kl"].axes[0].texts]
    assert any("n=2" in t for t in texts) and any("n=3" in t for t in texts)
    # one shared colour scale (and one colour bar) for the densities
    images = [im for ax in drawn["kr24_densities"].axes for im in ax.images]
    assert len(images) == 4 and len({im.get_clim() for im in images}) == 1
    assert sum(ax.get_label() == "<colorbar>" for ax in drawn["kr24_densities"].axes) == 1


def test_the_same_figure_is_the_same_file(tmp_path):
    """Figures with seaborn's random parts (strip-plot jitter, bootstrap CIs) come out byte for byte
    the same each time they are drawn, PNG and PDF, and the global random state is left as it was."""
    import numpy as np

    from rnnreplay import figures

    table = _long_table(np.random.default_rng(0))
    metrics = ["wasserstein", "reach_time", "speed", "off_track"]
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    for name in ("a", "b"):
        figures.metrics_by_variant(table, "tmaze", metrics, tmp_path / f"{name}.png")
        figures.kr24_summary(table, ["openfield", "headdirection"], tmp_path / f"kr24_{name}.png")
    assert (np.random.get_state()[1] == before).all()
    for stem in ("", "kr24_"):
        for suffix in (".png", ".pdf"):
            assert (tmp_path / f"{stem}a{suffix}").read_bytes() == (tmp_path / f"{stem}b{suffix}").read_bytes(), \
                stem + suffix
