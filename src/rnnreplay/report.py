"""Pages for ``snakemake --report``: the summary table and the provenance of a run, as small
self-contained HTML files (the report shows HTML inline; CSV only as a download)."""

from __future__ import annotations

import datetime as _dt
import html
import json
import importlib.metadata
import platform
import sys

import yaml

from . import __version__
from .checks import read_job_file, stage_outputs
from .io import git_commit
from .jobs import MetricsJob

STYLE = ("<style>body{font-family:sans-serif;font-size:13px;margin:1em}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right;white-space:nowrap}th{background:#f0f0f0}"
         "td:nth-child(-n+2){text-align:left}pre{background:#f7f7f7;padding:.5em;overflow:auto}</style>")
PACKAGES = ("torch", "numpy", "xarray", "netCDF4", "pandas", "scipy", "POT", "matplotlib", "snakemake")


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{STYLE}"
            f"</head><body><h2>{html.escape(title)}</h2>{body}</body></html>\n")


def markdown_table_html(markdown: str) -> str:
    """A pipe table as written by :func:`rnnreplay.stats.markdown_table` -> an HTML table."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in markdown.splitlines() if line.strip().startswith("|")]
    rows = [r for r in rows if not all(set(c) <= set("-: ") for c in r)]  # drop the |---| rule
    if not rows:
        return "<p>(empty table)</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def summary_page(markdown: str) -> str:
    """The summary table: mean ± half-width of the 95% CI (Student t) over seeds."""
    note = ("<p>Mean ± half-width of the 95% confidence interval (Student t) over seeds, per task and "
            "variant. Units: positions in task units, times in steps. Full numbers: "
            "<code>results/tables/summary.csv</code>; per seed: <code>results/tables/metrics.csv</code>.</p>")
    return _page("Replay metrics by task and variant", note + markdown_table_html(markdown))


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "rnnreplay": __version__}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance_page(metrics_files: list[str]) -> str:
    """What made these results: code version and commit and the run's resolved config, as recorded
    in each metrics file (so a run mixing commits or configs shows it), package versions, machine."""
    sources: dict[str, int] = {}
    configs: dict[str, int] = {}
    for path in metrics_files:
        attrs = read_job_file(path, MetricsJob)[1].attrs
        sources[attrs.get("source", "unknown")] = sources.get(attrs.get("source", "unknown"), 0) + 1
        config = attrs.get("config_json")
        if config:
            configs[config] = configs.get(config, 0) + 1
    rows = "".join(f"<tr><td>{html.escape(s)}</td><td>{n}</td></tr>" for s, n in sorted(sources.items()))
    mixed = ("<p><b>Warning: the results come from more than one code version.</b></p>"
             if len(sources) > 1 else "")
    if configs:
        newest = max(configs, key=configs.get)
        config_html = (f"<pre>{html.escape(yaml.safe_dump(json.loads(newest), sort_keys=False))}</pre>"
                       + (f"<p><b>The metrics files record {len(configs)} different configs</b> (a later config "
                          "changed settings that did not rerun every file); shown: the one most files record "
                          f"({configs[newest]} of {len(metrics_files)}).</p>" if len(configs) > 1 else ""))
    else:
        config_html = "<p>(no metrics file records the run's config: they were not made by the workflow)</p>"
    versions = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in _versions().items())
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f"<p>Page written {now} by rnnreplay {__version__} (git {html.escape(git_commit())}) on "
        f"{html.escape(platform.platform())}, Python {html.escape(sys.version.split()[0])}.</p>"
        f"<h3>Code that produced the results</h3>{mixed}<table><tr><th>source (metrics files)</th>"
        f"<th>files</th></tr>{rows}</table>"
        f"<h3>Packages</h3><table><tr><th>package</th><th>version</th></tr>{versions}</table>"
        f"<h3>Configuration (resolved, with schema defaults)</h3>{config_html}"
        "<p>Every NetCDF output also carries its own job description (<code>job_json</code>: what "
        "determined it), the run's config (<code>config_json</code>), seed, <code>source</code> and "
        "<code>history</code> attributes.</p>"
    )
    return _page("Provenance", body)


@stage_outputs("out_summary", "out_provenance")
def write_pages(summary_md: str, metrics_files: list[str], out_summary: str, out_provenance: str) -> str:
    """The report stage: the summary table (from ``summary_md``) and the provenance page (from the
    metrics files) as HTML. Returns a line for the log."""
    from pathlib import Path

    from .io import write_text

    write_text(out_summary, summary_page(Path(summary_md).read_text()))
    write_text(out_provenance, provenance_page(metrics_files))
    return f"summary and provenance of {len(metrics_files)} metrics files -> {out_summary}, {out_provenance}"


def _inline_html(text: str) -> str:
    """Markdown inline marks of the claims report (``**bold**``, ``*italic*``, ```code```, ``\\*``)
    as HTML, the rest escaped."""
    import re

    text = html.escape(text.replace("\\*", "\x00"))
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"\*(.+?)\*", r"<i>\1</i>", text)
    text = re.sub(r"`(.+?)`", r"<code>\1</code>", text)
    return text.replace("\x00", "*")


VERDICT_ALT = "verdict figure: every claim part's effect with its CI, coloured by verdict"


def claims_fragment(markdown: str, figure_png: bytes | None = None) -> str:
    """The claims report (``results/claims.md``: headings, paragraphs, pipe tables) as an HTML
    fragment for the report's landing page (no <html>: it sits inside the report's page), headed by
    the verdict figure ``figure_png`` (PNG bytes, embedded as a data URI) if given."""
    import base64

    out, table, paragraph = [], [], []
    if figure_png is not None:
        out.append(f"<img alt=\"{VERDICT_ALT}\" style=\"width:100%;max-width:1400px\" "
                   f"src=\"data:image/png;base64,{base64.b64encode(figure_png).decode()}\">")

    def flush():
        if table:
            rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table]
            rows = [r for r in rows if not all(set(c) <= set("-: ") for c in r)]
            head = "".join(f"<th>{_inline_html(c)}</th>" for c in rows[0])
            body = "".join("<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
            out.append(f"<table class='claims'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            table.clear()
        if paragraph:
            out.append(f"<p>{_inline_html(' '.join(paragraph))}</p>")
            paragraph.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            if paragraph:
                flush()
            table.append(line)
        elif line.startswith("#"):
            flush()
            level = min(6, len(line) - len(line.lstrip("#")) + 2)  # # -> h3: below the report's own headings
            out.append(f"<h{level}>{_inline_html(line.lstrip('#').strip())}</h{level}>")
        elif not line.strip():
            flush()
        else:
            if table:
                flush()
            paragraph.append(line.strip())
    flush()
    style = ("<style>table.claims{border-collapse:collapse;font-size:12px;margin:.5em 0}"
             "table.claims td,table.claims th{border:1px solid #ccc;padding:2px 5px;text-align:left}"
             "table.claims th{background:#f0f0f0}</style>")
    return "<div class='claims-report'>" + style + "".join(out) + "</div>\n"


@stage_outputs("out")
def write_claims_fragment(claims_md: str, out: str, figure: str | None = None) -> str:
    """The claims page of the report's landing page: :func:`claims_fragment` of ``claims_md`` headed
    by the verdict figure ``figure`` (a PNG path, or None), written to ``out``."""
    from pathlib import Path

    from .io import write_text

    write_text(out, claims_fragment(Path(claims_md).read_text(), Path(figure).read_bytes() if figure else None))
    return f"{figure + ' and ' if figure else ''}{claims_md} as HTML ({Path(out).stat().st_size} bytes) -> {out}"
