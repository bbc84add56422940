# Metrics: one job per (task, variant), every seed's replay file, then one table over all of them.


rule metrics:
    input:
        replay=seeds_of("results/replay/{task}/{variant}/seed{seed}.nc"),
        test="results/data/{task}/test.nc",
        loss=loss_of,
    output:
        seeds_of("results/metrics/{task}/{variant}/seed{seed}.nc"),
    log:
        "results/logs/metrics/{task}/{variant}.log",
    benchmark:
        "results/benchmarks/metrics/{task}/{variant}.tsv"
    conda:
        CONDA_ENV
    params:
        job=metrics_jobs,
    shell:
        "python -m rnnreplay metrics --job {params.job:q} --replay {input.replay} --test-paths {input.test} "
        "--loss {input.loss} --out {output} 2> {log}"


rule summarise:
    input:
        per_task("results/metrics/{task}/{variant}/seed{seed}.nc"),
    output:
        table="results/tables/metrics.csv",
        summary="results/tables/summary.csv",
        markdown="results/tables/summary.md",
    log:
        "results/logs/summarise.log",
    benchmark:
        "results/benchmarks/summarise.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay summarise --inputs {input} --table {output.table} --summary {output.summary} "
        "--markdown {output.markdown} 2> {log}"
