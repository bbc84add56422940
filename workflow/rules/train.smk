# Training: one job per (task, trained variant, seed).


rule train:
    input:
        paths="results/data/{task}/train_seed{seed}.nc",
    output:
        model="results/models/{task}/{variant}/seed{seed}.pt",
        loss="results/models/{task}/{variant}/seed{seed}_loss.nc",
    log:
        "results/logs/train/{task}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{task}/{variant}/seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: THREADS
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
        gpu=1 if config.get("device") == "cuda" else 0,
    params:
        job=train_job,
        # Outside the declared outputs: Snakemake deletes those before it reruns a job.
        checkpoint="results/checkpoints/{task}/{variant}/seed{seed}.ckpt",
    shell:
        "python -m rnnreplay train --job {params.job:q} --train-paths {input.paths} "
        "--out-model {output.model} --out-loss {output.loss} --threads {threads} --checkpoint {params.checkpoint} 2> {log}"
