# Report pages: the summary table and the provenance as HTML, shown by `snakemake --report`; the claims
# report, headed by the verdict figure, as an HTML fragment that the landing page (workflow/report/workflow.rst)
# shows.


rule report_pages:
    input:
        summary="results/tables/summary.md",
        metrics=per_task("results/metrics/{task}/{variant}/seed{seed}.nc"),
    output:
        summary=report("results/report/summary.html", caption="../report/summary.rst", category="Tables"),
        provenance=report("results/report/provenance.html", caption="../report/provenance.rst", category="Provenance"),
    log:
        "results/logs/report_pages.log",
    benchmark:
        "results/benchmarks/report_pages.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay report --summary {input.summary} --metrics {input.metrics} "
        "--out-summary {output.summary} --out-provenance {output.provenance} 2> {log}"


rule report_claims:
    input:
        md="results/claims.md",
        png="results/figures/verdicts.png",
    output:
        "results/report/claims.html",
    log:
        "results/logs/report_claims.log",
    benchmark:
        "results/benchmarks/report_claims.tsv"
    conda:
        CONDA_ENV
    shell:
        "python -m rnnreplay claims-page --claims-md {input.md} --figure {input.png} --out {output} 2> {log}"
