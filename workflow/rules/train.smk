# Training: one job per (task, trained variant), its seeds trained side by side as an ensemble.


rule train:
    input:
        paths=data_of("train"),
    output:
        model=seeds_of(result("models/{task}/{variant}/seed{seed}.pt")),
        loss=seeds_of(result("models/{task}/{variant}/seed{seed}_loss.nc")),
    log:
        result("logs/train/{task}/{variant}.log"),
    benchmark:
        result("benchmarks/train/{task}/{variant}.tsv")
    conda:
        CONDA_ENV
    threads: THREADS
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
        gpu=1 if config.get("device") == "cuda" else 0,
    params:
        job=train_jobs,
        # Outside the declared outputs: Snakemake deletes those before it reruns a job.
        checkpoint=result("checkpoints/{task}/{variant}.ckpt"),
    shell:
        "python -m rnnreplay train --job {params.job:q} --train-paths {input.paths} "
        "--out-model {output.model} --out-loss {output.loss} --threads {threads} --checkpoint {params.checkpoint} 2> {log}"


# A robustness universe with its own seed set (e.g. seeds 5-9): the same rule, its seeds' files.
if len(SEED_SETS) > 1:

    use rule train as train_second_seed_set with:
        output:
            model=seeds_of(result("models/{task}/{variant}/seed{seed}.pt"), SEED_SETS[1]),
            loss=seeds_of(result("models/{task}/{variant}/seed{seed}_loss.nc"), SEED_SETS[1]),


include: "train_grouped.smk"  # device cuda: a task's variants trained side by side, one job per group
