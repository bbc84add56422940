"""Figures (seaborn/matplotlib), each saved as PNG and PDF atomically, one module per topic:

- :mod:`.common`: saving, panel grids, environment outlines, colours;
- :mod:`.replay`: replay examples, head-direction replay, place-cell space, metrics per variant,
  the momentum sweep;
- :mod:`.replay_dynamics`: displacement, best-model shares, coverage, compression;
- :mod:`.kr24`: KR24's KL heatmap, densities and summary;
- :mod:`.learning`: loss curves, path-integration error;
- :mod:`.theory`: the theory figure and the theory stage;
- :mod:`.claims`: the claims' figures (verdicts, effects across runs) and the compare stage;
- :mod:`.stage`: the figure stage (:func:`draw`, :data:`FIGURES`).

The science modules (claims, theory, metrics, stats, dynamics, learning) never import this
package: they return data, and this package (or the command line) draws it.
"""

import matplotlib

matplotlib.use("Agg")  # before any pyplot import below: figures are drawn without a display

from .claims import claims_by_run, compare_stage, verdicts  # noqa: E402
from .common import VERDICT_COLOURS, save  # noqa: E402
from .kr24 import density_grid, kl_heatmap, kr24_summary  # noqa: E402
from .learning import loss_curves, pi_error  # noqa: E402
from .replay import code_space, heading_ring, metrics_by_variant, momentum_sweep, replay_examples  # noqa: E402
from .replay_dynamics import (  # noqa: E402
    ALPHA_RANGES,
    AWAKE_SHARES,
    COMPRESSION_BAND,
    replay_compression,
    replay_coverage,
    replay_displacement,
    replay_model_shares,
)
from .stage import FIGURES, draw  # noqa: E402
from .robustness import robustness_figure  # noqa: E402
from .theory import theory, write_theory  # noqa: E402

__all__ = ["ALPHA_RANGES", "AWAKE_SHARES", "COMPRESSION_BAND", "FIGURES", "VERDICT_COLOURS", "claims_by_run",
           "code_space", "compare_stage", "density_grid", "draw", "heading_ring", "kl_heatmap", "kr24_summary",
           "loss_curves", "metrics_by_variant", "momentum_sweep", "pi_error", "replay_compression", "replay_coverage",
           "replay_displacement", "replay_examples", "replay_model_shares", "robustness_figure", "save", "theory",
           "verdicts", "write_theory"]
