#!/usr/bin/env bash
# Render the Snakemake report in a real headless browser and save screenshots to look at.
#
#   tests/report_screenshot.sh [WORKDIR] [OUTDIR]
#
# WORKDIR: a directory holding a finished run (results/) and its config.yaml; when omitted the
# tiny config (tests/configs/tiny.yaml) is run in a fresh temporary directory first (minutes).
# Needs chromium (Debian: apt-get install -y chromium). Writes OUTDIR/report_*.png (default: the
# work directory) and fails if the browser produced no image.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
WORK="${1:-}"
if [ -z "$WORK" ]; then
    WORK="$(mktemp -d)"
    cp "$ROOT/tests/configs/tiny.yaml" "$WORK/config.yaml"
    "$PY" -m snakemake --snakefile "$ROOT/Snakefile" --cores 2 --configfile config.yaml --directory "$WORK"
fi
OUT="${2:-$WORK}"
mkdir -p "$OUT"
(cd "$WORK" && "$PY" -m snakemake --snakefile "$ROOT/Snakefile" --configfile config.yaml --directory "$WORK" \
    --report results/report.html)
BROWSER="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$BROWSER" ] || { echo "no chromium found: apt-get install -y chromium" >&2; exit 1; }

shot() {  # shot NAME URL: one full-window screenshot, with a fresh profile and no network chatter
    local profile
    profile="$(mktemp -d)"
    "$BROWSER" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
        --hide-scrollbars --window-size=1400,1000 --virtual-time-budget=10000 \
        --screenshot="$OUT/report_$1.png" "$2" >/dev/null 2>&1 || true
    rm -rf "$profile"
    [ -s "$OUT/report_$1.png" ] || { echo "no screenshot for $1" >&2; exit 1; }
    echo "$OUT/report_$1.png"
}

REPORT="file://$WORK/results/report.html"
shot main "$REPORT"  # the landing page: the verdict figure, then the claims report
# ... and its whole length (the claims tables run below the first screen)
profile="$(mktemp -d)"
"$BROWSER" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$profile" --hide-scrollbars \
    --window-size=1400,4000 --virtual-time-budget=10000 --screenshot="$OUT/report_landing_full.png" "$REPORT" \
    >/dev/null 2>&1 || true
rm -rf "$profile"
[ -s "$OUT/report_landing_full.png" ] || { echo "no screenshot of the whole landing page" >&2; exit 1; }
echo "$OUT/report_landing_full.png"
# Views inside the report: it is a single-page app without addressable views, so a copy of it
# clicks its way there (a menu category, then the view button in the result's row).
view() {  # view NAME CATEGORY RESULT [BUTTON]: BUTTON 0 shows the result, 1 its caption and info
    local page
    page="$(mktemp --suffix=.html -p "$WORK/results")"
    { cat "$WORK/results/report.html"; cat <<JS
<script>
function byText(t){return [...document.querySelectorAll("a,button,li,td,span,div")].reverse()
  .find(n=>n.textContent.trim()===t);}
setTimeout(()=>byText("$2").click(),1500);
setTimeout(()=>byText("$3").closest("tr").querySelectorAll("a,button")[${4:-0}].click(),3000);
</script>
JS
    } > "$page"
    shot "$1" "file://$page"
    rm -f "$page"
}
view figure Replay results/figures/examples_tmaze.png
view sweep Metrics results/figures/momentum_sweep.png
view caption Metrics results/figures/momentum_sweep.png 1
view table Tables results/report/summary.html
# The two report pages on their own (inside the report they open from the menu).
shot summary "file://$WORK/results/report/summary.html"
shot provenance "file://$WORK/results/report/provenance.html"
