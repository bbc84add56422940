# Replay sampling: one job per (task, variant), every seed; replay-only variants reuse a trained model.


rule replay:
    input:
        model=model_of,
        test=data_of("test"),
    output:
        seeds_of(result("replay/{task}/{variant}/seed{seed}.nc")),
    log:
        result("logs/replay/{task}/{variant}.log"),
    benchmark:
        result("benchmarks/replay/{task}/{variant}.tsv")
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


if len(SEED_SETS) > 1:

    use rule replay as replay_second_seed_set with:
        output:
            seeds_of(result("replay/{task}/{variant}/seed{seed}.nc"), SEED_SETS[1]),
