"""Self-tuning forgetting factors (Algorithm 3), shared by MALS and QD."""

import numbers

import torch
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from torch import nn

from .base import NON_NEGATIVE, UNIT


class ForgettingFactors(nn.Module):
    """One fixed forgetting factor, or a self-tuning pair.

    With ``forgetting_factor="auto"`` two copies of a scrubber's statistics
    are kept, with factors ``f_a`` and ``f_b = f_a + gap``. Before each batch
    is added, both copies are scored on it; both factors then move by ``step``
    towards the copy that fitted better (nothing moves on a tie), with ``f_a``
    clamped to ``[0, 1 - gap]`` so that the gap is kept and both stay in
    ``[0, 1]``. The factor thus follows whichever amount of memory currently
    predicts new batches best.

    A forgetting factor has one meaning in every scrubber: it is the weight
    of the old statistics when a batch is added (the memory). 1 never
    forgets; 0 keeps only the latest batch. With a fixed factor ``f`` a batch
    seen ``t`` batches ago weighs ``f ** t`` relative to the newest one, so
    the statistics span about ``1 / (1 - f)`` batches.

    Parameters
    ----------
    forgetting_factor : "auto" or float in [0, 1]
        "auto" for the self-tuning pair, a number for one fixed factor.
    init : float
        Initial ``f_a`` ("auto" only), in ``[0, 1 - gap]``.
    gap : float
        ``f_b - f_a`` ("auto" only), in ``(0, 1]``.
    step : float
        Change of the factors per batch ("auto" only), >= 0.

    Attributes
    ----------
    values : Tensor of shape (n_copies,)
        Current factors, ``(f_a, f_b)`` or ``(f,)``.
    """

    _parameter_constraints: dict = {
        "forgetting_factor": [StrOptions({"auto"}), UNIT],
        "forgetting_init": [UNIT],
        "forgetting_gap": [Interval(numbers.Real, 0, 1, closed="right")],
        "forgetting_step": [NON_NEGATIVE],
    }

    def __init__(
        self, forgetting_factor: str | float, *, init: float, gap: float, step: float
    ) -> None:
        super().__init__()
        validate_parameter_constraints(
            self._parameter_constraints,
            {
                "forgetting_factor": forgetting_factor, "forgetting_init": init,
                "forgetting_gap": gap, "forgetting_step": step,
            },
            caller_name=type(self).__name__,
        )
        self.auto = forgetting_factor == "auto"
        if self.auto:
            if init > 1.0 - gap:
                raise ValueError(
                    f"forgetting_init must lie in [0, 1 - forgetting_gap] = [0, {1.0 - gap}], "
                    f"got {init}."
                )
            self.gap, self.step = float(gap), float(step)
            values = [float(init), float(init) + self.gap]
        else:
            values = [float(forgetting_factor)]
        self.register_buffer("values", torch.tensor(values))

    @property
    def n_copies(self) -> int:
        """Number of statistics copies: 2 when self-tuning, else 1."""
        return self.values.shape[0]

    @torch.no_grad()
    def tune(self, errors: torch.Tensor) -> None:
        """Move the factors towards the copy with the lower error.

        Parameters
        ----------
        errors : Tensor of shape (n_copies,)
            Error of each copy on the incoming batch, lower is better (pass a
            negative log-likelihood for likelihoods). Ignored for a fixed
            factor.
        """
        if not self.auto:
            return
        direction = torch.sign(errors[0] - errors[1]).to(self.values)
        f_a = (self.values[0] + self.step * direction).clamp(0.0, 1.0 - self.gap)
        self.values.copy_(torch.stack([f_a, (f_a + self.gap).clamp(max=1.0)]))

    def summary(self) -> dict[str, float]:
        """Current factors as floats.

        Returns
        -------
        summary : dict of str to float
            ``forgetting_factor_a`` and ``forgetting_factor_b`` when
            self-tuning, else ``forgetting_factor``.
        """
        values = self.values.tolist()
        if self.auto:
            return {"forgetting_factor_a": values[0], "forgetting_factor_b": values[1]}
        return {"forgetting_factor": values[0]}
