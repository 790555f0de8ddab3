"""The API reference lists every public name, and the README Quickstart stays runnable by CI."""

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = [
    "sklearn_scrubvae",
    "sklearn_scrubvae.pose",
    "sklearn_scrubvae.io",
    "sklearn_scrubvae.datasets",
    "sklearn_scrubvae.metrics",
    "sklearn_scrubvae.scrubbers",
    "sklearn_scrubvae.nn",
    "sklearn_scrubvae.plotting",
]


def documented_names():
    """``module.name`` of every entry of the autosummary tables of doc/api.rst."""
    names, module = set(), None
    for line in (ROOT / "doc" / "api.rst").read_text().splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = match.group(1)
        elif re.match(r"   [A-Za-z]\w*$", line):
            names.add(f"{module}.{line.strip()}")
    return names


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_api_reference_lists_every_public_callable(module_name):
    if module_name.endswith("plotting"):
        pytest.importorskip("matplotlib")
    module = importlib.import_module(module_name)
    public = {f"{module_name}.{name}" for name in module.__all__
              if callable(getattr(module, name))}
    missing = public - documented_names()
    assert not missing, f"add to doc/api.rst: {sorted(missing)}"


def test_readme_quickstart_has_two_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- quickstart-begin -->")[1].split("<!-- quickstart-end -->")[0]
    commands = [line.strip() for line in block.splitlines() if line.startswith("    ")]
    assert len(commands) == 2
    assert "python -m sklearn_scrubvae" in commands[0]
    assert commands[1] == "python -m pytest"
