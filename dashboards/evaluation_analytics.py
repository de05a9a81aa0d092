"""Medical Evaluation Analytics: how many evaluations, how well, how fast, at what token cost, how much of the
error budget is left, and the way from a slow or failed evaluation to its trace in Tempo.

Every query selects the jobs that own the evaluation metrics (catalog/metrics.py) as well as `$job`: "All" is `.*`,
and the API gateway exports the same families at zero. Panels by model or error type are right for an app that
exports neither label: the legend then says "all models" or "unspecified".
"""

from catalog import grafana
from catalog import metrics as m
from catalog import promql as q
from catalog import thresholds as t
from obs.author.dashboard import platform_dashboard
from obs.author.layout import section
from obs.author.panels import stat, target, timeseries
from obs.author.traces import explore_link, tempo_traces
from obs.author.variables import label_values, textbox

APP = (q.APP, 'job=~"$job"', 'model=~"$model"')
PER_MINUTE = "60 * "
SLO = t.EVALUATION_SLO
# Token prices are USD per million tokens; the defaults are placeholders a user overrides on the dashboard.
COST_PER_SECOND = (
    f"({q.sum_rate(m.TOKENS_INPUT, *APP)} * $price_input_per_mtok"
    f" + {q.sum_rate(m.TOKENS_OUTPUT, *APP)} * $price_output_per_mtok) / 1000000"
)


FAILED_TRACES_LINK = explore_link("Failed evaluations in Tempo", q.failed_evaluation_spans())
# Per series of "Failures by error type": the traces of that error type.
ERROR_TYPE_TRACES_LINK = explore_link("Failed evaluations of this error type in Tempo",
                                    q.failed_evaluation_spans("${__field.labels.error_type}"))
SLOW_TRACES_LINK = explore_link(f"Evaluations slower than {t.SLOW_EVALUATION} in Tempo", q.slow_evaluation_spans())

# --- Overview: the numbers an on-call engineer reads first ------------------------------------------
evaluations_in_range = stat(
    "Evaluations",
    [target(f"sum(increase({q.selector(m.EVALUATIONS, *APP)}[$__range]))", instant=True)],
    description="Evaluations started in the selected time range.",
    unit="short",
    decimals=0,
    graph=False,
)
throughput_now = stat(
    "Throughput",
    [target(PER_MINUTE + q.sum_rate(m.EVALUATIONS, *APP))],
    description="Evaluations started per minute, now.",
    unit="opm",
)
success_rate_now = stat(
    "Success rate now",
    [target(q.success_ratio(*APP))],
    description="Share of the evaluations started that succeeded (failed or never reported back lower it). Red "
    "below the LowEvaluationSuccessRate alert threshold, amber in the early-warning band.",
    unit="percentunit",
    thresholds=t.SUCCESS_RATE,
    links=[FAILED_TRACES_LINK],
)
failure_rate_now = stat(
    "Failure rate now",
    [target(q.failure_ratio(*APP))],
    description="Failed share of completed evaluations. Red above the HighEvaluationFailureRate alert "
    "threshold. Click through to the failed evaluations' traces.",
    unit="percentunit",
    thresholds=t.FAILURE_RATE,
    links=[FAILED_TRACES_LINK],
)
p95_now = stat(
    "P95 processing time now",
    [target(q.latency_quantile(0.95, *APP))],
    description="95th percentile of evaluation time, now. Red above the EvaluationLatencyHigh threshold.",
    unit="s",
    thresholds=t.EVALUATION_P95_SECONDS,
    links=[SLOW_TRACES_LINK],
)
budget_now = stat(
    "Error budget remaining",
    [target(q.budget_remaining(SLO))],
    description=f"Share of the {SLO.period} error budget of the {SLO.objective:.0%} {SLO.name} SLO not yet spent "
    f"(the budget is {SLO.budget:.0%} of completed evaluations failing). Below 0 the SLO is missed. All jobs.",
    unit="percentunit",
    steps=[{"color": "red", "value": None}, {"color": "orange", "value": 0}, {"color": "green", "value": 0.5}],
)
flagged_in_range = stat(
    "Flagged cases",
    [target(f"sum(increase({q.selector(m.CASES_FLAGGED, *APP)}[$__range]))", instant=True)],
    description="Cases flagged for clinical review in the selected time range.",
    unit="short",
    decimals=0,
    graph=False,
)
cost_in_range = stat(
    "Estimated cost",
    [target(
        f"(sum(increase({q.selector(m.TOKENS_INPUT, *APP)}[$__range])) * $price_input_per_mtok"
        f" + sum(increase({q.selector(m.TOKENS_OUTPUT, *APP)}[$__range])) * $price_output_per_mtok) / 1000000",
        instant=True,
    )],
    description="Token cost over the selected range at the per-million-token prices set in the dashboard's "
    "price variables. An estimate: it ignores caching discounts and batch pricing.",
    unit="currencyUSD",
    decimals=2,
    graph=False,
)

# --- Throughput and outcomes -----------------------------------------------------------------------
throughput = timeseries(
    "Evaluations per minute by outcome",
    [
        target(PER_MINUTE + q.sum_rate(m.EVALUATIONS, *APP), "started"),
        target(PER_MINUTE + q.outcome_rate(m.EVALUATIONS_SUCCESS, *APP), "succeeded"),
        target(PER_MINUTE + q.outcome_rate(m.EVALUATIONS_FAILED, *APP), "failed"),
    ],
    description="Evaluations started, succeeded and failed per minute. Started above finished for long "
    "means a growing backlog.",
    unit="opm",
    min_value=0,
)
success_rate = timeseries(
    "Success rate",
    [target(q.success_ratio(*APP), "success rate")],
    description="Share of the evaluations started that succeeded; the LowEvaluationSuccessRate alert fires when "
    "it stays in the red band. Below the failure rate's complement, evaluations are being lost.",
    unit="percentunit",
    thresholds=t.SUCCESS_RATE,
    min_value=0,
    max_value=1,
)
failure_rate = timeseries(
    "Failure rate",
    [target(q.failure_ratio(*APP), "failure rate")],
    description="Failed share of completed evaluations; the HighEvaluationFailureRate alert fires when it "
    "stays in the red band.",
    unit="percentunit",
    thresholds=t.FAILURE_RATE,
    min_value=0,
    max_value=1,
    links=[FAILED_TRACES_LINK],
)
failures_by_type = timeseries(
    "Failures by error type",
    [target(PER_MINUTE + q.or_label(q.sum_rate(m.EVALUATIONS_FAILED, *APP, by="error_type"), "error_type",
                                    q.NO_ERROR_TYPE), "{{error_type}}")],
    description="Failed evaluations per minute by error type (the `error.type` span attribute; "
    f"\"{q.NO_ERROR_TYPE}\" when the worker exports none). Click a series for its failed traces.",
    unit="opm",
    stacked=True,
    min_value=0,
    links=[ERROR_TYPE_TRACES_LINK, FAILED_TRACES_LINK],
)
in_flight = timeseries(
    "Evaluations in flight",
    [target(q.in_flight(*APP, by="job"), "{{job}}")],
    description="Evaluations started and not reported either way yet. Steady while work flows; flat above zero "
    "with no completions is the EvaluationsStalled alert (a hung batch).",
    unit="short",
    min_value=0,
)
reported_success_rate = timeseries(
    "Worker-reported success rate",
    [target(f"avg by (job) ({q.selector(m.EVALUATION_SUCCESS_RATE, *APP[:2])})", "{{job}}")],
    description="The success-rate gauge the workers export themselves. It should track the computed success "
    "rate; a gap means the counters or the gauge are wrong.",
    unit="percentunit",
    thresholds=t.SUCCESS_RATE,
    min_value=0,
    max_value=1,
)

# --- Error budget ----------------------------------------------------------------------------------
burn_rate = timeseries(
    "Error budget burn rate",
    [target(f"{q.slo_error_ratio(row.long)} / {SLO.budget:g}",
            f"over {row.long} ({'pages' if row.severity == 'critical' else 'tickets'} above {row.burn_rate:g}x)")
     for row in SLO.windows],
    description=f"How many times faster than the {SLO.objective:.0%} SLO allows the budget is burning, over each "
    "alert's long window (1x spends exactly the budget in the period). The EvaluationErrorBudgetBurn alerts "
    "also need the short window to agree and enough evaluations. All jobs.",
    unit="suffix:x",
    min_value=0,
)
budget_over_time = timeseries(
    "Error budget remaining over time",
    [target(q.budget_remaining(SLO), f"budget left ({SLO.period})")],
    description=f"Share of the {SLO.period} error budget not yet spent. A steady slope down to 0 at the end of the "
    "period is the SLO exactly met.",
    unit="percentunit",
    max_value=1,
)

# --- Processing time -------------------------------------------------------------------------------
latency = timeseries(
    "Processing time P50 / P95 / P99",
    [
        target(q.latency_quantile(0.5, *APP), "P50", exemplar=True),
        target(q.latency_quantile(0.95, *APP), "P95", exemplar=True),
        target(q.latency_quantile(0.99, *APP), "P99", exemplar=True),
    ],
    description="Evaluation duration percentiles from the histogram. Exemplar dots link each slow sample "
    "to its trace in Tempo. The red line is the EvaluationLatencyHigh alert threshold (on P95).",
    unit="s",
    thresholds=t.EVALUATION_P95_SECONDS,
    min_value=0,
)
p95_by_model = timeseries(
    "P95 processing time by model",
    [target(q.per_model(q.latency_quantile(0.95, *APP, by="model")), "{{model}}")],
    description="95th percentile of evaluation time for each LLM model: which model is slow.",
    unit="s",
    thresholds=t.EVALUATION_P95_SECONDS,
    min_value=0,
)
mean_latency_by_model = timeseries(
    "Mean processing time by model",
    [target(
        q.per_model(f"{q.sum_rate(m.EVALUATION_DURATION.sum, *APP, by='model')}"
                    f" / {q.sum_rate(m.EVALUATION_DURATION.count, *APP, by='model')}"),
        "{{model}}",
    )],
    description="Average evaluation duration per LLM model.",
    unit="s",
    min_value=0,
)
slow_share = timeseries(
    f"Evaluations slower than {t.SLOW_EVALUATION}",
    [target(q.share_slower_than(t.SLOW_EVALUATION_SECONDS, *APP), f"slower than {t.SLOW_EVALUATION}")],
    description=f"Share of evaluations that took longer than {t.SLOW_EVALUATION} (a bucket boundary of the "
    "histogram). Click through to the slow evaluations' traces.",
    unit="percentunit",
    min_value=0,
    max_value=1,
    links=[SLOW_TRACES_LINK],
)

# --- Tokens and cost -------------------------------------------------------------------------------
token_rate = timeseries(
    "Token usage",
    [
        target(PER_MINUTE + q.sum_rate(m.TOKENS_INPUT, *APP), "input"),
        target(PER_MINUTE + q.sum_rate(m.TOKENS_OUTPUT, *APP), "output"),
        target(PER_MINUTE + q.sum_rate(m.TOKENS, *APP), "total"),
    ],
    description="LLM tokens per minute: prompt (input), completion (output) and their total.",
    unit="short",
    min_value=0,
)
tokens_per_evaluation = timeseries(
    "Tokens per evaluation",
    [
        target(f"{q.sum_rate(m.TOKENS_INPUT, *APP)} / ({q.completed_rate(*APP)})", "input"),
        target(f"{q.sum_rate(m.TOKENS_OUTPUT, *APP)} / ({q.completed_rate(*APP)})", "output"),
    ],
    description="Tokens per completed evaluation: a longer prompt or a chattier model shows here before it shows "
    "on the bill.",
    unit="short",
    stacked=True,
    min_value=0,
)
tokens_by_model = timeseries(
    "Tokens by model",
    [target(PER_MINUTE + q.per_model(q.sum_rate(m.TOKENS, *APP, by="model")), "{{model}}")],
    description="Total tokens per minute for each LLM model.",
    unit="short",
    stacked=True,
    min_value=0,
)
cost_rate = timeseries(
    "Estimated cost per hour",
    [target(f"3600 * {COST_PER_SECOND}", "USD per hour")],
    description="Token spend per hour at the per-million-token prices set in the dashboard's price "
    "variables (input and output priced separately).",
    unit="currencyUSD",
    min_value=0,
)

# --- Flagged cases ---------------------------------------------------------------------------------
flagged = timeseries(
    "Flagged cases per hour",
    [target(f"3600 * {q.per_model(q.sum_rate(m.CASES_FLAGGED, *APP, by='model'))}", "{{model}}")],
    description="Cases flagged for clinical review per hour, by model.",
    unit="short",
    min_value=0,
)
flag_ratio = timeseries(
    "Flagged share of completed evaluations",
    [target(f"{q.sum_rate(m.CASES_FLAGGED, *APP)} / ({q.completed_rate(*APP)})", "flagged share")],
    description="Share of completed evaluations that flagged the case. A sudden change usually means a "
    "model or prompt change, not a change in the cases.",
    unit="percentunit",
    min_value=0,
    max_value=1,
)

# --- From a metric to its trace --------------------------------------------------------------------
failed_traces = tempo_traces(
    "Failed evaluations (traces)",
    q.failed_evaluation_spans(),
    description=f"The latest traces with a failed {q.EVALUATION_SPAN} span (TraceQL "
    f"`{q.failed_evaluation_spans()}`). Click a trace id to open the waterfall, with the span's error.type and "
    "error.message.",
)
slow_traces = tempo_traces(
    "Slow evaluations (traces)",
    q.slow_evaluation_spans(),
    description=f"The latest traces whose {q.EVALUATION_SPAN} span took longer than {t.SLOW_EVALUATION} (TraceQL "
    f"`{q.slow_evaluation_spans()}`). Look for the llm_invoke span to see whether the model or the parsing is slow.",
)

dashboard = platform_dashboard(
    grafana.EVALUATION_ANALYTICS,
    description="Evaluation volume, outcomes, error budget, processing time, token usage and cost, with links to "
    "traces.",
    tags=["evaluations"],
    links_to=[grafana.SYSTEM_OVERVIEW],
    variables=[
        label_values("job", "job", q.selector(m.EVALUATIONS, q.APP), label_text="Service"),
        label_values("model", "model", q.selector(m.EVALUATIONS, q.APP, 'job=~"$job"'), label_text="Model"),
        textbox(
            "price_input_per_mtok",
            label_text="Input price (USD / 1M tokens)",
            default="3",
            description="Price of one million prompt tokens, used by the cost panels.",
        ),
        textbox(
            "price_output_per_mtok",
            label_text="Output price (USD / 1M tokens)",
            default="15",
            description="Price of one million completion tokens, used by the cost panels.",
        ),
    ],
    sections=[
        section(
            "Overview",
            [(evaluations_in_range, 3), (throughput_now, 3), (success_rate_now, 3), (failure_rate_now, 3),
             (p95_now, 3), (budget_now, 3), (flagged_in_range, 3), (cost_in_range, 3)],
            height=4,
        ),
        section("Throughput and outcomes", [(throughput, 8), (success_rate, 8), (failure_rate, 8),
                                            (failures_by_type, 8), (in_flight, 8), (reported_success_rate, 8)]),
        section("Error budget", [(burn_rate, 12), (budget_over_time, 12)]),
        section("Processing time", [(latency, 12), (p95_by_model, 12), (mean_latency_by_model, 12),
                                    (slow_share, 12)]),
        section("Tokens and cost", [(token_rate, 6), (tokens_per_evaluation, 6), (tokens_by_model, 6),
                                    (cost_rate, 6)]),
        section("Flagged cases", [(flagged, 12), (flag_ratio, 12)]),
        section("Traces", [(failed_traces, 12), (slow_traces, 12)], height=10),
    ],
)
