"""Where alerts go: critical pages the on-call engineer (email and Slack), warning goes to the team's channel.

No secret lives here or in the compiled file. Alertmanager reads the SMTP password and the Slack webhook URL from
files mounted into its container at deploy time (docker-compose.yml mounts $ALERTMANAGER_SECRETS_DIR) at SECRETS:
    smtp_password      the password of SMTP_USER on SMTP_HOST
    slack_webhook_url  the URL of a Slack incoming webhook
The addresses and channels below are the platform's; they are not secret.
"""

from catalog.thresholds import SEVERITIES
from obs.author.alertmanager import Alertmanager, Email, Global, InhibitRule, Receiver, Route, Slack
from obs.author.stack import ALERTMANAGER_SECRETS_PATH as SECRETS

SMTP_HOST = "smtp.example.org:587"
SMTP_USER = "alertmanager@example.org"
ONCALL_EMAIL = "evaluation-oncall@example.org"
ONCALL_CHANNEL = "#evaluation-oncall"
TEAM_CHANNEL = "#evaluation-alerts"

ONCALL = "oncall"
TEAM = "team"
assert set(SEVERITIES) == {"critical", "warning"}, "every severity needs a route below"

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
            # Someone must act now: short wait, reminded every hour until resolved.
            Route(matchers=('severity="critical"',), receiver=ONCALL, group_wait="10s", repeat_interval="1h"),
            # Look at it today: reminded twice a day.
            Route(matchers=('severity="warning"',), receiver=TEAM, repeat_interval="12h"),
        ),
    ),
    inhibit_rules=(
        # A critical alert silences the warnings about the same thing: HighEvaluationFailureRate (critical)
        # and LowEvaluationSuccessRate (warning) fire together for one job, and only the first is news.
        InhibitRule(
            source_matchers=('severity="critical"',),
            target_matchers=('severity="warning"',),
            equal=("component", "job", "instance"),
        ),
    ),
    receivers=(
        Receiver(ONCALL, email=(Email(to=ONCALL_EMAIL),), slack=(Slack(channel=ONCALL_CHANNEL),)),
        Receiver(TEAM, slack=(Slack(channel=TEAM_CHANNEL),)),
    ),
)
