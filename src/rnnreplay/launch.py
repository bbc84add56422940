"""Start or resume the workflow: ``python -m rnnreplay.launch [SNAKEMAKE ARGS]`` (what ``make
reproduce`` runs).

It runs ``snakemake ARGS --rerun-incomplete`` after two checks Snakemake does not make readable:

* each ``--configfile`` exists and is a file (Snakemake reads them before the Snakefile, so a
  missing one would be a traceback): one line otherwise;
* a lock left by a run that was killed (``kill -9``, a lost terminal, a reboot) in the working
  directory's ``.snakemake/locks``: removed when no Snakemake, and no job of one, runs in that
  directory (what ``snakemake --unlock`` does, without parsing the workflow again); when one runs,
  nothing is touched and one line names it.

``--rerun-incomplete`` reruns the jobs the killed run left unfinished; training resumes from its
checkpoint. On Linux the running processes are read from ``/proc`` (their command line and working
directory); elsewhere any Snakemake process of this user counts as running here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DRY = ("-n", "--dry-run", "--dryrun")


def _values(argv: list[str], *flags: str) -> list[str]:
    """The values of option ``flags`` in ``argv`` (``--flag V``, ``--flag=V``; ``--configfile A B``
    takes every value up to the next option)."""
    found = []
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if name not in flags:
            continue
        if eq:
            found.append(value)
            continue
        for item in argv[i + 1:]:
            if item.startswith("-"):
                break
            found.append(item)
            if name not in ("--configfile", "--configfiles"):
                break
    return found


def configfile_errors(argv: list[str]) -> list[str]:
    """One line per ``--configfile`` of ``argv`` that is missing or not a file."""
    errors = []
    for name in _values(argv, "--configfile", "--configfiles"):
        path = Path(name)  # Snakemake reads it relative to the current directory, not --directory
        if not path.exists():
            errors.append(f"--configfile {name}: no such file")
        elif not path.is_file():
            errors.append(f"--configfile {name}: {'a directory' if path.is_dir() else 'not a file'}, not a config file")
    return errors


def _is_snakemake(cmd: list[str]) -> bool:
    return any(Path(a).name == "snakemake" for a in cmd[:2]) or any(
        a == "-m" and b == "snakemake" for a, b in zip(cmd, cmd[1:]))


def _is_job(cmd: list[str]) -> bool:
    """A stage of this package (``python -m rnnreplay STAGE``), as a Snakemake job runs it."""
    return any(a == "-m" and b == "rnnreplay" for a, b in zip(cmd, cmd[1:]))


def runs_in(workdir: str | Path, proc: str | Path = "/proc") -> list[tuple[int, str]]:
    """(pid, command line) of every process other than this one that is a Snakemake run, or a job
    of one, in ``workdir`` (its ``--directory``, else its working directory). Without ``proc`` (not
    Linux): every Snakemake process this user can see, wherever it runs."""
    workdir = Path(workdir).resolve()
    found = []
    if not Path(proc).is_dir():
        out = subprocess.run(["ps", "-axo", "pid=,command="], capture_output=True, text=True).stdout
        for line in out.splitlines():
            pid, _, command = line.strip().partition(" ")
            if pid.isdigit() and int(pid) != os.getpid() and _is_snakemake(command.split()):
                found.append((int(pid), command))
        return found
    for entry in Path(proc).iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = [a for a in (entry / "cmdline").read_bytes().decode(errors="replace").split("\0") if a]
            if not (_is_snakemake(cmd) or _is_job(cmd)):
                continue
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:  # gone, or another user's: its working directory cannot be read
            continue
        given = _values(cmd, "--directory", "-d") if _is_snakemake(cmd) else []
        where = (cwd / given[0]).resolve() if given else cwd.resolve()
        if where == workdir:
            found.append((int(entry.name), " ".join(cmd)))
    return found


def clear_stale_lock(workdir: str | Path, log=print) -> bool:
    """Remove the locks in ``workdir/.snakemake/locks`` if no run of ``workdir`` is active
    (:func:`runs_in`); True when the directory is free to run in (no lock, or a stale one
    removed), False (with one line to ``log``) when a run holds it."""
    locks = Path(workdir) / ".snakemake" / "locks"
    held = sorted(locks.glob("*.lock")) if locks.is_dir() else []
    if not held:
        return True
    active = runs_in(workdir)
    if active:
        pid, command = active[0]
        log(f"rnnreplay: a run of {Path(workdir).resolve()} is still active (pid {pid}: {command[:100]}); wait for "
            "it to finish or stop it, then run this again")
        return False
    for lock in held:
        lock.unlink(missing_ok=True)
    log(f"rnnreplay: removed the lock of a run that was stopped ({len(held)} file(s) in {locks}); resuming")
    return True


def main(argv: list[str] | None = None) -> int:
    """Check, unlock if stale, then run Snakemake with ``--rerun-incomplete``; its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    errors = configfile_errors(argv)
    if errors:
        print(f"rnnreplay: {errors[0]}", file=sys.stderr)
        return 1
    workdir = (_values(argv, "--directory", "-d") or ["."])[0]
    if not set(DRY) & set(argv) and not clear_stale_lock(workdir, log=lambda m: print(m, file=sys.stderr)):
        return 1
    extra = [] if {"--rerun-incomplete", "--ri"} & set(argv) else ["--rerun-incomplete"]
    return subprocess.call([sys.executable, "-m", "snakemake", *extra, *argv])


if __name__ == "__main__":
    sys.exit(main())
