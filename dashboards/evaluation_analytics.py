"""Medical Evaluation Analytics: how many evaluations, how well, how fast, at what token cost, and the
way from a slow or failed evaluation to its trace in Tempo."""


from catalog import grafana
from catalog import metrics as m
from catalog import promql as q
from catalog import thresholds as t
from obs.author.dashboard import platform_dashboard
from obs.author.layout import section
from obs.author.panels import stat, target, timeseries
from obs.author.traces import tempo_traces
from obs.author.variables import label_values, textbox

APP = ('job=~"$job"', 'model=~"$model"')
PER_MINUTE = "60 * "
# Token prices are USD per million tokens; the defaults are placeholders a user overrides on the dashboard.
COST_PER_SECOND = (
    f"({q.sum_rate(m.TOKENS_INPUT, *APP)} * $price_input_per_mtok"
    f" + {q.sum_rate(m.TOKENS_OUTPUT, *APP)} * $price_output_per_mtok) / 1000000"
)
TRACES_LINK = {
    "title": "Failed evaluations in Tempo",
    "url": "/explore?left=" + '{"datasource":"' + grafana.TEMPO.uid + '","queries":[{"refId":"A","queryType":'
    '"traceql","query":"{status=error}"}],"range":{"from":"${__from}","to":"${__to}"}}',
    "targetBlank": True,
}

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
    "Success rate",
    [target(q.success_ratio(*APP))],
    description="Successful share of completed evaluations. Red below the LowEvaluationSuccessRate alert "
    "threshold, amber in the early-warning band.",
    unit="percentunit",
    thresholds=t.SUCCESS_RATE,
    links=[TRACES_LINK],
)
failure_rate_now = stat(
    "Failure rate",
    [target(q.failure_ratio(*APP))],
    description="Failed share of completed evaluations. Red above the HighEvaluationFailureRate alert "
    "threshold. Click through to the failed evaluations' traces.",
    unit="percentunit",
    thresholds=t.FAILURE_RATE,
    links=[TRACES_LINK],
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
        target(PER_MINUTE + q.sum_rate(m.EVALUATIONS_SUCCESS, *APP), "succeeded"),
        target(PER_MINUTE + q.sum_rate(m.EVALUATIONS_FAILED, *APP), "failed"),
    ],
    description="Evaluations started, succeeded and failed per minute. Started above finished for long "
    "means a growing backlog.",
    unit="opm",
    min_value=0,
)
success_rate = timeseries(
    "Success rate",
    [target(q.success_ratio(*APP), "success rate")],
    description="Successful share of completed evaluations; the LowEvaluationSuccessRate alert fires when "
    "it stays in the red band.",
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
    links=[TRACES_LINK],
)
failures_by_type = timeseries(
    "Failures by error type",
    [target(PER_MINUTE + q.sum_rate(m.EVALUATIONS_FAILED, *APP, by="error_type"), "{{error_type}}")],
    description="Failed evaluations per minute by error type (the `error.type` span attribute).",
    unit="opm",
    stacked=True,
    min_value=0,
    links=[TRACES_LINK],
)
reported_success_rate = timeseries(
    "Worker-reported success rate",
    [target(f"avg by (job) ({q.selector(m.EVALUATION_SUCCESS_RATE, APP[0])})", "{{job}}")],
    description="The success-rate gauge the workers export themselves. It should track the computed success "
    "rate; a gap means the counters or the gauge are wrong.",
    unit="percentunit",
    thresholds=t.SUCCESS_RATE,
    min_value=0,
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
mean_latency_by_model = timeseries(
    "Mean processing time by model",
    [target(
        f"{q.sum_rate(m.EVALUATION_DURATION.sum, *APP, by='model')}"
        f" / {q.sum_rate(m.EVALUATION_DURATION.count, *APP, by='model')}",
        "{{model}}",
    )],
    description="Average evaluation duration per LLM model: which model is slow.",
    unit="s",
    min_value=0,
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
tokens_by_model = timeseries(
    "Tokens by model",
    [target(PER_MINUTE + q.sum_rate(m.TOKENS, *APP, by="model"), "{{model}}")],
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
    [target(f"3600 * {q.sum_rate(m.CASES_FLAGGED, *APP, by='model')}", "{{model}}")],
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
    "{status=error}",
    description="The latest traces with an error span (TraceQL `{status=error}`). Click a trace id to "
    "open the waterfall, with the span's error.type and error.message.",
)
slow_traces = tempo_traces(
    "Slow evaluations (traces)",
    f"{{duration>{t.SLOW_EVALUATION}}}",
    description=f"The latest traces slower than {t.SLOW_EVALUATION} (TraceQL `{{duration>{t.SLOW_EVALUATION}}}`). "
    "Look for the llm_invoke span to see whether the model or the parsing is slow.",
)

dashboard = platform_dashboard(
    grafana.EVALUATION_ANALYTICS,
    description="Evaluation volume, outcomes, processing time, token usage and cost, with links to traces.",
    tags=["evaluations"],
    links_to=[grafana.SYSTEM_OVERVIEW],
    variables=[
        label_values("job", "job", m.EVALUATIONS, label_text="Service"),
        label_values("model", "model", m.EVALUATIONS, label_text="Model"),
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
            [(evaluations_in_range, 4), (throughput_now, 4), (success_rate_now, 4), (failure_rate_now, 4),
             (flagged_in_range, 4), (cost_in_range, 4)],
            height=4,
        ),
        section("Throughput and outcomes", [(throughput, 8), (success_rate, 8), (failure_rate, 8),
                                            (failures_by_type, 12), (reported_success_rate, 12)]),
        section("Processing time", [(latency, 12), (mean_latency_by_model, 12)]),
        section("Tokens and cost", [(token_rate, 8), (tokens_by_model, 8), (cost_rate, 8)]),
        section("Flagged cases", [(flagged, 12), (flag_ratio, 12)]),
        section("Traces", [(failed_traces, 12), (slow_traces, 12)], height=10),
    ],
)
