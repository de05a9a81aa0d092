#!/usr/bin/env bash
# Run a command with the pinned Prometheus, Alertmanager and OpenTelemetry Collector first on PATH.
#
#   bash scripts/with-tools.sh COMMAND...
#
# With Go: scripts/build_tools.py builds what its cache lacks (the first time ~10 minutes and ~3 GB of Go
# modules) or reuses it (well under a second), and the command runs with those folders first on PATH.
# Without Go: says so in one line and runs the command on what PATH has (Debian's Prometheus and Alertmanager);
# `obs validate` then only notes that the Collector did not check its config (OBS_MISSING_TOOLS=note), the tests
# that need the Collector skip, and pytest's summary lists, once, what did not run on the pinned releases.
# With OBS_REQUIRE_TOOLS=1 (.ci/run) no Go is an error.
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
  echo "note: Go is not installed: the pinned Prometheus, Alertmanager and Collector are not built, so Debian's" \
       "older Prometheus and Alertmanager run instead and the Collector's checks do not run (pytest's summary" \
       "lists them; CI builds the pinned ones and runs everything)" >&2
  export OBS_MISSING_TOOLS=note
fi
exec "$@"
