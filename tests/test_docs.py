"""The documentation covers the public API and the README Quickstart is runnable."""

import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "doc"))
make_api = importlib.import_module("make_api")


def test_api_reference_is_current():
    assert (ROOT / "doc" / "api.md").read_text() == make_api.render(), (
        "doc/api.md is stale: run `python doc/make_api.py`"
    )


@pytest.mark.parametrize("module_name", make_api.MODULES)
def test_every_public_callable_has_a_numpydoc_docstring(module_name):
    module = importlib.import_module(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        if not callable(obj):
            continue
        doc = obj.__doc__ or ""
        assert doc.strip(), f"{module_name}.{name} has no docstring"
        assert re.search(r"(Parameters|Returns|Attributes)\n\s*-{3,}", doc), (
            f"{module_name}.{name} docstring has no numpydoc sections"
        )


def test_readme_quickstart_has_two_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- quickstart-begin -->")[1].split("<!-- quickstart-end -->")[0]
    commands = [line.strip() for line in block.splitlines() if line.startswith("    ")]
    assert len(commands) == 2
    assert "python -m sklearn_scrubvae" in commands[0]
    assert commands[1] == "python -m pytest"
