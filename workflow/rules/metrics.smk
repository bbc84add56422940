# Metrics: one job per (task, variant), every seed's replay file, then one table over all of them.


rule metrics:
    input:
        replay=replay_of,
        test=data_of("test"),
        loss=loss_of,
    output:
        seeds_of(result("metrics/{task}/{variant}/seed{seed}.nc")),
    log:
        result("logs/metrics/{task}/{variant}.log"),
    benchmark:
        result("benchmarks/metrics/{task}/{variant}.tsv")
    conda:
        CONDA_ENV
    params:
        job=metrics_jobs,
    shell:
        "python -m rnnreplay metrics --job {params.job:q} --replay {input.replay} --test-paths {input.test} "
        "--loss {input.loss} --out {output} 2> {log}"


rule summarise:
    input:
        metrics_of,
    output:
        table=result("tables/metrics.csv"),
        summary=result("tables/summary.csv"),
        markdown=result("tables/summary.md"),
    log:
        result("logs/summarise.log"),
    benchmark:
        result("benchmarks/summarise.tsv")
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay summarise --inputs {input} --table {output.table} --summary {output.summary} "
        "--markdown {output.markdown} 2> {log}"


if len(SEED_SETS) > 1:

    use rule metrics as metrics_second_seed_set with:
        output:
            seeds_of(result("metrics/{task}/{variant}/seed{seed}.nc"), SEED_SETS[1]),
