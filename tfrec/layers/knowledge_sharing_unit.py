"""IRIS's knowledge-sharing unit: two modality towers with cross connections (a shared W)."""

from __future__ import annotations

import keras
from keras import ops

ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear")


@keras.saving.register_keras_serializable(package="tfrec")
class KnowledgeSharingUnit(keras.layers.Layer):
    """Visual and textual feed-forward towers joined by one shared weight (IRIS Eqs. 7-8).

    Multimodal IRIS (Lv et al., IEEE Access 2019, §III.C, Fig. 5; spec iris.md §5.2), for
    each stacked layer l = 0 .. num_layers - 1:

        v^(l+1) = act(v^l W_i2i^l + t^l W_share^l + b_v^l)     (Eq. 7)
        t^(l+1) = act(t^l W_t2t^l + v^l W_share^l + b_t^l)     (Eq. 8)

    The same W_share carries knowledge in both directions (image -> text and text ->
    image), so the two inputs of a sharing layer must have the same width (in the paper
    the 768-d visual hidden layer and the 768-d BERT vector). `sharing=False` drops the
    cross terms: two independent towers, the feature networks of Image-add-Text IRIS.

    Choices the paper leaves open (its Eqs. 7-8 are garbled in the text), each a switch:

    - `activation` [INFER: ReLU]: the activation is lost in the extraction.
    - `use_bias` [INFER: True]: biases b_v, b_t (zeros init, like the paper's "biases 0").
    - `share_across_layers` [INFER: False]: Eq. 7 writes W_i2i^l with a layer index and
      W_share without one. False gives every stacked layer its own W_share^l (needed when
      the widths change between layers); True uses one W_share for every layer, which
      requires the input width to equal `units`.
    - Initialisation: Xavier (Glorot uniform) kernels, as the paper states for all weights.

    Args:
        units: output width of both towers (every stacked layer).
        num_layers: number of stacked sharing layers (the output of one is the input of the
            next; or stack instances, which is the same with `share_across_layers=False`).
        activation: `"relu"`, `"sigmoid"`, `"tanh"` or `"linear"`.
        sharing: True for the cross connections (Multimodal IRIS), False for two plain
            towers (Image-add-Text IRIS).
        share_across_layers: one W_share for all stacked layers (see above).
        use_bias: add the biases b_v^l and b_t^l.

    Call arguments:
        visual: `[..., d_v]` visual vectors v^0.
        textual: `[..., d_t]` textual vectors t^0 (`d_t == d_v` when `sharing`).

    Returns:
        A tuple `(visual, textual)` of `[..., units]` tensors v^L and t^L.

    Example:

    ```python
    unit = KnowledgeSharingUnit(16)
    visual, textual = unit(visual_hidden, text_features)  # [B, 768] each -> [B, 16] each
    ```
    """

    def __init__(
        self,
        units: int,
        num_layers: int = 1,
        activation: str = "relu",
        sharing: bool = True,
        share_across_layers: bool = False,
        use_bias: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (("units", units), ("num_layers", num_layers)):
            if isinstance(value, bool) or int(value) != value or int(value) < 1:
                raise ValueError(f"Received: `{name}={value!r}`. Expected an integer >= 1.")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"Received: `activation={activation!r}`. Expected one of {ACTIVATIONS}."
            )
        self.units = int(units)
        self.num_layers = int(num_layers)
        self.activation = activation
        self.sharing = bool(sharing)
        self.share_across_layers = bool(share_across_layers)
        self.use_bias = bool(use_bias)

    def build(self, visual_shape, textual_shape=None):
        if textual_shape is None:
            textual_shape = visual_shape
        visual_dim, textual_dim = int(visual_shape[-1]), int(textual_shape[-1])
        if self.sharing and visual_dim != textual_dim:
            raise ValueError(
                f"Received visual width {visual_dim} and textual width {textual_dim}. The "
                "knowledge-sharing unit applies one W_share to both, so expected equal "
                "widths (or `sharing=False`)."
            )
        if self.sharing and self.share_across_layers and self.num_layers > 1:
            if visual_dim != self.units:
                raise ValueError(
                    f"Received input width {visual_dim} with `units={self.units}`, "
                    f"`num_layers={self.num_layers}` and `share_across_layers=True`. One "
                    "W_share for every layer needs input width == units; set "
                    "`share_across_layers=False`."
                )

        def kernel(rows, name):
            return self.add_weight(
                shape=(rows, self.units), initializer="glorot_uniform", name=name
            )

        def bias(name):
            return self.add_weight(shape=(self.units,), initializer="zeros", name=name)

        self.visual_kernels, self.textual_kernels, self.shared_kernels = [], [], []
        self.visual_biases, self.textual_biases = [], []
        for layer in range(self.num_layers):
            if layer:
                visual_dim = textual_dim = self.units
            self.visual_kernels.append(kernel(visual_dim, f"visual_kernel_{layer}"))
            self.textual_kernels.append(kernel(textual_dim, f"textual_kernel_{layer}"))
            if self.sharing and (layer == 0 or not self.share_across_layers):
                self.shared_kernels.append(kernel(visual_dim, f"shared_kernel_{layer}"))
            if self.use_bias:
                self.visual_biases.append(bias(f"visual_bias_{layer}"))
                self.textual_biases.append(bias(f"textual_bias_{layer}"))
        self.built = True

    def call(self, visual, textual):
        act = None if self.activation == "linear" else getattr(ops, self.activation)
        for layer in range(self.num_layers):
            visual_next = ops.matmul(visual, self.visual_kernels[layer])
            textual_next = ops.matmul(textual, self.textual_kernels[layer])
            if self.sharing:
                shared = self.shared_kernels[0 if self.share_across_layers else layer]
                # Eq. 7: W_share t^l into the visual tower; Eq. 8: W_share v^l into the text.
                visual_next = visual_next + ops.matmul(textual, shared)
                textual_next = textual_next + ops.matmul(visual, shared)
            if self.use_bias:
                visual_next = visual_next + self.visual_biases[layer]
                textual_next = textual_next + self.textual_biases[layer]
            if act is not None:
                visual_next, textual_next = act(visual_next), act(textual_next)
            visual, textual = visual_next, textual_next
        return visual, textual

    def kernels(self):
        """Every kernel (W_i2i^l, W_t2t^l, W_share^l): the weights Eq. 12 regularises."""
        return [*self.visual_kernels, *self.textual_kernels, *self.shared_kernels]

    def compute_output_shape(self, visual_shape, textual_shape=None):
        textual_shape = visual_shape if textual_shape is None else textual_shape
        return (
            (*tuple(visual_shape)[:-1], self.units),
            (*tuple(textual_shape)[:-1], self.units),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "num_layers": self.num_layers,
                "activation": self.activation,
                "sharing": self.sharing,
                "share_across_layers": self.share_across_layers,
                "use_bias": self.use_bias,
            }
        )
        return config
