# Theory oracles (docs/methods.md#theory-oracles): simulated vs closed-form checks (claim C1) and a figure.


rule theory:
    output:
        png=report("results/figures/theory.png", caption="../report/theory.rst", category="Theory"),
        pdf="results/figures/theory.pdf",
        checks="results/tables/theory_checks.csv",
    log:
        "results/logs/theory.log",
    benchmark:
        "results/benchmarks/theory.tsv"
    conda:
        CONDA_ENV
    params:
        seed=config.get("theory", {}).get("seed", 0),
    shell:
        "python -m rnnreplay theory --seed {params.seed} --out {output.png} --checks {output.checks} 2> {log}"
