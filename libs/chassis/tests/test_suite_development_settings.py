"""A development seed may bring the settings its data needs (chassis.suite): given in development only, and never
over what the environment already says."""
from __future__ import annotations

import os
import sys

import pytest

from chassis.suite import load_seed


@pytest.fixture
def seeded_suite(tmp_path, monkeypatch):
    (tmp_path / "demo_seed_for_tests.py").write_text(
        "DEVELOPMENT_SETTINGS = {'JX_TEST_PANELS': '{\"technical\": [\"E1\"]}', 'JX_TEST_OTHER': 'seed'}\n"
        "def seed(caller):\n    return caller\n")
    (tmp_path / "suite.yaml").write_text("services: []\nseed: demo_seed_for_tests:seed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("JX_TEST_PANELS", raising=False)
    monkeypatch.delenv("JX_TEST_OTHER", raising=False)
    yield tmp_path / "suite.yaml"
    sys.modules.pop("demo_seed_for_tests", None)


def test_development_gets_the_seeds_settings_without_overriding_the_environment(seeded_suite, monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("JX_TEST_OTHER", "operator")
    seed = load_seed(seeded_suite)
    assert seed is not None and seed("caller") == "caller"
    assert os.environ["JX_TEST_PANELS"] == '{"technical": ["E1"]}'
    assert os.environ["JX_TEST_OTHER"] == "operator"


@pytest.mark.parametrize("environment", ["production", "test"])
def test_outside_development_neither_the_seed_nor_its_settings(seeded_suite, monkeypatch, environment):
    monkeypatch.setenv("ENVIRONMENT", environment)
    assert load_seed(seeded_suite) is None
    assert "JX_TEST_PANELS" not in os.environ
