# Claims: a verdict per claim of config `claims:` from the metrics table (and the theory checks).

CLAIMS = {k: v for k, v in config.get("claims", {}).items() if k != "decision"}
CLAIMS_NEED_THEORY = any(c.get("kind") == "theory" for s in CLAIMS.values() for c in s["comparisons"])
CLAIMS_TARGETS = (
    ["results/claims.csv", "results/claims.md", "results/figures/verdicts.png", "results/report/claims.html"]
    if CLAIMS and not ROBUSTNESS
    else []
)


# The kept robustness map (docs/robustness/, when this checkout has one): claims.md shows each
# claim's and part's class across its universes.
KEPT_MAP = [f"docs/robustness/robustness_{x}.csv" for x in ("parts", "claims")]
KEPT_MAP = KEPT_MAP if not ROBUSTNESS and all(Path(p).exists() for p in KEPT_MAP) else []


rule claims:
    input:
        metrics=result("tables/metrics.csv"),
        theory="results/tables/theory_checks.csv" if CLAIMS_NEED_THEORY else [],
        robustness=KEPT_MAP,
    output:
        csv=report(result("claims.csv"), caption="../report/claims.rst", category="Claims"),
        md=result("claims.md"),
    log:
        result("logs/claims.log"),
    benchmark:
        result("benchmarks/claims.tsv")
    conda:
        CONDA_ENV
    params:
        claims=lambda w: json.dumps(cfg(w).get("claims", {}), sort_keys=True),
        theory=lambda w, input: f"--theory-checks {input.theory}" if CLAIMS_NEED_THEORY else "",
        robustness=lambda w, input: f"--robustness {input.robustness}" if KEPT_MAP else "",
    shell:
        "python -m rnnreplay claims --claims {params.claims:q} --metrics {input.metrics} {params.theory} "
        "{params.robustness} --out-csv {output.csv} --out-md {output.md} 2> {log}"


rule figure_verdicts:
    input:
        "results/claims.csv",
    output:
        png=report("results/figures/verdicts.png", caption="../report/verdicts.rst", category="Claims"),
        pdf="results/figures/verdicts.pdf",
    log:
        "results/logs/figures/verdicts.log",
    benchmark:
        "results/benchmarks/figures/verdicts.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay figure verdicts --inputs {input} --out {output.png} 2> {log}"
