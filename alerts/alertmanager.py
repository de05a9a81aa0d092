"""Where alerts go: critical pages the on-call engineer (email and Slack), warning goes to the team's channel, and
the Watchdog's heartbeat (severity none) goes to a dead-man's-switch service, which pages when it stops.

No secret lives here or in the compiled file. Alertmanager reads them from files mounted into its container at
deploy time (docker-compose.yml mounts $ALERTMANAGER_SECRETS_DIR) at SECRETS:
    smtp_password      the password of SMTP_USER on SMTP_HOST
    slack_webhook_url  the URL of a Slack incoming webhook
    deadman_token      the bearer token of the dead-man's-switch check at DEADMAN_URL
The addresses and channels below are the platform's; they are not secret.

Inhibition only where one alert repeats another: each rule names the two alerts, and why the target says nothing
the source does not.
"""

from catalog.thresholds import SEVERITIES
from obs.author.alertmanager import Alertmanager, Email, Global, InhibitRule, Receiver, Route, Slack, Webhook
from obs.author.stack import ALERTMANAGER_SECRETS_PATH as SECRETS

SMTP_HOST = "smtp.example.org:587"
SMTP_USER = "alertmanager@example.org"
ONCALL_EMAIL = "evaluation-oncall@example.org"
ONCALL_CHANNEL = "#evaluation-oncall"
TEAM_CHANNEL = "#evaluation-alerts"
# A dead-man's-switch check (healthchecks-style): it expects a request at least every few minutes and pages the
# on-call, outside this stack, when they stop.
DEADMAN_URL = "https://deadman.example.org/ping/obs-alerting"

ONCALL = "oncall"
TEAM = "team"
DEADMAN = "deadman"
RECEIVER_FOR = {"critical": ONCALL, "warning": TEAM, "none": DEADMAN}
assert set(SEVERITIES) == set(RECEIVER_FOR), "every severity needs a route below"


def alertname(*names: str) -> tuple[str, ...]:
    return (f'alertname="{names[0]}"',) if len(names) == 1 else (f'alertname=~"{"|".join(names)}"',)


alertmanager = Alertmanager(
    global_=Global(
        resolve_timeout="5m",
        smtp_smarthost=SMTP_HOST,
        smtp_from=SMTP_USER,
        smtp_auth_username=SMTP_USER,
        smtp_auth_password_file=f"{SECRETS}/smtp_password",
        slack_api_url_file=f"{SECRETS}/slack_webhook_url",
    ),
    route=Route(
        # An alert without a known severity still reaches someone: the team channel.
        receiver=TEAM,
        # One notification per alert and service; host alerts of several instances arrive together.
        group_by=("alertname", "job"),
        group_wait="30s",  # let alerts that fire together arrive in one notification
        group_interval="5m",  # a new alert in a group that has already notified waits at most this long
        repeat_interval="4h",
        routes=(
            # The heartbeat: at once, and again every 5 minutes (the dead-man check's period must be longer).
            Route(matchers=('severity="none"',), receiver=RECEIVER_FOR["none"], group_wait="0s",
                  group_interval="1m", repeat_interval="5m"),
            # Someone must act now: short wait, reminded every hour until resolved.
            Route(matchers=('severity="critical"',), receiver=RECEIVER_FOR["critical"], group_wait="10s",
                  repeat_interval="1h"),
            # Look at it today: reminded twice a day.
            Route(matchers=('severity="warning"',), receiver=RECEIVER_FOR["warning"], repeat_interval="12h"),
        ),
    ),
    inhibit_rules=(
        # Failed / completed above 20% means succeeded / started below 80% (the completed are at most the started):
        # the warning repeats the critical for the same job.
        InhibitRule(source_matchers=alertname("HighEvaluationFailureRate"),
                    target_matchers=alertname("LowEvaluationSuccessRate"), equal=("job",)),
        # Nothing completing means nothing succeeding: the same for a stalled job.
        InhibitRule(source_matchers=alertname("EvaluationsStalled"),
                    target_matchers=alertname("LowEvaluationSuccessRate"), equal=("job",)),
        # A budget burning fast is also burning over three days: the ticket repeats the page.
        InhibitRule(source_matchers=alertname("EvaluationErrorBudgetBurnFast"),
                    target_matchers=alertname("EvaluationErrorBudgetBurnSlow"), equal=("slo",)),
    ),
    receivers=(
        Receiver(ONCALL, email=(Email(to=ONCALL_EMAIL),), slack=(Slack(channel=ONCALL_CHANNEL),)),
        Receiver(TEAM, slack=(Slack(channel=TEAM_CHANNEL),)),
        Receiver(DEADMAN, webhook=(Webhook(DEADMAN_URL, bearer_token_file=f"{SECRETS}/deadman_token",
                                           max_alerts=1),)),
    ),
)
