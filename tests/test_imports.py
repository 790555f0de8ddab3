"""Importing the numpy subpackages does not import the network's libraries."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("name", ["pose", "io", "metrics", "datasets"])
def test_numpy_subpackages_import_without_torch(name):
    code = (
        f"import sys, sklearn_scrubvae.{name}; "
        "print(sorted(m for m in ('torch', 'skorch') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_estimators_are_imported_on_first_use():
    code = (
        "import sys, sklearn_scrubvae as s; before = 'torch' in sys.modules; "
        "s.ScrubbedCVAE; print(before, 'torch' in sys.modules, sorted(s.__all__) == "
        "sorted(n for n in s.__all__ if hasattr(s, n)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True"]
