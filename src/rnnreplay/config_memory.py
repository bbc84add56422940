"""What the jobs of a config would allocate, estimated from its shapes, against the memory a job
may use (this machine's, or ``mem_mb`` of ``--resources``): sizes no machine could hold are refused
before any job starts.
"""

from __future__ import annotations

import math
from pathlib import Path

from .config import (cell_knobs, data_sizes, key_of, split_knobs, task_setup, task_variants, train_settings,
                     trained_variant)


def machine_memory() -> float:
    """Bytes of memory a job may use on this machine: its physical memory, or the cgroup's limit
    (a container's) when lower; ``math.inf`` when unknown."""
    import os

    try:
        total = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return math.inf
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            total = min(total, float(Path(limit_file).read_text().split()[0]))
        except (OSError, ValueError, IndexError):  # absent, or "max" (no limit)
            continue
    return total


def size_text(nbytes: float) -> str:
    """Bytes in binary units, e.g. ``7.5 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1024
    return f"{nbytes:.3g} PiB"


def memory_estimates(config: dict, task: str, variant: str, built=None) -> dict[str, list[tuple[float, str, str]]]:
    """What the jobs of (``task``, ``variant``) would allocate, from the config's shapes, per stage
    (``synthesis``, ``training``, ``replay``): a list of terms (bytes, the key of its largest
    factor, the formula with each factor's key and value). Rough upper estimates (float32 = 4 B;
    a GRU has 3 weight blocks); they only need to catch sizes no machine could hold.

    Training, per seed (a training job holds every seed's network): weights with gradients and
    Adam's two moments (16 B x ~N^2); about 20 (B, T, N) tensors kept for backprop (the
    calibration of the training rule's mem_mb); the batch's inputs and targets; the pool of P
    paths. Replay: the weights (trained, replay and untrained copies); (R, S, N) hidden states and
    (R, S, C) readouts, twice with KR24's untrained baseline; the active run on the test paths.
    Synthesis: P x (T + 1) positions in float64 and float32."""
    task_obj = built or task_setup(config, task).build()
    d, n_in, n_code = task_obj.space_dim, task_obj.input_dim, task_obj.code_dim
    data = data_sizes(config, task)
    dkey = {k: key_of(config, task, None, "data", k) for k in data}
    source = trained_variant(config, variant)

    def weights(cell):
        g = 3 if cell.cell == "gru" else 1
        return g, 4.0 * (g * cell.hidden * (cell.hidden + n_in + 1) + 2 * cell.hidden * n_code + n_code)

    trained = split_knobs(cell_knobs(config, task, source))[0]
    g, w = weights(trained)
    n, nkey = trained.hidden, key_of(config, task, source, "model", "hidden")
    settings = train_settings(config, task, source)
    b, bkey = settings.batch, key_of(config, task, source, "train", "batch")
    t, tkey = data["steps"], dkey["steps"]
    p, pkey = data["train_trajectories"], dkey["train_trajectories"]
    pt, ptkey, tt, ttkey = data["test_trajectories"], dkey["test_trajectories"], data["test_steps"], dkey["test_steps"]
    largest = lambda *kv: max(kv, key=lambda k: k[1])[0]  # noqa: E731
    members = len(config["seeds"])  # a training job trains every seed side by side (an ensemble)
    training = [(members * nbytes, key, f"{members} seeds x {what}") for nbytes, key, what in (
        (4 * w, nkey, f"weights, gradients and Adam moments: ~16 B x ({nkey} {n})^2"),
        (80.0 * g * b * t * n, largest((bkey, b), (tkey, t), (nkey, n)),
         f"~20 float32 tensors kept for backprop: {bkey} {b} x {tkey} {t} x {nkey} {n}"),
        (8.0 * b * (t + 1) * (n_in + 2 * n_code), largest((bkey, b), (tkey, t)),
         f"batch inputs and targets: {bkey} {b} x {tkey} {t} x {n_in + 2 * n_code} values x 8 B"),
        (8.0 * p * (t + 1) * d, largest((pkey, p), (tkey, t)),
         f"training pool: {pkey} {p} x {tkey} {t} x {d} dims x 8 B"),
    )]
    knobs = split_knobs(cell_knobs(config, task, variant))[0]
    gr, wr = weights(knobs)
    nr, nrkey = knobs.hidden, key_of(config, task, variant, "model", "hidden")
    r, s = config["replay"]["trajectories"], config["replay"]["steps"]
    copies = 2 if config["tasks"][task].get("baselines") else 1
    replay = [
        (3.0 * wr + w, nrkey, f"weights (trained, replay and untrained copies): ~16 B x ({nrkey} {nr})^2"),
        (4.0 * r * s * (2 * gr * nr + 2 * n_code + 6 * d) * copies,
         largest(("replay.trajectories", r), ("replay.steps", s), (nrkey, nr)),
         f"replay states and readouts: replay.trajectories {r} x replay.steps {s} x ({nrkey} {nr} + {n_code} code "
         f"units) x {8 * gr if copies == 1 else 16 * gr} B"),
        (8.0 * pt * tt * (2 * g * n + 2 * n_code), largest((ptkey, pt), (ttkey, tt), (nkey, n)),
         f"active run: {ptkey} {pt} x {ttkey} {tt} x ({nkey} {n} + {n_code} code units) x 16 B"),
    ]
    synthesis = [(24.0 * p * (t + 1) * d, largest((pkey, p), (tkey, t)),
                  f"training pool: {pkey} {p} x {tkey} {t} x {d} dims x 24 B"),
                 (24.0 * pt * (tt + 1) * d, largest((ptkey, pt), (ttkey, tt)),
                  f"test paths: {ptkey} {pt} x {ttkey} {tt} x {d} dims x 24 B")]
    return {"synthesis": synthesis, "training": training, "replay": replay}


def size_errors(config: dict, memory_mb: float | None = None) -> list[str]:
    """One line per (stage, task) whose largest job would need more memory than ``memory_mb``
    (None: :func:`machine_memory`), naming the key of the estimate's largest term and the estimate."""
    limit = machine_memory() if memory_mb is None else float(memory_mb) * 2**20
    if math.isinf(limit):
        return []
    where = "this machine's memory" if memory_mb is None else f"mem_mb {float(memory_mb):g} (--resources)"
    worst: dict[tuple[str, str], tuple[float, str, list]] = {}
    for task in config["tasks"]:
        built = task_setup(config, task).build()
        for variant in task_variants(config, task):
            for stage, terms in memory_estimates(config, task, variant, built).items():
                total = sum(nbytes for nbytes, *_ in terms)
                if total > worst.get((stage, task), (-1,))[0]:
                    worst[(stage, task)] = (total, variant, terms)
    over: dict[str, list] = {}  # key of the largest term -> [(bytes, stage, job, formula)]
    for (stage, task), (total, variant, terms) in worst.items():
        if total > limit:
            _, key, formula = max(terms, key=lambda term: term[0])
            shown = trained_variant(config, variant) if stage == "training" else variant
            job = task if stage == "synthesis" else f"{task}/{shown}"
            over.setdefault(key, []).append((total, stage, job, formula))
    errors = []
    for key, jobs in over.items():
        total, stage, job, formula = max(jobs)
        others = f"; so would {len(jobs) - 1} other job{'s' * (len(jobs) > 2)}" if len(jobs) > 1 else ""
        errors.append(f"{key}: {stage} of {job} would need about {size_text(total)} of memory ({formula}), more than the "
                      f"{size_text(limit)} of {where}{others}")
    return errors
