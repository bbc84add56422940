# Replay sampling: one job per (task, variant), every seed; replay-only variants reuse a trained model.


rule replay:
    input:
        model=model_of,
        test="results/data/{task}/test.nc",
    output:
        seeds_of("results/replay/{task}/{variant}/seed{seed}.nc"),
    log:
        "results/logs/replay/{task}/{variant}.log",
    benchmark:
        "results/benchmarks/replay/{task}/{variant}.tsv"
    conda:
        CONDA_ENV
    threads: THREADS
    resources:
        mem_mb=2000,
        runtime=replay_runtime,
    params:
        job=replay_jobs,
    shell:
        "python -m rnnreplay replay --job {params.job:q} --model {input.model} --test-paths {input.test} "
        "--out {output} --threads {threads} 2> {log}"
