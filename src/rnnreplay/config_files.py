"""Reading config files: YAML with the safe loader, refusing a mapping that repeats a key and a
document whose aliases expand to more than :data:`MAX_VALUES` values (an "alias bomb"), before any
check walks it; and configs built on other configs (``extends: FILE``, merged as Snakemake merges
several ``--configfile`` files).
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from .config_schema import key_path_text, shortened

MAX_VALUES = 200_000  # values (scalars, lists, mappings) a config may expand to; config.yaml has ~1,500


# --- Size: alias bombs ---------------------------------------------------------------------------


def _bounded_size(root, children, limit: int) -> int:
    """How many items the graph under ``root`` holds, each shared item counted at every place it
    appears; ``children(item)`` lists an item's children, or None for a leaf. Counting stops once
    past ``limit`` (a cycle counts as past it). Each distinct item is walked once, so a graph whose
    items are shared many times over (an alias bomb) costs no more than its distinct items."""
    memo: dict[int, int] = {}

    def size(item) -> int:
        kids = children(item)
        if kids is None:
            return 1
        if id(item) in memo:
            return memo[id(item)]
        memo[id(item)] = limit + 1
        total = 1
        for child in kids:
            total += size(child)
            if total > limit:
                break
        memo[id(item)] = min(total, limit + 1)
        return memo[id(item)]

    return size(root)


def expanded_size(value, limit: int = MAX_VALUES) -> int:
    """How many values (scalars, lists and mappings) ``value`` holds once every shared part (a
    YAML alias) is counted at each place it appears; counting stops once past ``limit``."""
    def children(item):
        if isinstance(item, dict):
            return item.values()
        return item if isinstance(item, (list, tuple)) else None

    return _bounded_size(value, children, limit)


def node_size(node, limit: int = MAX_VALUES) -> int:
    """:func:`expanded_size` of a composed YAML node graph (before any Python object is built)."""
    def children(item):
        if isinstance(item, yaml.MappingNode):
            return [v for pair in item.value for v in pair]
        return None if isinstance(item, yaml.ScalarNode) else item.value

    return _bounded_size(node, children, limit) if node is not None else 0


def size_error(value, source: str = "config") -> str | None:
    """The one-line refusal of a config that expands to more than :data:`MAX_VALUES` values, or None."""
    return too_large(source) if expanded_size(value) > MAX_VALUES else None


def too_large(source) -> str:
    """The refusal of an alias bomb in ``source`` (a file, or the config), in one line."""
    return (f"{source}: expands to more than {MAX_VALUES:,} values (YAML aliases repeated inside each other, "
            "an 'alias bomb'?); refused before it is expanded. Write the values out, or use fewer nested aliases")


# --- Reading a YAML file ------------------------------------------------------------------------

def load_yaml(path: str | Path) -> dict:
    """Read a YAML file with the safe loader; a clear error names the file if it is not a mapping
    or if a mapping repeats a key (PyYAML would keep the later value without a word)."""
    with open(path) as fh:
        root, data = _compose(fh.read())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level, got {type(data).__name__}")
    repeated = _repeated_key_lines(root, path)
    if repeated:
        more = f" (and {len(repeated) - 1} more)" if len(repeated) > 1 else ""
        raise ValueError(repeated[0] + more)
    return data


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the same result, faster


def _compose(text: str):
    """(the YAML node graph, the data it makes) of ``text``, parsed once with the safe loader."""
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def _repeated_keys(node, path=(), seen_nodes=None) -> list[tuple[tuple, int, int]]:
    """(key path, line, line of its first occurrence) of every key that a mapping of the composed
    YAML ``node`` repeats, at any depth (lines count from 1)."""
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:  # an alias of a node already walked
        return []
    seen_nodes.add(id(node))
    found = []
    if isinstance(node, yaml.MappingNode):
        first = {}
        for key_node, value_node in node.value:
            key = (key_node.tag, key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
            name = key_node.value if key is not None else "?"
            if key is not None and key in first:
                found.append(((*path, name), key_node.start_mark.line + 1, first[key]))
            elif key is not None:
                first[key] = key_node.start_mark.line + 1
            found += _repeated_keys(value_node, (*path, name), seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += _repeated_keys(item, (*path, i), seen_nodes)
    return found


def duplicate_key_errors(text: str, source: str | Path = "config") -> list[str]:
    """One line per key that a mapping of the YAML ``text`` repeats, naming the file ``source``,
    the line and the key path (the later value would silently win); [] when there is none."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        return [f"{source}: not valid YAML ({shortened(' '.join(str(exc).split()))})"]
    if node_size(root) > MAX_VALUES:
        return [too_large(source)]
    return _repeated_key_lines(root, source)


def _repeated_key_lines(root, source) -> list[str]:
    """:func:`_repeated_keys` of the composed YAML ``root`` as lines naming the file ``source``."""
    return [f"{source}:{line}: {key_path_text(key)}: key repeated (first at line {first}); YAML would silently keep "
            "the later value" for key, line, first in _repeated_keys(root)]


def config_file_errors(path: str | Path) -> list[str]:
    """Problems of a config file that loading it hides (repeated keys), one line each; Snakemake
    reads ``--configfile`` files itself, so the workflow checks each file again with this."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        return [f"{path}: cannot read ({exc.strerror or exc})"]
    return duplicate_key_errors(text, path)


# --- configs built on other configs --------------------------------------------------------------

BASE_KEY = "extends"  # a config's base config file: its keys, with this file's keys merged over them


def merge_configs(base: dict, over: dict) -> dict:
    """``over`` merged into a copy of ``base`` as Snakemake merges several --configfile files: a
    mapping in both is merged key by key (recursively), any other value of ``over`` replaces
    ``base``'s (lists included)."""
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_configs(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def with_base(config: dict, root: str | Path, seen: tuple = ()) -> dict:
    """``config`` over its base: when it has ``extends: FILE`` (a path relative to the repository
    ``root``), the base file is read (its own ``extends`` first, recursively) and ``config``'s keys
    are merged over it (:func:`merge_configs`), so a config derives from another without copying
    its keys. Without ``extends``, ``config`` itself."""
    if BASE_KEY not in config:
        return config
    own = {k: v for k, v in config.items() if k != BASE_KEY}
    path = Path(root) / str(config[BASE_KEY])
    if not path.is_file():
        raise ValueError(f"{BASE_KEY}: {config[BASE_KEY]}: no such config file under {root}")
    if path.resolve() in seen:
        raise ValueError(f"{BASE_KEY}: {config[BASE_KEY]} extends itself (a loop of base configs)")
    base = with_base(load_yaml(path), root, seen + (path.resolve(),))
    return merge_configs(base, own)


def base_files(config: dict, root: str | Path) -> list[Path]:
    """The files ``config``'s ``extends`` chain reads, nearest first."""
    files = []
    while BASE_KEY in config:
        files.append(Path(root) / str(config[BASE_KEY]))
        config = load_yaml(files[-1])
    return files


def load_config(path: str | Path, root: str | Path | None = None) -> dict:
    """The config file ``path`` with its base configs merged in (:func:`with_base`); ``root``
    (default: the repository holding this package's ``src``) is where ``extends`` paths start."""
    return with_base(load_yaml(path), root or Path(__file__).resolve().parents[2])
