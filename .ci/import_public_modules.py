"""Import every public module of the installed sklearn_scrubvae, and its public names.

Run from outside the checkout, so that the installed package is the one imported.
"""

import importlib
import pkgutil

import sklearn_scrubvae

public = ["sklearn_scrubvae"] + [
    module.name
    for module in pkgutil.walk_packages(sklearn_scrubvae.__path__, "sklearn_scrubvae.")
    if not any(part.startswith("_") for part in module.name.split("."))
]
for name in public:
    module = importlib.import_module(name)
    assert "site-packages" in module.__file__, f"{name} imported from {module.__file__}"
    for attribute in getattr(module, "__all__", []):
        getattr(module, attribute)
print(f"sklearn_scrubvae {sklearn_scrubvae.__version__}: imported {len(public)} public modules")
