from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = {}
exec((here / "sklearn_scrubvae" / "_version.py").read_text(), version)

setup(
    name="sklearn_scrubvae",
    version=version["__version__"],
    description=(
        "Scrubbed conditional VAEs for 3D animal pose dynamics, "
        "as a scikit-learn estimator"
    ),
    long_description=(here / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(include=["sklearn_scrubvae", "sklearn_scrubvae.*"]),
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-learn>=1.6",
        "pandas>=2.0",
        "torch>=2.1",
        "skorch>=1.0",
        "safetensors>=0.4",
    ],
    extras_require={
        "tests": ["pytest>=7", "h5py>=3.8", "matplotlib>=3.7", "dask[distributed]>=2023.1"],
        "plot": ["matplotlib>=3.7", "pillow>=8"],
        "io": ["h5py>=3.8", "movement>=0.14"],
        "dask": ["dask[distributed]>=2023.1"],
    },
    classifiers=[
        "License :: OSI Approved :: BSD License",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Topic :: Scientific/Engineering :: Bio-Informatics",
    ],
)
