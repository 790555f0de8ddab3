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


@pytest.mark.parametrize("module_name", make_api.MODULES)
def test_api_reference_lists_public_methods_with_docstrings(module_name):
    module = importlib.import_module(module_name)
    reference = make_api.render()
    for name in module.__all__:
        cls = getattr(module, name)
        if not isinstance(cls, type):
            continue
        for entry in make_api._method_entries(module_name, name, cls):
            title = entry.split("`")[1]
            assert title in reference
            assert "```text\n\n```" not in entry, f"{title} has no docstring"


def test_api_reference_names_estimator_methods():
    reference = make_api.render()
    for title in ["ScrubbedCVAE.fit", "ScrubbedCVAE.transform", "ScrubbedCVAE.decode_windows",
                  "Skeleton.from_edges"]:
        assert f"### `sklearn_scrubvae.{title}`" in reference or f".{title}`" in reference


def test_readme_quickstart_has_two_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- quickstart-begin -->")[1].split("<!-- quickstart-end -->")[0]
    commands = [line.strip() for line in block.splitlines() if line.startswith("    ")]
    assert len(commands) == 2
    assert "python -m sklearn_scrubvae" in commands[0]
    assert commands[1] == "python -m pytest"


# ``python`` blocks of the documentation run in order, one namespace per
# file, with training sizes shrunk so the whole set takes seconds.
SMALL_SIZES = [
    (r"\bmax_iter=\d+", "max_iter=1"),
    (r"\bn_frames=\d+", "n_frames=300"),
    (r"\bwindow=\d+", "window=9"),
    (r"\bn_components=\d+", "n_components=4"),
    (r"\bhidden_channels=\([\d, ]+\)", "hidden_channels=(8, 16)"),
    (r"\bbatch_size=\d+", "batch_size=64"),
]
DOC_FILES = [ROOT / "README.md"] + sorted(
    path for path in (ROOT / "doc").glob("*.md") if path.name != "api.md"
)


def python_blocks(text):
    """Source of every fenced ``python`` block of a markdown text."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def shrink(source):
    """``source`` with training sizes replaced by small ones."""
    for pattern, replacement in SMALL_SIZES:
        source = re.sub(pattern, replacement, source)
    return source


def test_python_blocks_are_found_and_shrunk():
    text = "intro\n```python\nest = Est(max_iter=400, window=51)\n```\n```text\nno\n```\n"
    (block,) = python_blocks(text)
    assert shrink(block) == "est = Est(max_iter=1, window=9)\n"


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda path: path.name)
def test_documentation_code_blocks_run(path, tmp_path, monkeypatch):
    blocks = python_blocks(path.read_text())
    if not blocks:
        pytest.skip(f"{path.name} has no python blocks")
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"doc_{path.stem}"}
    for number, block in enumerate(blocks, start=1):
        code = compile(shrink(block), f"{path.name}[block {number}]", "exec")
        exec(code, namespace)
