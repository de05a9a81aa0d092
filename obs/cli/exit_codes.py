"""Every exit code obs uses, in one place (README "Commands" and "Deploying to Grafana")."""

OK = 0
# Something failed: problems found, a push that failed, a panel without data; for `obs diff`, changes found.
FAILED = 1
# Usage: a bad option, no project where the command runs; for `obs diff`, any error.
USAGE = 2
# `obs push`: the content does not build or validate, so nothing was sent.
INVALID = 3
# `obs push`: Grafana cannot be used (unreachable, TLS, not a Grafana, credentials rejected): nothing sent.
UNAVAILABLE = 4

DIFF_SAME, DIFF_CHANGED, DIFF_ERROR = OK, FAILED, USAGE
