"""
Long runs: checkpoints, resuming, saving and loading
====================================================

A paper-scale fit runs for hours. ``checkpoint_dir`` makes ``fit`` write
the whole training state every ``checkpoint_every`` epochs (weights,
optimiser moments, scrubber statistics, random generators, history);
calling ``fit`` again with the same parameters, data and directory resumes
from the last checkpoint. ``save`` and ``load`` keep a fitted model in one
safetensors file, without pickle.

A small model on two synthetic mice shows each step; the page
:doc:`/long_runs` has the details (divergence, memory-mapped data,
several GPUs, dask sweeps).
"""

# %%
# A run cut short
# ---------------
# The first job is stopped after 4 of the 8 epochs it was meant to run (a
# preempted cluster job, say): here, simply by asking for 4 epochs.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae.datasets import make_mouse_behavior
from sklearn_scrubvae.plotting import plot_history

poses, table = make_mouse_behavior(2, 600, lesion=False, fps=30, random_state=0)
groups = table["session"]
work = Path(tempfile.mkdtemp())
small = dict(skeleton="mouse18", scrubber="mals", nuisance=["speed"], window=17,
             n_components=8, hidden_channels=(16, 32), batch_size=64,
             checkpoint_dir=str(work / "run"), checkpoint_every=2, random_state=0)

first = ScrubbedCVAE(max_iter=4, **small).fit(poses, table, groups=groups)
print(sorted(path.name for path in (work / "run").iterdir()))

# %%
# Resuming
# --------
# The restarted job asks for all 8 epochs with the same checkpoint
# directory: it resumes after epoch 4 and trains epochs 5 to 8. A
# checkpoint made with other parameters or data would be refused.
resumed = ScrubbedCVAE(max_iter=8, **small).fit(poses, table, groups=groups)
print("epochs trained in all:", resumed.n_iter_)

# %%
# The resumed run continues the same training curves, and so ends where an
# uninterrupted run of 8 epochs ends (on the CPU, with the same
# ``random_state``).
straight = ScrubbedCVAE(max_iter=8, **{**small, "checkpoint_dir": None})
straight.fit(poses, table, groups=groups)
print("same embedding as an uninterrupted run:",
      np.allclose(resumed.transform(poses, groups=groups),
                  straight.transform(poses, groups=groups), atol=1e-5))
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained", sharey=True)
plot_history(resumed, ax=axes[0]).set_title("resumed after epoch 4")
plot_history(straight, ax=axes[1]).set_title("uninterrupted")

# %%
# Continuing a finished fit
# -------------------------
# ``warm_start=True`` continues from the fitted state for another
# ``max_iter`` epochs instead of starting afresh.
more = ScrubbedCVAE(max_iter=2, warm_start=True, **{**small, "checkpoint_dir": None})
more.fit(poses, table, groups=groups).fit(poses, table, groups=groups)
print("epochs after two warm-started fits of 2:", more.n_iter_)

# %%
# Saving and loading without pickle
# ---------------------------------
# One safetensors file holds the weights and scrubber state as tensors and
# the parameters, fitted attributes and versions as JSON; loading it runs
# no code. A model trained on a GPU loads on a CPU-only machine.
path = work / "model.safetensors"
resumed.save(path)
restored = ScrubbedCVAE.load(path, device="cpu")
print(f"{path.name}: {path.stat().st_size / 1e3:.0f} kB; same embedding:",
      np.array_equal(restored.transform(poses, groups=groups),
                     resumed.transform(poses, groups=groups), equal_nan=True))
