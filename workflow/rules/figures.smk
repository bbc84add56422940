# Figures: PNG + PDF under results/figures/.


rule figure_examples:
    input:
        lambda w: per_task("results/replay/{task}/{variant}/seed{seed}.nc", tasks=[w.task], seeds=[EXAMPLES_SEED]),
    output:
        png=report("results/figures/examples_{task}.png", caption="../report/examples.rst", category="Replay"),
        pdf="results/figures/examples_{task}.pdf",
    log:
        "results/logs/figures/examples_{task}.log",
    benchmark:
        "results/benchmarks/figures/examples_{task}.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay figure examples --inputs {input} --out {output.png} 2> {log}"


rule figure_metrics:
    input:
        "results/tables/metrics.csv",
    output:
        png=report("results/figures/metrics_{task}.png", caption="../report/metrics.rst", category="Metrics"),
        pdf="results/figures/metrics_{task}.pdf",
    log:
        "results/logs/figures/metrics_{task}.log",
    benchmark:
        "results/benchmarks/figures/metrics_{task}.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay figure metrics --inputs {input} --task {wildcards.task} --out {output.png} 2> {log}"


rule figure_momentum_sweep:
    input:
        "results/tables/metrics.csv",
    output:
        png=report("results/figures/momentum_sweep.png", caption="../report/momentum_sweep.rst", category="Metrics"),
        pdf="results/figures/momentum_sweep.pdf",
    log:
        "results/logs/figures/momentum_sweep.log",
    benchmark:
        "results/benchmarks/figures/momentum_sweep.tsv"
    conda:
        CONDA_ENV
    params:
        friction=json.dumps(config.get("figures", {}).get("momentum_sweep", {})),
    shell:
        "python -m rnnreplay figure sweep --inputs {input} --friction {params.friction:q} --out {output.png} 2> {log}"


rule figure_loss_curves:
    input:
        per_task("results/models/{task}/{variant}/seed{seed}_loss.nc", trained=True),
    output:
        png=report("results/figures/loss_curves.png", caption="../report/loss_curves.rst", category="Training"),
        pdf="results/figures/loss_curves.pdf",
    log:
        "results/logs/figures/loss_curves.log",
    benchmark:
        "results/benchmarks/figures/loss_curves.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay figure loss --inputs {input} --out {output.png} 2> {log}"


rule figure_kr24_kl:
    input:
        replay=per_task("results/replay/{task}/{variant}/seed{seed}.nc", tasks=KR24_TASKS),
        table="results/tables/metrics.csv",
    output:
        png=report("results/figures/kr24_kl.png", caption="../report/kr24_kl.rst", category="KR24"),
        pdf="results/figures/kr24_kl.pdf",
    log:
        "results/logs/figures/kr24_kl.log",
    benchmark:
        "results/benchmarks/figures/kr24_kl.tsv"
    conda:
        CONDA_ENV
    params:
        settings=json.dumps(config["metrics"], sort_keys=True),
    shell:
        "python -m rnnreplay figure kl --inputs {input.replay} --metrics-table {input.table} --settings {params.settings:q} "
        "--out {output.png} 2> {log}"


rule figure_kr24_densities:
    input:
        per_task("results/replay/{task}/{variant}/seed{seed}.nc", tasks=KR24_TASKS, seeds=[EXAMPLES_SEED]),
    output:
        png=report("results/figures/kr24_densities.png", caption="../report/kr24_densities.rst", category="KR24"),
        pdf="results/figures/kr24_densities.pdf",
    log:
        "results/logs/figures/kr24_densities.log",
    benchmark:
        "results/benchmarks/figures/kr24_densities.tsv"
    conda:
        CONDA_ENV
    params:
        settings=json.dumps({"burn_in": config["metrics"]["burn_in"]}),
    shell:
        "python -m rnnreplay figure densities --inputs {input} --settings {params.settings:q} --out {output.png} 2> {log}"


rule figure_kr24_summary:
    input:
        "results/tables/metrics.csv",
    output:
        png=report("results/figures/kr24_summary.png", caption="../report/kr24_summary.rst", category="KR24"),
        pdf="results/figures/kr24_summary.pdf",
    log:
        "results/logs/figures/kr24_summary.log",
    benchmark:
        "results/benchmarks/figures/kr24_summary.tsv"
    conda:
        CONDA_ENV
    params:
        tasks=" ".join(KR24_TASKS + HD_TASKS),
    shell:
        "python -m rnnreplay figure kr24 --inputs {input} --tasks {params.tasks} --out {output.png} 2> {log}"


rule figure_hd_ring:
    input:
        per_task("results/replay/{task}/{variant}/seed{seed}.nc", tasks=HD_TASKS, seeds=[EXAMPLES_SEED]),
    output:
        png=report("results/figures/hd_ring.png", caption="../report/hd_ring.rst", category="KR24"),
        pdf="results/figures/hd_ring.pdf",
    log:
        "results/logs/figures/hd_ring.log",
    benchmark:
        "results/benchmarks/figures/hd_ring.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay figure ring --inputs {input} --out {output.png} 2> {log}"


rule figure_rat_code:
    input:
        replay=per_task(
            "results/replay/{task}/{variant}/seed{seed}.nc",
            tasks=[RAT_TASK] if RAT_TASK else [],
            seeds=[EXAMPLES_SEED],
        ),
        test=f"results/data/{RAT_TASK}/test.nc" if RAT_TASK else [],
    output:
        png=report("results/figures/rat_code.png", caption="../report/rat_code.rst", category="Replay"),
        pdf="results/figures/rat_code.pdf",
    log:
        "results/logs/figures/rat_code.log",
    benchmark:
        "results/benchmarks/figures/rat_code.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay figure code --inputs {input.replay} --test-paths {input.test} --out {output.png} 2> {log}"


rule figure_pi_error:
    input:
        replay=per_task("results/replay/{task}/{variant}/seed{seed}.nc", trained=True),
        test=[f"results/data/{t}/test.nc" for t in TASKS],
    output:
        png=report("results/figures/pi_error.png", caption="../report/pi_error.rst", category="Training"),
        pdf="results/figures/pi_error.pdf",
    log:
        "results/logs/figures/pi_error.log",
    benchmark:
        "results/benchmarks/figures/pi_error.tsv"
    conda:
        CONDA_ENV
    params:
        gate=f"--gate {LEARNING_GATE}" if LEARNING_GATE else "",
    shell:
        "python -m rnnreplay figure pi_error --inputs {input.replay} --test-paths {input.test} {params.gate} "
        "--out {output.png} 2> {log}"


# Replay dynamics as experimenters measure them (docs/replay-dynamics.md), from the metrics table.
rule figure_replay_displacement:
    input:
        "results/tables/metrics.csv",
    output:
        png=report(
            "results/figures/replay_displacement.png",
            caption="../report/replay_displacement.rst",
            category="Replay dynamics",
        ),
        pdf="results/figures/replay_displacement.pdf",
    log:
        "results/logs/figures/replay_displacement.log",
    benchmark:
        "results/benchmarks/figures/replay_displacement.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay figure displacement --inputs {input} --out {output.png} 2> {log}"


rule figure_replay_model_shares:
    input:
        "results/tables/metrics.csv",
    output:
        png=report(
            "results/figures/replay_model_shares.png",
            caption="../report/replay_model_shares.rst",
            category="Replay dynamics",
        ),
        pdf="results/figures/replay_model_shares.pdf",
    log:
        "results/logs/figures/replay_model_shares.log",
    benchmark:
        "results/benchmarks/figures/replay_model_shares.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay figure model_shares --inputs {input} --out {output.png} 2> {log}"


rule figure_replay_coverage:
    input:
        "results/tables/metrics.csv",
    output:
        png=report(
            "results/figures/replay_coverage.png", caption="../report/replay_coverage.rst", category="Replay dynamics"
        ),
        pdf="results/figures/replay_coverage.pdf",
    log:
        "results/logs/figures/replay_coverage.log",
    benchmark:
        "results/benchmarks/figures/replay_coverage.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay figure coverage --inputs {input} --out {output.png} 2> {log}"


rule figure_replay_compression:
    input:
        "results/tables/metrics.csv",
    output:
        png=report(
            "results/figures/replay_compression.png",
            caption="../report/replay_compression.rst",
            category="Replay dynamics",
        ),
        pdf="results/figures/replay_compression.pdf",
    log:
        "results/logs/figures/replay_compression.log",
    benchmark:
        "results/benchmarks/figures/replay_compression.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay figure compression --inputs {input} --out {output.png} 2> {log}"
