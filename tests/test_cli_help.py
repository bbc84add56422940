"""The command line's help is plain text and describes every argument of every subcommand."""

import argparse
import re
import subprocess
import sys

import pytest

from rnnreplay.cli import build_parser

# Sphinx/reST markup that a terminal shows raw: ``literal``, :mod:`x`, :func:`x`, :data:`x`, ...
MARKUP = re.compile(r"``|:(mod|func|class|meth|data|attr|obj|ref|doc):`")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every subcommand's parser, by name."""
    (actions,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions.choices)


SUBCOMMANDS = sorted(_subparsers(build_parser()))


def test_every_stage_has_a_subcommand():
    assert {"synthesize", "train", "replay", "metrics", "summarise", "figure", "theory", "claims", "compare",
            "report"} <= set(SUBCOMMANDS)


def test_top_level_help_is_plain_text():
    text = build_parser().format_help()
    assert not MARKUP.search(text), MARKUP.search(text)
    assert "python -m rnnreplay STAGE --help" in text


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help_is_plain_and_complete(name):
    parser = _subparsers(build_parser())[name]
    text = parser.format_help()
    assert not MARKUP.search(text), f"{name}: {MARKUP.search(text)}"
    assert parser.description, f"{name} has no description"
    undescribed = [a.option_strings[0] if a.option_strings else a.dest for a in parser._actions
                   if not isinstance(a, argparse._HelpAction) and (not a.help or a.help == argparse.SUPPRESS)]
    assert not undescribed, f"rnnreplay {name}: arguments without a help text: {undescribed}"


def test_help_runs_from_the_command_line():
    """`python -m rnnreplay figure --help` prints the help (argparse formats every help string: a stray
    '%' in one would raise here)."""
    out = subprocess.run([sys.executable, "-m", "rnnreplay", "figure", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "--n-show" in out.stdout and "trajectories drawn per panel" in out.stdout
