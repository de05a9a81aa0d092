"""Content is not installed: two checkouts that share one virtualenv each build their own content.

Each checkout is a full copy of the project; the second one raises a threshold in its catalog. `obs build`,
run as a user would (the virtualenv's `obs`, from inside the checkout, no --root), must compile each
checkout's own catalog into that checkout, and nothing of one must leak into the other."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from helpers import copy_project, edit

OBS = Path(sys.executable).with_name("obs")


def obs_build(checkout: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(OBS), "build"], cwd=checkout / "dashboards", env=env, capture_output=True,
                          text=True, timeout=120)


def success_threshold(checkout: Path) -> float:
    rules = yaml.safe_load((checkout / "monitoring/prometheus/rules/evaluations.yml").read_text())
    [rule] = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "LowEvaluationSuccessRate"]
    return float(re.search(r"< ([0-9.]+)", rule["expr"]).group(1))


def test_two_checkouts_one_virtualenv_each_build_their_own_catalog(tmp_path):
    first = copy_project(tmp_path / "first")
    second = copy_project(tmp_path / "second")
    edit(second, "catalog/thresholds.py", "SUCCESS_RATE = Threshold(value=0.80", "SUCCESS_RATE = Threshold(value=0.85")
    built_second = obs_build(second)
    built_first = obs_build(first)
    assert built_second.returncode == 0, built_second.stderr
    assert built_first.returncode == 0, built_first.stderr
    assert "updated monitoring/prometheus/rules/evaluations.yml" in built_second.stdout
    assert built_first.stdout.strip().endswith("0 changed"), built_first.stdout  # the first is as committed
    assert success_threshold(second) == 0.85
    assert success_threshold(first) == 0.80
    # The dashboards of each follow their own catalog too: the amber/red step of the success-rate panel.
    second_dashboard = (second / "monitoring/grafana/dashboards/obs-evaluation-analytics.json").read_text()
    first_dashboard = (first / "monitoring/grafana/dashboards/obs-evaluation-analytics.json").read_text()
    assert '"value": 0.85' in second_dashboard and '"value": 0.85' not in first_dashboard


def remove(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    folder.rmdir()


def test_content_never_comes_from_elsewhere_on_the_path(tmp_path):
    """Decoy `catalog` and `stack` packages on PYTHONPATH, as an old installed copy would be: a checkout without
    stack/ builds no stack, and one without catalog/ fails naming it; neither imports a decoy."""
    decoy = tmp_path / "decoy"
    marker = tmp_path / "decoy-imported"
    for package in ("catalog", "stack"):
        (decoy / package).mkdir(parents=True)
        (decoy / package / "__init__.py").write_text(f"open({str(marker)!r}, 'a').write({package!r})\n")
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PYTHONPATH": str(decoy)}

    def build_check(checkout: Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(OBS), "build", "--check"], cwd=checkout, env=env, capture_output=True,
                              text=True, timeout=120)

    no_stack = copy_project(tmp_path / "nostack")
    remove(no_stack / "stack")
    built = build_check(no_stack)
    # Everything but the stack's files is as committed; the stack's are no longer produced, and --check
    # speaks only for the folders the build owns (docker-compose.yml and the stack configs are left alone).
    assert built.returncode == 0, built.stderr
    assert built.stdout.strip() == "13 files up to date"

    no_catalog = copy_project(tmp_path / "nocatalog")
    remove(no_catalog / "catalog")
    failed = build_check(no_catalog)
    assert failed.returncode == 1
    assert "error: catalog/: package: " in failed.stderr and "has no catalog package" in failed.stderr, failed.stderr

    # Content asking for a package its project lacks gets a one-line error, not the decoy.
    module = no_stack / "dashboards" / "system_overview.py"
    module.write_text(module.read_text() + "\nimport stack  # noqa: E402, F401\n")
    borrowed = build_check(no_stack)
    assert borrowed.returncode == 1
    assert "dashboards/system_overview.py: module: failed to import: ModuleNotFoundError: No module named 'stack' " \
           "in the project" in borrowed.stderr, borrowed.stderr
    assert not marker.exists(), f"imported a decoy: {marker.read_text()}"
