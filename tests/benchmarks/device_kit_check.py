"""Import check for the carried site folder.

Run as:  PYTHONPATH=/path/to/site python3 check.py
Prints one line per module: OK <version> <file> or FAIL <error>. Always exits 0.
"""
import importlib
import sys
import traceback

MODULES = [
    "snakemake",
    "snakemake.cli",
    "netCDF4",
    "cftime",
    "ot",
    "yaml",
    "jsonschema",
    "pulp",
    "tqdm",
]


def version_of(mod, name):
    try:
        from importlib.metadata import version

        dist = {"ot": "POT", "yaml": "PyYAML", "snakemake.cli": "snakemake"}.get(name, name)
        return version(dist)
    except Exception:
        pass
    v = getattr(mod, "__version__", None)
    return v if isinstance(v, str) else "?"


def main():
    print("python", sys.version.split()[0], sys.executable)
    n_fail = 0
    for name in MODULES:
        try:
            mod = importlib.import_module(name)
            print(f"OK   {name:14s} {version_of(mod, name):20s} {getattr(mod, '__file__', '')}")
        except BaseException as exc:  # noqa: BLE001 - report everything, never abort
            n_fail += 1
            print(f"FAIL {name:14s} {type(exc).__name__}: {exc}")
            traceback.print_exc(limit=3, file=sys.stdout)
    for name in ("numpy", "scipy", "xarray", "torch"):
        try:
            mod = importlib.import_module(name)
            print(f"host {name:14s} {getattr(mod, '__version__', '?'):20s} {getattr(mod, '__file__', '')}")
        except BaseException as exc:  # noqa: BLE001
            print(f"host {name:14s} missing: {type(exc).__name__}: {exc}")
    print("failures:", n_fail)
    return 0


if __name__ == "__main__":
    try:
        main()
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    sys.exit(0)
