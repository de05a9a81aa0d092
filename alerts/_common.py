"""What the alert modules share: where their runbooks are published, and the template snippets their
summaries and descriptions are written with (Prometheus expands them when the alert fires)."""

# alerts/README.md, one `### <AlertName>` section per alert, as the Git server shows it. The repository has no
# public home yet: this is the one line to change when it gets one.
RUNBOOKS = "https://git.example.org/platform/obs/-/blob/main/alerts/README.md"

VALUE = "{{ $value | humanize }}"
PERCENT = "{{ $value | humanizePercentage }}"
DURATION = "{{ $value | humanizeDuration }}"
COUNT = '{{ $value | printf "%.0f" }}'
JOB = "{{ $labels.job }}"
INSTANCE = "{{ $labels.instance }}"
MOUNTPOINT = "{{ $labels.mountpoint }}"
