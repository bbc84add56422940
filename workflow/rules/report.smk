# Report pages: the summary table and the provenance as HTML, shown by `snakemake --report`.


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
