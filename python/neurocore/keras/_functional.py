"""Keras's functional API for chains: the symbolic tensors that ``Input``
returns and that calling a layer on a tensor makes, and the walk from a
model's outputs back to its inputs.

A tensor remembers the layer that made it and the tensor that layer was
called on, so ``Model(inputs, outputs)`` finds its layers by following the
outputs back. neurocore's core runs chains (each layer has one input and one
output): a graph that branches or merges is refused with a clear error.
Layers are shared by object: two models holding the same layer use the same
weights (models.py keeps them in step).
"""

from .. import _engine
from . import losses as _losses

_CHAINS_ONLY = (
    "neurocore's functional API builds chains (each layer called on one tensor, one input and "
    "one output per model); graphs that branch or merge (Add, Concatenate, several inputs or "
    "outputs) are not supported"
)


class KerasTensor:
    """A symbolic tensor: the output of an ``Input`` or of a layer called on a tensor.

    Attributes
    ----------
    shape : tuple
        ``(None, *per_sample_shape)`` as Keras shows it (None for the batch).
    """

    def __init__(self, layer, inbound=None):
        self._layer = layer  # the layer that made this tensor (an InputLayer for an Input)
        self._inbound = inbound  # the tensor that layer was called on (None for an Input)
        self._shape = None

    @property
    def shape(self):
        if self._shape is None:
            origin, layers = trace(self)
            if not layers:
                self._shape = tuple(origin._layer.shape)
            else:
                net = _engine.Network(layers, origin._layer.shape, _losses.get("mean_squared_error"), "float32")
                self._shape = tuple(net.output_shape)
        return (None,) + self._shape

    @property
    def name(self):
        return self._layer.name

    def __repr__(self):
        try:
            shape = self.shape
        except ValueError as e:  # a chain the core refuses: say so where the user looks
            shape = f"invalid ({e})"
        return f"<KerasTensor shape={shape}, name={self.name}>"


def call_layer(layer, inputs):
    """What ``layer(inputs)`` returns for a symbolic input: a new tensor."""
    if isinstance(inputs, (list, tuple)):
        if len(inputs) == 1 and isinstance(inputs[0], KerasTensor):
            inputs = inputs[0]
        else:
            raise ValueError(f"layer {layer.name!r} was called on {len(inputs)} tensors: {_CHAINS_ONLY}")
    if not isinstance(inputs, KerasTensor):
        raise TypeError(
            f"layer {layer.name!r} was called on {type(inputs).__name__}: neurocore's layers are "
            "descriptions for a model; call them on the tensor of an Input(shape) (the functional "
            "API), or put them in a Sequential and call model.predict(x)"
        )
    return KerasTensor(layer, inputs)


def trace(tensor):
    """(the Input tensor a chain starts from, its layers in order) for a tensor."""
    layers = []
    t = tensor
    while t._inbound is not None:
        layers.append(t._layer)
        t = t._inbound
    return t, layers[::-1]


def single(obj, what):
    """The one tensor of a model's inputs or outputs (a tensor, or a list of one)."""
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        if len(obj) != 1:
            raise ValueError(f"the model has {len(obj)} {what}: {_CHAINS_ONLY}")
        obj = obj[0]
    if not isinstance(obj, KerasTensor):
        raise ValueError(f"Model {what} must be tensors (from Input(shape) and layers called on it), "
                         f"got {type(obj).__name__}")
    return obj


def chain(inputs, outputs):
    """The InputLayer and the layers from `inputs` to `outputs`, checked."""
    start = single(inputs, "inputs")
    end = single(outputs, "outputs")
    if start._inbound is not None:
        raise ValueError(f"Model inputs must be Input(...) tensors; {start.name!r} is the output of a layer")
    origin, layers = trace(end)
    if origin is not start:
        raise ValueError(
            f"the model's outputs ({end.name!r}) do not connect to its inputs ({start.name!r}): they "
            f"come from the Input {origin.name!r}"
        )
    if len(set(map(id, layers))) != len(layers):
        twice = next(layer for i, layer in enumerate(layers) if any(layer is m for m in layers[:i]))
        raise ValueError(f"layer {twice.name!r} appears twice in the chain: a layer's weights are used once "
                         "per model")
    return start._layer, layers


def refuse_merge(layer):
    """What calling a merge layer (Add, Concatenate, ...) does: the graph would branch."""
    raise ValueError(f"{type(layer).__name__} merges several tensors: {_CHAINS_ONLY}. Write the model "
                     "as one chain of layers (Sequential or Model of one Input)")
