"""`obs check-metrics URL...`: scrape running services and hold their /metrics against the metrics contract.

The I/O around obs.check.exposition: fetch each page (asking for the classic text format, as `curl` would get it),
find the job it is (given as JOB=URL, or inferred from the families it exports), and report.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from obs.check import exposition
from obs.check.exposition import MetricProblem


class ScrapeError(Exception):
    pass


@dataclass
class TargetCheck:
    url: str
    job: str | None
    problems: list[MetricProblem] = field(default_factory=list)
    checked: int = 0  # contract metrics the job must export
    error: str = ""  # the page could not be fetched or parsed

    @property
    def failed(self) -> bool:
        return bool(self.error) or any(p.severity == "error" for p in self.problems)


def metrics_url(url: str) -> str:
    """A bare host:port or a URL without a path means its /metrics."""
    if "://" not in url:
        url = f"http://{url}"
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/metrics")) if parts.path in ("", "/") else url


def split_argument(argument: str) -> tuple[str | None, str]:
    """`celery-worker=http://host:8006/metrics` -> (job, url); a plain URL -> (None, url)."""
    job, sep, rest = argument.partition("=")
    if sep and "://" not in job and "/" not in job and rest:
        return job, rest
    return None, argument


def scrape(url: str, timeout: float = 10.0) -> tuple[str, str]:
    """The page's text and content type."""
    request = urllib.request.Request(url, headers={"Accept": exposition.ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read().decode("utf-8", errors="replace"), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        raise ScrapeError(f"GET {url} answered {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        raise ScrapeError(f"cannot reach {url}: {getattr(error, 'reason', error)}") from None


def check_target(url: str, job: str | None = None, timeout: float = 10.0) -> TargetCheck:
    from catalog import metrics, thresholds

    result = TargetCheck(url, job)
    try:
        text, content_type = scrape(url, timeout)
        families = exposition.parse(text, content_type)
    except (ScrapeError, exposition.ExpositionError) as error:
        result.error = str(error)
        return result
    contract = metrics.all_metrics()
    if job is None:
        job = exposition.infer_job(families, contract)
        result.job = job
        if job is None:
            result.error = ("cannot tell which job this is (it exports none of the contract's metrics, or as many "
                            "of two jobs'): name it, JOB=URL")
            return result
    elif job not in {j.name for metric in contract for j in metric.exported_by}:
        from catalog import jobs

        known = sorted(j.name for j in jobs.SCRAPE_JOBS)
        if job not in known:
            result.error = f"unknown job {job!r} (catalog/jobs.py: {', '.join(known)})"
            return result
    result.checked = len(metrics.exported_by(job))
    result.problems = exposition.check(families, job, contract, exposition.levels_of(thresholds.histogram_levels()))
    return result
