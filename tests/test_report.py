"""The report: `snakemake --report` holds every figure with a caption (what, which claim, which
config keys), the summary table and the provenance; it renders in a headless browser if one is
installed (tests/report_screenshot.sh saves screenshots to look at)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import snakemake

ROOT = Path(__file__).resolve().parents[1]
REPORT_DIR = ROOT / "workflow" / "report"


def report_items() -> list[tuple[str, str]]:
    """(output path, caption file) of every report() item declared in the rules."""
    text = "".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    return re.findall(r'report\(\s*"([^"]+)",\s*caption="\.\./report/([^"]+)"', text)


def test_every_report_item_has_a_caption_with_claim_and_keys():
    items = report_items()
    assert {Path(p).stem.split("_{")[0] for p, _ in items} >= {"examples", "metrics", "loss_curves",
                                                               "momentum_sweep", "summary", "provenance"}
    for path, caption in items:
        text = (REPORT_DIR / caption).read_text()
        assert len(text.split()) >= 15, caption  # says what it shows
        if caption != "provenance.rst":
            assert re.search(r"\b[Cc]laims? [CDEK]\d", text), caption
            assert re.search(r"``[a-z_]+(\.[a-z_*]+)*``", text), caption  # names config keys


@pytest.fixture(scope="module")
def report(tiny_run) -> Path:
    snakemake("--configfile", "config.yaml", "--directory", str(tiny_run), "--report", "results/report.html",
              cwd=tiny_run)
    return tiny_run / "results" / "report.html"


@pytest.mark.workflow
def test_report_holds_figures_table_provenance(report, tiny_run):
    html = report.read_text()
    for png in (tiny_run / "results" / "figures").glob("*.png"):
        assert png.name in html, png.name
    for name in ("summary.html", "provenance.html", "Claim C4", "Provenance", "Tables"):
        assert name in html, name
    assert "Mean ± half-width of the 95% confidence interval" in (tiny_run / "results/report/summary.html").read_text()
    provenance = (tiny_run / "results/report/provenance.html").read_text()
    assert "rnnreplay 0.1.0 (git" in provenance and "leak_replay_lv0.5" in provenance


@pytest.mark.workflow
@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")), reason="no chromium")
def test_report_renders_in_a_headless_browser(report, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    shot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,800",
                    "--virtual-time-budget=5000", f"--screenshot={shot}", report.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000  # a drawn page, not a blank one


@pytest.mark.workflow
@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")), reason="no chromium")
def test_landing_page_shows_the_verdict_figure_and_the_claims_table(report, tiny_run, tmp_path):
    """The report's landing page, as a headless browser renders it (the DOM after its scripts ran),
    shows the verdict figure (an embedded PNG) and the claims table with every claim's verdict."""
    import base64

    import pandas as pd

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
                           report.as_uri()], capture_output=True, text=True, timeout=120)
    dom = done.stdout
    figure = re.search(r'<img[^>]*alt="verdict figure[^"]*"[^>]*>', dom) or re.search(r'<img[^>]*src="data:image/png;'
                                                                                      r'base64,[^"]+"[^>]*alt="verdict', dom)
    assert figure, "no verdict figure on the landing page"
    data = re.search(r'src="data:image/png;base64,([^"]+)"', figure.group(0)).group(1)
    assert base64.b64decode(data) == (tiny_run / "results/figures/verdicts.png").read_bytes()
    assert "claims-report" in dom and "<table class=\"claims\">" in dom
    claims = pd.read_csv(tiny_run / "results/claims.csv")
    for claim, verdict in claims.drop_duplicates("claim")[["claim", "claim_verdict"]].values:
        assert re.search(rf"<td>{claim}</td><td>[^<]+</td><td><b>{verdict}</b>", dom), (claim, verdict)
