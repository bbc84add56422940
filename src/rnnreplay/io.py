"""Every on-disk format: NetCDF datasets (paths, replay, loss curves, metrics) and model files.

NetCDF files are written atomically (temporary name, then rename), float32 with zlib level 4
and shuffle, CF-1.8 global attributes and provenance (package version, git commit, seed, the
job description and the run's config as JSON).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import functools
import glob
import os
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from . import __version__

if TYPE_CHECKING:  # torch is imported where models are saved or loaded
    import torch


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The source tree's git commit (with ``-dirty`` if modified), or ``unknown``."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here, capture_output=True, text=True, timeout=5,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(title: str, job, seed: int | None) -> dict:
    """Global attributes every output carries: CF conventions, title, code version and commit,
    history, the seed, ``job_json`` (the job description: what determined this file, see
    :mod:`rnnreplay.jobs`) and ``config_json`` (the run's whole resolved config, when the workflow
    ran the job: it passes it in the environment variable ``RNNREPLAY_CONFIG``, so that settings
    which do not change a file are recorded without being a reason to rerun it)."""
    from .jobs import CONFIG_ENV, to_json

    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs = {
        "Conventions": "CF-1.8",
        "title": title,
        "institution": "rnnreplay",
        "source": f"rnnreplay {__version__} (git {git_commit()})",
        "history": f"{now} created by rnnreplay {__version__}",
        "references": "Krishna et al. ICLR 2024; Casco-Rodriguez, Krishna, Baraniuk arXiv:2602.18401",
        "job_json": to_json(job),
    }
    if os.environ.get(CONFIG_ENV):
        attrs["config_json"] = os.environ[CONFIG_ENV]
    if seed is not None:
        attrs["seed"] = int(seed)
    return attrs


def _reason(exc: Exception, limit: int = 200) -> str:
    """The first line of an exception's message (library errors can run to many lines)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def atomic_target(path: str | Path):
    """Yield a fresh temporary path beside ``path`` to write to; when the block succeeds, rename
    it onto ``path`` (atomic on one file system), else delete it. A killed writer leaves at most a
    hidden ``.NAME.*.tmpSUFFIX`` file, never a file at ``path``; the next write of ``path`` (the
    rerun: Snakemake runs one job per output at a time) deletes such leftovers first. The file gets
    the usual permissions (0666 less the umask), not mkstemp's private 0600, so collaborators can
    read it. A failure to write (a full disk, a folder that cannot be written, an output path that
    is a directory; OSError, or the RuntimeError netCDF/HDF5 and torch raise for I/O) becomes an
    OSError naming ``path`` and the cause."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp{glob.escape(path.suffix)}"):
            leftover.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write it ({exc.strerror or _reason(exc)})", str(path)) from exc
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else _reason(exc)
        if getattr(exc, "errno", None) != errno.ENOSPC and disk_full(path.parent):
            cause = f"No space left on device; the writer said: {cause}"  # HDF5 and torch hide ENOSPC
        raise OSError(getattr(exc, "errno", None), f"cannot write it ({cause})", str(path)) from exc
    finally:
        tmp.unlink(missing_ok=True)


def disk_full(folder: str | Path, margin: int = 1 << 20) -> bool:
    """Whether the file system of ``folder`` has less than ``margin`` bytes (1 MiB) left for this
    user: the likely cause of a failed write whose library reported something else."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return False
    return st.f_bavail * st.f_frsize < margin


def write_text(path: str | Path, text: str) -> None:
    """Write a text output (CSV, Markdown) atomically."""
    with atomic_target(path) as tmp:
        tmp.write_text(text)


def write_dataset(ds: xr.Dataset, path: str | Path) -> None:
    """Write ``ds`` to NetCDF4 at ``path`` atomically; floats become float32 with zlib 4 + shuffle.

    Every data variable must carry ``units`` and ``long_name`` attributes.
    """
    path = Path(path)
    for name, var in {**ds.data_vars, **ds.coords}.items():
        missing = [k for k in ("units", "long_name") if k not in var.attrs]
        if missing and name in ds.data_vars:
            raise ValueError(f"{path}: variable {name!r} lacks attributes {missing}")
    encoding = {}
    for name, var in ds.data_vars.items():
        enc = {"zlib": True, "complevel": 4, "shuffle": True}
        if np.issubdtype(var.dtype, np.floating):
            enc["dtype"] = "float32"
        encoding[name] = enc
    for name, var in {**ds.data_vars, **ds.coords}.items():  # CF 1.8 (section 2.2) has no int64
        if var.dtype == np.int64:
            if var.size and not np.iinfo(np.int32).min <= var.values.min() <= var.values.max() <= np.iinfo(np.int32).max:
                raise ValueError(f"{path}: variable {name!r} does not fit in int32")
            encoding.setdefault(name, {})["dtype"] = "int32"
    with atomic_target(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)


def read_dataset(path: str | Path, required: tuple[str, ...] = ()) -> xr.Dataset:
    """Open a NetCDF output fully into memory (file closed on return), checking it exists, is
    readable NetCDF and holds the ``required`` variables; errors name the file and the problem."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file (has the stage that makes it run?)")
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            ds = ds.load()
    except Exception as exc:  # netCDF4 raises OSError/RuntimeError/ValueError for bad files
        raise ValueError(f"{path}: not a readable NetCDF file ({_reason(exc)}); if the workflow made it, remove "
                         "it and rerun: the run rebuilds it") from exc
    missing = [v for v in required if v not in ds.variables]
    if missing:
        raise ValueError(f"{path}: missing variables {missing}; is this the right kind of file?")
    return ds


def job_of(ds: xr.Dataset, expected: type | None = None, path: str | Path = "dataset"):
    """The job description stored in a dataset's ``job_json`` attribute (see :mod:`rnnreplay.jobs`);
    ``expected``: the job type the caller needs (a ValueError naming ``path`` otherwise)."""
    from .jobs import from_json

    if "job_json" not in ds.attrs:
        raise ValueError(f"{path}: no job description (job_json); was it written by this version of rnnreplay?")
    try:
        return from_json(ds.attrs["job_json"], expected)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def save_model(path: str | Path, model: torch.nn.Module, job) -> None:
    """Save a model's ``state_dict`` with its job description (a :class:`rnnreplay.jobs.TrainJob`,
    as JSON) to ``path`` atomically."""
    from .jobs import to_json

    import torch  # here, not at the top: the data and metrics stages need no torch

    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_target(path) as tmp:
        torch.save({"state_dict": state, "job_json": to_json(job),
                    "source": f"rnnreplay {__version__} (git {git_commit()})"}, tmp)


def load_model_file(path: str | Path):
    """Load ``(state_dict, job)`` from a model file with ``weights_only=True``; ``job`` is the
    :class:`rnnreplay.jobs.TrainJob` that trained it."""
    from .jobs import TrainJob, from_json

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file (has the train stage run?)")
    import torch

    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        return blob["state_dict"], from_json(blob["job_json"], TrainJob)
    except Exception as exc:
        raise ValueError(f"{path}: not a rnnreplay model file ({_reason(exc)})") from exc


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write a training checkpoint atomically (temporary name, then rename).

    ``state`` holds tensors, plain numbers, strings and lists/dicts of them (what
    ``torch.load(weights_only=True)`` accepts); see :func:`rnnreplay.train.train`.
    """
    import torch  # local: importing io stays cheap for stages that need no torch

    with atomic_target(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> dict | None:
    """A checkpoint written by :func:`save_checkpoint`, or None if absent or unreadable (an
    unreadable one cannot be resumed from, so training starts afresh and overwrites it)."""
    import torch

    path = Path(path)
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None


# --- Damaged outputs: a finished file that was cut short after it was written -----------------------

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
OUTPUT_FOLDERS = ("data", "models", "replay", "metrics")  # results/<folder>/...: the per-job NetCDF and model files


def damage(path: str | Path) -> str | None:
    """Why the finished output ``path`` (a NetCDF-4 ``.nc`` or a torch ``.pt`` file) cannot be
    whole, from its first and last bytes only (no library opens it), or None when it looks whole:
    an empty file; an HDF5 file shorter than the end-of-file address its superblock records (a
    truncated copy, a disk that filled up); a zip-format ``.pt`` without its closing record. A file
    of another format (not HDF5, not zip) is left to its reader, which names it."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(64)
            fh.seek(max(0, size - 1024))
            tail = fh.read()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if size == 0:
        return "is empty"
    if path.suffix == ".nc" and head.startswith(HDF5_SIGNATURE):
        end = _hdf5_end(head)
        if end is not None and end > size:
            return f"is truncated ({size} of its {end} bytes)"
    if path.suffix == ".pt" and head.startswith(b"PK\x03\x04") and b"PK\x05\x06" not in tail:
        return f"is truncated ({size} bytes, no end of its zip archive)"
    return None


def _hdf5_end(head: bytes) -> int | None:
    """The end-of-file address of an HDF5 superblock at offset 0 (versions 0 to 3), or None."""
    version = head[8] if len(head) > 8 else None
    if version in (0, 1):  # sizes at byte 13; base address after 16 (+4 in version 1) bytes of fields
        offsets, base_at = (head[13] if len(head) > 13 else 0), 24 + 4 * version
    elif version in (2, 3):  # sizes at byte 9; base, extension and end-of-file addresses from byte 12
        offsets, base_at = (head[9] if len(head) > 9 else 0), 12
    else:
        return None
    end_at = base_at + 2 * offsets
    if offsets not in (2, 4, 8) or len(head) < end_at + offsets:
        return None
    address = lambda at: int.from_bytes(head[at: at + offsets], "little")  # noqa: E731
    return address(base_at) + address(end_at)


def damaged_outputs(results: str | Path = "results") -> list[tuple[Path, str]]:
    """(path, :func:`damage`) of every damaged ``.nc`` or ``.pt`` file under a per-job output
    folder (:data:`OUTPUT_FOLDERS`) of ``results``, at any depth; hidden files (a write in
    progress, see :func:`atomic_target`) are skipped."""
    found = []
    for folder in [p for p in Path(results).rglob("*") if p.is_dir() and p.name in OUTPUT_FOLDERS] \
            if Path(results).is_dir() else []:
        for path in folder.rglob("*"):
            if path.suffix in (".nc", ".pt") and not path.name.startswith(".") and path.is_file():
                reason = damage(path)
                if reason:
                    found.append((path, reason))
    return sorted(set(found))


def remove_damaged(results: str | Path = "results", dry_run: bool = False) -> list[str]:
    """Remove each damaged output (:func:`damaged_outputs`) so that the run rebuilds it with its
    job (and what depends on it), and return one line per file for the log; with ``dry_run``,
    remove nothing and say that the run would."""
    lines = []
    for path, reason in damaged_outputs(results):
        if dry_run:
            lines.append(f"rnnreplay: {path} {reason}; the run will remove it and rebuild it")
            continue
        try:
            path.unlink()
            lines.append(f"rnnreplay: {path} {reason}; removed, the run rebuilds it")
        except OSError as exc:
            lines.append(f"rnnreplay: {path} {reason}, and cannot be removed ({exc.strerror or exc}); remove it "
                         "and rerun: the run rebuilds it")
    return lines
