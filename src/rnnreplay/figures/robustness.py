"""The robustness map's figure: claim parts x universes, each cell coloured by the part's verdict."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from ..run_comparison import run_label  # noqa: E402
from .common import save  # noqa: E402

VERDICTS = ["reproduced", "not reproduced", "inconclusive", "invalid"]
COLOURS = ["#2ca02c", "#d62728", "#bdbdbd", "#ff7f0e"]  # as the claims figures: green, red, grey, orange
CLASS_MARK = {"robust": "", "fragile": "~", "reversed": "⇄", "untested": "?"}


def robustness_figure(parts: pd.DataFrame, universes: list[str], path) -> None:
    """A heat map of every claim part's verdict (rows, grouped by claim) in every universe
    (columns, the reference first): green reproduced, red not reproduced, grey inconclusive,
    orange invalid (the networks did not learn), white not judged; each row labelled with its
    class across universes (robust, fragile ~, reversed ⇄, untested ?).

    Args:
        parts: the parts table of :func:`rnnreplay.robustness.robustness_map`.
        universes: the universe names, in the map's order.
        path: output PNG (a PDF is written beside it).
    """
    labels = [run_label(u) for u in universes]
    codes = np.full((len(parts), len(labels)), np.nan)
    for j, u in enumerate(labels):
        codes[:, j] = [VERDICTS.index(v) if v in VERDICTS else np.nan for v in parts[f"verdict_{u}"]]
    height = 1.2 + 0.22 * len(parts)
    fig, ax = plt.subplots(figsize=(2.6 + 0.42 * len(labels) + 3.2, height))
    ax.imshow(np.ma.masked_invalid(codes), cmap=ListedColormap(COLOURS), vmin=-0.5, vmax=3.5, aspect="auto",
              interpolation="nearest")
    rows = [_row_label(r) for _, r in parts.iterrows()]
    ax.set_yticks(range(len(parts)), rows, fontsize=7)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_xlabel("universe (the reference first)")
    ax.set_ylabel("claim part (claim, task, metric)")
    for i, (_, r) in enumerate(parts.iterrows()):
        klass = r["robustness"] + (f": {r['holds']}" if r["holds"] else "")
        ax.text(len(labels) - 0.3, i, f"{CLASS_MARK.get(r['robustness'], '')} {klass}", va="center", fontsize=7)
    claims = parts["claim"].tolist()
    for i in range(1, len(claims)):
        if claims[i] != claims[i - 1]:
            ax.axhline(i - 0.5, color="k", lw=0.8)
    ax.axvline(0.5, color="k", lw=1.2)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, label=v) for v, c in zip(VERDICTS, COLOURS)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False,
              title="verdict", title_fontsize=7)
    ax.grid(False)
    ax.set_title("Claim verdicts across the robustness universes (right: class across universes)", fontsize=9)
    ax.set_xlim(-0.5, len(labels) + 3.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    save(fig, path)


def _row_label(r) -> str:
    """A part's row label: claim, task, metric and a short comparison (variants compared)."""
    comparison = str(r["comparison"])
    if comparison.startswith("Spearman"):
        comparison = "trend in λ_v"
    elif comparison.startswith("simulated"):
        comparison = ""
    elif len(comparison) > 28:
        comparison = comparison[:27] + "…"
    return " ".join(x for x in (r["claim"], r["task"], r["metric"], comparison) if x)
