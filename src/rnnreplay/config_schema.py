"""A config (or a part of a job) against the JSON schema (``workflow/schemas/config.schema.yaml``),
and the numbers no range check catches (NaN, infinities): one line per problem, naming its key path.
"""

from __future__ import annotations

import math


def key_path_text(path) -> str:
    """A key path (a sequence of keys and list indices) as the error lines write it,
    ``tasks.tmaze.params``; ``(top level)`` for the empty path."""
    return ".".join(str(p) for p in path) or "(top level)"


def shortened(text: str, limit: int = 160) -> str:
    """``text`` cut to at most ``limit`` characters (ending in ``...`` when cut), for one-line errors."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def schema_errors(config: dict, schema: dict) -> list[str]:
    """One line per JSON-schema violation, ``key.path: what is wrong``. An ``anyOf`` failure (a
    variant is a cell mapping or null) is reported through its mapping branch's own errors. An
    integer field refuses a float, even a whole one (``data.steps: 20.0``)."""
    import jsonschema

    base = jsonschema.Draft202012Validator  # JSON Schema counts 20.0 as an integer; a job would not
    strict = base.TYPE_CHECKER.redefine("integer", lambda _, x: isinstance(x, int) and not isinstance(x, bool))
    validator = jsonschema.validators.extend(base, type_checker=strict)(schema)
    lines = []
    stack = list(validator.iter_errors(config))
    while stack:
        err = stack.pop()
        branch = [e for e in err.context or () if e.relative_schema_path[0] == 0]
        if err.validator == "anyOf" and branch and isinstance(err.instance, dict):
            stack.extend(branch)
            continue
        types = [str(e.validator_value) for e in err.context or () if e.validator == "type"]
        if err.validator == "anyOf" and types:  # e.g. "0 is not of type 'object' or 'null'"
            lines.append(f"{key_path_text(err.absolute_path)}: {shortened(repr(err.instance))} is not of type "
                         + " or ".join(f"'{t}'" for t in types))
            continue
        lines.append(f"{key_path_text(err.absolute_path)}: {shortened(err.message)}")
    return sorted(set(lines))


def nonfinite_errors(value, path=()) -> list[str]:
    """NaN and infinities (YAML ``.nan``, ``.inf``) slip past range checks; reject them anywhere in
    ``value`` (nested mappings and lists), one line each naming the key path under ``path``."""
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in nonfinite_errors(v, (*path, k))]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in nonfinite_errors(v, (*path, i))]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{key_path_text(path)}: must be a finite number, got {value}"]
    return []
