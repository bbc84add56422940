# rnnreplay: replay in noisy path-integrating RNNs (KR24, CR26), end to end.
# This file only includes; the stages live in workflow/rules/, one file each.
from snakemake.utils import min_version

min_version("9.20")


# config.yaml is the default experiment. A config given with --configfile (workflow/configs/*.yaml)
# replaces it whole rather than being merged into it, so a sweep never inherits the default's
# tasks or variants; --config KEY=VALUE still overrides single keys of either.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "workflow/rules/common.smk"  # first: it checks the config (one line per problem) and validates it
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/replay.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/theory.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/report.smk"


report: "workflow/report/workflow.rst"


rule all:
    default_target: True
    input:
        all_targets(),
        "results/figures/theory.png",
        CLAIMS_TARGETS,
