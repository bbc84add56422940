# Data synthesis: each task's training pool (per seed) and held-out test paths (shared).


rule synthesize_train:
    output:
        result("data/{task}/train_seed{seed}.nc"),
    log:
        result("logs/synthesize/{task}/train_seed{seed}.log"),
    benchmark:
        result("benchmarks/synthesize/{task}/train_seed{seed}.tsv")
    conda:
        CONDA_ENV
    params:
        job=synthesis_job("train"),
    shell:
        "python -m rnnreplay synthesize --job {params.job:q} --out {output} 2> {log}"


rule synthesize_test:
    output:
        result("data/{task}/test.nc"),
    log:
        result("logs/synthesize/{task}/test.log"),
    benchmark:
        result("benchmarks/synthesize/{task}/test.tsv")
    conda:
        CONDA_ENV
    params:
        job=synthesis_job("test"),
    shell:
        "python -m rnnreplay synthesize --job {params.job:q} --out {output} 2> {log}"
