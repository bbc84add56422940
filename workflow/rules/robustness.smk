# The robustness map: every universe's claims side by side, each part classified robust / fragile
# / reversed / untested by the rule that workflow/configs/robustness.yaml declares.

ROBUSTNESS_RULE = (config.get("robustness") or {}).get("rule") or {}
ROBUSTNESS_TARGETS = (
    [f"results/robustness/robustness{x}" for x in (".csv", "_parts.csv", "_claims.csv", ".md", ".png")]
    if ROBUSTNESS
    else []
)


rule robustness:
    input:
        [at(u, "claims.csv") for u in UNIVERSES] if ROBUSTNESS else [],
    output:
        csv="results/robustness/robustness.csv",
        parts="results/robustness/robustness_parts.csv",
        claims="results/robustness/robustness_claims.csv",
        md="results/robustness/robustness.md",
        png="results/robustness/robustness.png",
    log:
        "results/robustness/logs/robustness.log",
    benchmark:
        "results/robustness/benchmarks/robustness.tsv"
    conda:
        CONDA_ENV
    params:
        universes=list(UNIVERSES),
        min_valid_share=ROBUSTNESS_RULE.get("min_valid_share", 0.5),
    shell:
        "python -m rnnreplay robustness --inputs {input} --universes {params.universes} "
        "--min-valid-share {params.min_valid_share} --out-csv {output.csv} --out-parts {output.parts} --out-claims {output.claims} "
        "--out-md {output.md} "
        "--out-png {output.png} 2> {log}"
