#!/usr/bin/env bash
# Run a command with the pinned Prometheus, Alertmanager and OpenTelemetry Collector first on PATH.
#
#   bash scripts/with-tools.sh COMMAND...
#
# With Go: scripts/build_tools.py builds what its cache lacks (the first time ~10 minutes and ~3 GB of Go
# modules) or reuses it (well under a second), and the command runs with those folders first on PATH.
# Without Go: says once which checks will not run on the pinned releases, and runs the command on what PATH has
# (Debian's Prometheus and Alertmanager); `obs validate` then only notes that the Collector did not check its
# config (OBS_MISSING_TOOLS=note). With OBS_REQUIRE_TOOLS=1 (CI) no Go is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
if command -v go >/dev/null 2>&1; then
  fragment="$("$python" scripts/build_tools.py --print-path)"
  export PATH="$fragment:$PATH"
elif [ "${OBS_REQUIRE_TOOLS:-}" = 1 ]; then
  echo "with-tools: \`go\` is not on PATH, and OBS_REQUIRE_TOOLS=1 asks for the pinned builds: install Go 1.26+" >&2
  exit 2
else
  cat >&2 <<'NOTE'
note: Go is not installed, so the pinned Prometheus, Alertmanager and Collector are not built (scripts/build_tools.py).
      Not run on them: `otelcol validate` in obs validate, tests/check/test_collector.py, tests/e2e/test_traces.py
      and the Collector of the local stack (the demo exporter stands in); promtool, amtool and the e2e stacks run
      Debian's older Prometheus and Alertmanager instead. CI builds them and runs everything.
NOTE
  export OBS_MISSING_TOOLS=note
fi
exec "$@"
