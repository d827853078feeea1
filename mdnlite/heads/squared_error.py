"""The least-squares head of ``Regressor``: raw outputs z are the prediction of y itself.

The same interface as ``MixtureHead`` under the names every head answers to (``loss_forward``,
``loss_forward_t``, ``loss_backward``), for a network that learns only the conditional mean:
its loss is a mean squared error, not a likelihood, and it holds no mixture and no weights.
"""

__all__ = ["SquaredError"]


class SquaredError:
    """Mean squared error L = (1/(N D)) Σ_n ‖z_n - y_n‖², with dL/dz = 2 (z - y) / (N D).

    ``loss_forward`` on z (N, D), ``loss_forward_t`` on zᵀ (D, N) (the training step's path;
    there are no checks to skip) and ``loss_backward``, which returns dL/dz (N, D).
    """

    def __init__(self, n_dims):
        self.n_outputs = int(n_dims)

    def loss_forward(self, z, y):
        """(L, cache) for predictions z (N, D) of targets y (N, D)."""
        return self.loss_forward_t(z.T, y)

    def loss_forward_t(self, zt, y):
        """(L, cache) for zt = zᵀ (D, N); the cache is the residual zᵀ - yᵀ (D, N)."""
        residual = zt - y.T  # (D, N)
        return (residual * residual).mean(), residual

    def loss_backward(self, residual):
        """dL/dz (N, D) from the cache of ``loss_forward``; the cache is left as it was."""
        return (residual * (2.0 / residual.size)).T  # (N, D)
