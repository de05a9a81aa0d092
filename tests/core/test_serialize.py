"""Compiled YAML is the same text whichever YAML emitter a machine has: libyaml's (fast) or PyYAML's own."""

from __future__ import annotations

import pytest
import yaml

from obs.compile.pipeline import build
from obs.core.serialize import load_yaml, yaml_text

from helpers import REPO


@pytest.fixture(scope="module")
def yaml_artifacts():
    return [a for a in build(REPO) if a.path.endswith((".yml", ".yaml"))]


def test_libyaml_is_there():
    assert yaml.__with_libyaml__, "PyYAML without libyaml: builds are correct but slower"


def test_both_emitters_write_the_same_text(yaml_artifacts):
    for artifact in yaml_artifacts:
        document = yaml.safe_load(artifact.text)
        pure = yaml.dump(document, Dumper=yaml.SafeDumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=120)
        header, _, body = artifact.text.partition("\n")
        assert body == pure, artifact.path
        assert yaml_text(document, "x").partition("\n")[2] == body


def test_both_parsers_read_the_same_document(yaml_artifacts):
    for artifact in yaml_artifacts:
        assert load_yaml(artifact.text) == yaml.safe_load(artifact.text), artifact.path
