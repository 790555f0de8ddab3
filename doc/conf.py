"""Sphinx configuration of the sklearn_scrubvae documentation.

Build with ``sphinx-build -W --keep-going -b html doc doc/_build/html``.
Cross-links to scikit-learn, numpy, torch and matplotlib need their object
inventories: set ``SCRUBVAE_INTERSPHINX=1`` where the network reaches them
(left off by default so that the build runs offline).
"""

import os
import warnings

from numpydoc.xref import DEFAULT_LINKS

from sklearn_scrubvae import __version__

project = "sklearn_scrubvae"
author = "the sklearn_scrubvae developers"
copyright = "2026, the sklearn_scrubvae developers"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]
templates_path = ["_templates"]

# API reference: one page per public class and function.
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = True
numpydoc_class_members_toctree = False
numpydoc_show_inherited_class_members = False
numpydoc_xref_param_type = True
numpydoc_xref_ignore = {"of", "or", "and", "shape", "default", "optional", "with", "a"}
numpydoc_validation_checks = set()

# Markdown pages: anchors for "#section" links, $math$ and tables.
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath", "colon_fence"]

intersphinx_mapping = {}
if os.environ.get("SCRUBVAE_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "pandas": ("https://pandas.pydata.org/docs", None),
    }

# Offline, the type names that numpydoc links to the Python and numpy
# documentation stay plain names (their targets are not available).
if not intersphinx_mapping:
    numpydoc_xref_aliases = {name: name for name in DEFAULT_LINKS}

# Example gallery: every script under examples/ runs at build time, and
# the build fails when one raises.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "matplotlib_animations": True,
    "download_all_examples": False,
    "show_memory": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sklearn_scrubvae",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_scrubvae": None},
}
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_scrubvae {version}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False
