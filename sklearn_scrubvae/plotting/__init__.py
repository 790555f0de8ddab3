"""Figures and animations of what a model learned (needs matplotlib).

Every function takes arrays or a fitted estimator, draws on ``ax`` when one
is given, returns what it drew on (an Axes, or an animation) and works with
a non-interactive backend such as Agg:

- training: :func:`plot_history`;
- embeddings: :func:`plot_embedding`, :func:`plot_decodability`;
- poses: :func:`plot_pose`, :func:`animate_windows` (e.g. original,
  reconstruction and the same latent code decoded at another speed);
- behaviour: :func:`plot_ethogram`, :func:`plot_cluster_usage`,
  :func:`animate_clusters`, :func:`plot_lesion_effect`.

Animations are :class:`matplotlib.animation.FuncAnimation` objects: save
them with ``animation.save("out.gif", writer="pillow")``, or as MP4 with
``writer="ffmpeg"`` where ffmpeg is installed.
"""

try:
    import matplotlib  # noqa: F401
except ImportError as error:
    raise ImportError(
        "sklearn_scrubvae.plotting needs matplotlib: pip install sklearn_scrubvae[plot]"
    ) from error

from ._animation import animate_clusters, animate_windows
from ._behaviour import plot_cluster_usage, plot_ethogram
from ._decodability import plot_decodability
from ._embedding import plot_embedding
from ._history import plot_history
from ._lesion import plot_lesion_effect
from ._pose import plot_pose

__all__ = [
    "animate_clusters",
    "animate_windows",
    "plot_cluster_usage",
    "plot_decodability",
    "plot_embedding",
    "plot_ethogram",
    "plot_history",
    "plot_lesion_effect",
    "plot_pose",
]
