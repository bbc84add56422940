# Metrics: one job per replay file, then one table over all of them.


rule metrics:
    input:
        replay="results/replay/{task}/{variant}/seed{seed}.nc",
        test="results/data/{task}/test.nc",
        loss=loss_of,
    output:
        "results/metrics/{task}/{variant}/seed{seed}.nc",
    log:
        "results/logs/metrics/{task}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/metrics/{task}/{variant}/seed{seed}.tsv"
    conda:
        CONDA_ENV
    params:
        job=metrics_job,
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
