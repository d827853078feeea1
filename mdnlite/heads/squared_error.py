"""The least-squares head of ``Regressor``: raw outputs z are the prediction of y itself.

The same interface as ``MixtureHead`` (a loss and its gradient with respect to z), for a
network that learns only the conditional mean; it holds no mixture and no weights.
"""

__all__ = ["SquaredError"]


class SquaredError:
    """Mean squared error L = (1/(N D)) Σ_n ‖z_n - y_n‖², with dL/dz = 2 (z - y) / (N D).

    The same interface as ``head.MixtureHead``: ``nll_forward`` on z (N, D),
    ``_nll_forward`` on zᵀ (D, N) (the training step's path; there are no checks to skip)
    and ``nll_backward``, which returns dL/dz (N, D).
    """

    def __init__(self, n_dims):
        self.n_outputs = int(n_dims)

    def nll_forward(self, z, y):
        return self._nll_forward(z.T, y)

    def _nll_forward(self, zt, y):
        residual = zt - y.T  # (D, N)
        return (residual * residual).mean(), residual

    def nll_backward(self, residual):
        residual *= 2.0 / residual.size
        return residual.T  # (N, D)
