# Training in groups (rnnreplay.config.groups_training: device cuda, or train_group: task): one job
# per group of a task's trained variants that share training settings and cell shape, every seed
# of every variant in one ensemble (rnnreplay.train.train_ensemble), so a GPU sees many members at
# once. Each group rule names its output files outright (no wildcards), which Snakemake prefers
# over rule train's patterns; a variant alone in its group keeps its rule train job.


def _group_rule_values(task, variants):
    """(jobs JSON, pools, model files, loss files, MB, minutes) of a group's training job."""
    jobs = [rc.train_job(config, task, v, s) for v in variants for s in SEEDS]
    pools = [f"results/data/{task}/train_seed{j.seed}.nc" for j in jobs]
    models = [f"results/models/{task}/{j.variant}/seed{j.seed}.pt" for j in jobs]
    losses = [f"results/models/{task}/{j.variant}/seed{j.seed}_loss.nc" for j in jobs]
    length = rc.data_sizes(config, task)["steps"]
    n, b, steps = jobs[0].cell.hidden, jobs[0].settings.batch, jobs[0].settings.steps
    mem = int(1000 + rc.KEPT_MB + 20 * b * length * n * 4 * len(jobs) / 1e6)
    minutes = max(10, math.ceil(1.5 * steps * b * length * n * n * len(jobs) / _rate() / 60))
    return rc.to_json(jobs), pools, models, losses, mem, minutes


if rc.groups_training(config) and not ROBUSTNESS:  # a robustness map trains per (universe, variant)
    for _task in TASKS:
        for _k, _variants in enumerate(rc.train_groups(config, _task)):
            if len(_variants) < 2:
                continue
            _jobs, _pools, _models, _losses, _mem, _minutes = _group_rule_values(_task, _variants)

            rule:
                name:
                    f"train_{_task}_group{_k}"
                input:
                    paths=_pools,
                output:
                    model=_models,
                    loss=_losses,
                log:
                    f"results/logs/train/{_task}/group{_k}.log",
                benchmark:
                    f"results/benchmarks/train/{_task}/group{_k}.tsv"
                conda:
                    CONDA_ENV
                threads: THREADS
                resources:
                    mem_mb=lambda wildcards, attempt, mem=_mem: mem * attempt,
                    runtime=lambda wildcards, attempt, minutes=_minutes: minutes * attempt,
                    gpu=1 if config.get("device") == "cuda" else 0,
                params:
                    job=_jobs,
                    checkpoint=f"results/checkpoints/{_task}/group{_k}.ckpt",
                shell:
                    "python -m rnnreplay train --job {params.job:q} --train-paths {input.paths} "
                    "--out-model {output.model} --out-loss {output.loss} --threads {threads} --checkpoint {params.checkpoint} 2> {log}"
