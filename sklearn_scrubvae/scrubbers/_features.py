"""Polynomial features of the latent code for the least-squares scrubbers."""

import itertools

import torch
from sklearn.utils._param_validation import StrOptions, validate_parameter_constraints
from torch import nn

MONOMIALS = ("all", "pairwise", "powers")


def _monomial_indices(n_inputs, degree, monomials):
    """Variable indices of the monomials of one degree, shape (n_terms, degree)."""
    if monomials == "all" or (monomials == "pairwise" and degree == 2):
        terms = itertools.combinations_with_replacement(range(n_inputs), degree)
    else:
        terms = ((i,) * degree for i in range(n_inputs))
    return torch.tensor(list(terms), dtype=torch.long).reshape(-1, degree)


class PolynomialFeatureMap(nn.Module):
    """Map ``z`` to monomials of its coordinates, up to a given order.

    The output starts with the coordinates themselves (degree 1), followed by
    the higher-degree monomials, degree by degree, and an optional column of
    ones.

    Parameters
    ----------
    n_inputs : int
        Dimension ``D`` of ``z``.
    order : {1, 2, 3}
        Highest total degree.
    monomials : {"all", "pairwise", "powers"}
        Which monomials of degree >= 2 enter:

        - "all": every monomial ``z_i z_j ...`` of each degree (``C(D + d - 1,
          d)`` terms of degree ``d``; ``D = 64``, order 3 gives about 48,000
          features, out of reach of a ``P x P`` solve).
        - "pairwise": every product ``z_i z_j`` (``i <= j``) of degree 2, and
          only the pure powers ``z_i ** d`` for ``d >= 3``; identical to "all"
          up to order 2.
        - "powers": only the pure powers ``z_i ** d``.
    fit_intercept : bool
        Whether to append a column of ones.

    Attributes
    ----------
    n_features : int
        Width ``P`` of the output.
    """

    _parameter_constraints: dict = {
        "monomials": [StrOptions(set(MONOMIALS))],
        "fit_intercept": ["boolean"],
    }

    def __init__(self, n_inputs: int, order: int, monomials: str, fit_intercept: bool) -> None:
        super().__init__()
        validate_parameter_constraints(
            self._parameter_constraints,
            {"monomials": monomials, "fit_intercept": fit_intercept},
            caller_name=type(self).__name__,
        )
        self.fit_intercept = fit_intercept
        self.order = order
        self.n_features = n_inputs + int(fit_intercept)
        for degree in range(2, order + 1):
            indices = _monomial_indices(n_inputs, degree, monomials)
            self.register_buffer(f"indices_{degree}", indices, persistent=False)
            self.n_features += indices.shape[0]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Compute the features.

        Parameters
        ----------
        z : Tensor of shape (B, D)

        Returns
        -------
        features : Tensor of shape (B, n_features)
        """
        columns = [z]
        for degree in range(2, self.order + 1):
            indices = getattr(self, f"indices_{degree}")
            columns.append(z[:, indices].prod(dim=-1))
        if self.fit_intercept:
            columns.append(z.new_ones(z.shape[0], 1))
        return torch.cat(columns, dim=1)
