# Figures: PNG + PDF under results/figures/.


rule figure_examples:
    input:
        lambda w: expand(
            "results/replay/{task}/{variant}/seed{seed}.nc",
            task=w.task,
            variant=VARIANTS,
            seed=config.get("figures", {}).get("examples_seed", SEEDS[0]),
        ),
    output:
        png=report("results/figures/examples_{task}.png", caption="../report/examples.rst", category="Replay"),
        pdf="results/figures/examples_{task}.pdf",
    params:
        cli=CLI,
    log:
        "results/logs/figures/examples_{task}.log",
    benchmark:
        "results/benchmarks/figures/examples_{task}.tsv"
    conda:
        CONDA_ENV
    shell:
        "{params.cli} figure examples --inputs {input} --out {output.png} 2> {log}"


rule figure_metrics:
    input:
        "results/tables/metrics.csv",
    output:
        png=report("results/figures/metrics_{task}.png", caption="../report/metrics.rst", category="Metrics"),
        pdf="results/figures/metrics_{task}.pdf",
    params:
        cli=CLI,
    log:
        "results/logs/figures/metrics_{task}.log",
    benchmark:
        "results/benchmarks/figures/metrics_{task}.tsv"
    conda:
        CONDA_ENV
    shell:
        "{params.cli} figure metrics --inputs {input} --task {wildcards.task} --out {output.png} 2> {log}"


rule figure_momentum_sweep:
    input:
        "results/tables/metrics.csv",
    output:
        png=report("results/figures/momentum_sweep.png", caption="../report/momentum_sweep.rst", category="Metrics"),
        pdf="results/figures/momentum_sweep.pdf",
    params:
        cli=CLI,
        friction=json.dumps(config.get("figures", {}).get("momentum_sweep", {})),
    log:
        "results/logs/figures/momentum_sweep.log",
    benchmark:
        "results/benchmarks/figures/momentum_sweep.tsv"
    conda:
        CONDA_ENV
    shell:
        "{params.cli} figure sweep --inputs {input} --friction {params.friction:q} --out {output.png} 2> {log}"


rule figure_loss_curves:
    input:
        expand("results/models/{task}/{variant}/seed{seed}_loss.nc", task=TASKS, variant=TRAINED, seed=SEEDS),
    output:
        png=report("results/figures/loss_curves.png", caption="../report/loss_curves.rst", category="Training"),
        pdf="results/figures/loss_curves.pdf",
    params:
        cli=CLI,
    log:
        "results/logs/figures/loss_curves.log",
    benchmark:
        "results/benchmarks/figures/loss_curves.tsv"
    conda:
        CONDA_ENV
    shell:
        "{params.cli} figure loss --inputs {input} --out {output.png} 2> {log}"
