"""A sequential network whose parameters and gradients live in two flat buffers.

``Sequential`` chains layers; ``mlp`` builds the usual stack of Dense + activation layers.
Every layer's parameter is a view into one flat vector (and every gradient a view into a
second), so an optimizer can walk the ordered lists ``params``/``grads`` or, faster, update
the two flat vectors in a handful of array operations.
"""

import numpy as np

from ..backend import array_module, get_xp, resolve_dtype
from .layers import Dense, make_activation

__all__ = ["Sequential", "Parallel", "mlp", "n_parameters"]


class Sequential:
    """Layers applied in order, with their parameters gathered into flat buffers.

    Parameters
    ----------
    layers : list
        Objects with ``forward``, ``backward``, ``params`` and ``grads`` (see ``nn.layers``).
        Their parameter arrays are copied into the flat buffer and replaced by views of it.

    Attributes
    ----------
    params, grads : list of arrays
        Views into ``flat_params`` / ``flat_grads``, in layer order; ``grads[i]`` is
        dL/d``params[i]`` after ``backward``.
    flat_params, flat_grads : array (P,)
        All parameters (gradients) in one contiguous vector.
    """

    def __init__(self, layers):
        self.layers = list(layers)
        arrays = [p for layer in self.layers for p in layer.params]
        if not arrays:
            raise ValueError("a Sequential network needs at least one layer with parameters")
        xp = array_module(arrays[0])
        dtype = arrays[0].dtype
        total = sum(int(p.size) for p in arrays)
        self.flat_params = xp.empty(total, dtype=dtype)
        self.flat_grads = xp.zeros(total, dtype=dtype)
        self._bind(copy_values=True)
        self._first_with_params = next(i for i, layer in enumerate(self.layers) if layer.params)

    def _bind(self, copy_values=False):
        """Make every layer's parameters and gradients views into the two flat buffers."""
        self.params, self.grads = [], []
        offset = 0
        for layer in self.layers:
            views, grad_views = [], []
            for p in layer.params:
                n = int(p.size)
                view = self.flat_params[offset:offset + n].reshape(p.shape)
                if copy_values:
                    view[...] = p
                views.append(view)
                grad_views.append(self.flat_grads[offset:offset + n].reshape(p.shape))
                offset += n
            layer.params, layer.grads = views, grad_views
            self.params.extend(views)
            self.grads.extend(grad_views)

    def __setstate__(self, state):
        # a copy or an unpickled network gets its own buffers, and the views must point into
        # them again (copying turns views into separate arrays)
        self.__dict__.update(state)
        self._bind()

    @property
    def largest_product(self):
        """Multiply-adds per input row of the largest matrix product (a Dense's n_in × n_out):
        what decides whether BLAS threads pay (``config.blas_threads_for``)."""
        return max((layer.params[0].size for layer in self.layers if isinstance(layer, Dense)),
                   default=0)

    @property
    def n_params(self):
        """Number of scalar parameters."""
        return int(self.flat_params.size)

    def forward(self, x, transpose=False):
        """Return the network output for x (N, D_in); each layer keeps what its backward needs.

        With ``transpose``, the output comes transposed, (n_out, N) and contiguous: the layout
        the MDN head works in. A last ``Dense`` writes it so directly; any other last layer's
        output is copied into it.
        """
        return self._run(x, transpose, keep=True)

    def predict(self, x, transpose=False):
        """The network output for x (N, D_in), keeping nothing: no layer holds x afterwards.
        ``transpose`` as in ``forward``."""
        return self._run(x, transpose, keep=False)

    def _run(self, x, transpose, keep):
        """The layers in order, each by ``forward`` (``keep``: for a backward) or ``apply``."""
        *body, last = self.layers
        for layer in body:
            x = layer.forward(x) if keep else layer.apply(x)
        run = last.forward if keep else last.apply
        if isinstance(last, Dense):  # speed: it writes zᵀ itself, saving a copy of z
            return run(x, transpose)
        return _transposed(run(x)) if transpose else run(x)

    def backward(self, dy, need_dx=False):
        """Backpropagate dL/d(output) (N, n_out), overwriting every gradient.

        Returns dL/dx (N, D_in) when ``need_dx``; the training step does not need it and
        skips the first layer's input-gradient product.
        """
        for i in range(len(self.layers) - 1, -1, -1):
            wanted = need_dx or i > self._first_with_params
            dy = self.layers[i].backward(dy, wanted)
            if not wanted:
                return None
        return dy


class Parallel(Sequential):
    """M networks side by side, each seeing the same input, their parameters in one buffer.

    The members of an ensemble (``MDN(n_members=M)``): ``forward``, ``predict`` and
    ``backward`` run each member on its own and take or return a list of M outputs (or
    output gradients). The members' parameters and gradients are consecutive slices of
    ``flat_params`` and ``flat_grads``, member 0 first, so that one optimizer step updates
    them all, and saving, loading and ``get_weights`` see one flat vector.

    Parameters
    ----------
    members : list of Sequential
        Their values are copied into the shared buffers, and each member's own
        ``flat_params`` and ``flat_grads`` become views of its slice.
    """

    def __init__(self, members):
        self.members = list(members)
        super().__init__([layer for member in self.members for layer in member.layers])
        self._bind_members()

    def _bind_members(self):
        """Point each member's flat buffers at its slice of the shared ones (no copy)."""
        offset = 0
        for member in self.members:
            n = member.n_params
            member.flat_params = self.flat_params[offset:offset + n]
            member.flat_grads = self.flat_grads[offset:offset + n]
            member._bind()
            offset += n

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._bind()
        self._bind_members()

    def forward(self, x, transpose=False):
        """Each member's output for x, a list of M arrays (see ``Sequential.forward``)."""
        return [member.forward(x, transpose) for member in self.members]

    def predict(self, x, transpose=False):
        """Each member's output for x, keeping nothing: a list of M arrays."""
        return [member.predict(x, transpose) for member in self.members]

    def backward(self, dys, need_dx=False):
        """Backpropagate each member's output gradient (a list of M (N, n_out) arrays),
        overwriting every gradient; the members' dL/dx summed when ``need_dx``."""
        dxs = [member.backward(dy, need_dx) for member, dy in zip(self.members, dys)]
        return sum(dxs[1:], dxs[0]) if need_dx else None


def _transposed(y):
    return array_module(y).ascontiguousarray(y.T)


def n_parameters(sizes):
    """The number of weights and biases of ``mlp(sizes, ...)``: Σ (n_in + 1) n_out."""
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def mlp(sizes, activation="tanh", *, rng, backend="numpy", dtype=np.float32):
    """Build a multilayer perceptron: Dense layers with ``activation`` between them.

    Parameters
    ----------
    sizes : sequence of int
        ``[D_in, H_1, ..., H_m, n_out]``; the last Dense layer has no activation (the MDN head
        or the least-squares loss acts on its raw output).
    activation : str
        One of ``layers.ACTIVATIONS``; the hidden weights use the initialisation that suits it
        (He for relu, elu and softplus, Glorot otherwise); the output layer uses Glorot.
    rng : numpy.random.Generator
        Host generator for the initial weights.
    backend : str or module
        See ``backend.get_xp``.
    dtype : float32 or float64

    Returns
    -------
    Sequential
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must hold at least two positive widths, got {sizes!r}")
    make_activation(activation)  # fail on an unknown name even when there is no hidden layer
    xp = get_xp(backend)
    dtype = resolve_dtype(dtype)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        is_output = i == len(sizes) - 2
        act = None if is_output else make_activation(activation)
        init = "glorot" if is_output else act.init
        layers.append(Dense(n_in, n_out, rng=rng, init=init, xp=xp, dtype=dtype))
        if act is not None:
            layers.append(act)
    return Sequential(layers)
