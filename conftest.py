"""Doctest set-up: optional extras, a scratch directory and the long README example."""

import importlib.util
import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# Docstring examples of modules whose optional extra is not installed.
collect_ignore = ["setup.py", "doc/conf.py"]
collect_ignore_glob = ["examples/*", "benchmarks/*", "doc/_build/*", "doc/auto_examples/*"]
if importlib.util.find_spec("matplotlib") is None:
    collect_ignore.append("sklearn_scrubvae/plotting")


def pytest_collection_modifyitems(items):
    # README.md trains a laptop-sized model for about two minutes.
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.path.name == "README.md":
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _doctest_in_tmp_path(request, tmp_path, monkeypatch):
    """Files written by documentation examples land in a scratch directory."""
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.chdir(tmp_path)
