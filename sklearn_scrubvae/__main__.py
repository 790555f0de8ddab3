"""``python -m sklearn_scrubvae``: run the demo."""

from ._demo import run_demo

run_demo()
