# Training: one job per (task, trained variant), its seeds trained side by side as an ensemble.


rule train:
    input:
        paths=seeds_of("results/data/{task}/train_seed{seed}.nc"),
    output:
        model=seeds_of("results/models/{task}/{variant}/seed{seed}.pt"),
        loss=seeds_of("results/models/{task}/{variant}/seed{seed}_loss.nc"),
    log:
        "results/logs/train/{task}/{variant}.log",
    benchmark:
        "results/benchmarks/train/{task}/{variant}.tsv"
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
        checkpoint="results/checkpoints/{task}/{variant}.ckpt",
    shell:
        "python -m rnnreplay train --job {params.job:q} --train-paths {input.paths} "
        "--out-model {output.model} --out-loss {output.loss} --threads {threads} --checkpoint {params.checkpoint} 2> {log}"


include: "train_grouped.smk"  # device cuda: a task's variants trained side by side, one job per group
