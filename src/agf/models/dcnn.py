"""The DCNN of Table 2 (SPEC section 3), optionally width-scaled, and the layer builder it shares
with the stacked (fused) STNs of :mod:`agf.models.stacked`.

Input ``(B, 1, 128, 43)``: one standardised 1-s log-mel segment, mel bins on the height axis.
The layers in Table 2's order (below it, the order they run in):

    stem   conv 16@5x5, ELU -> maxpool (2,1)                     (B, 16, 64, 43)  shared in an MTN
    trunk  conv 32@3x3, BN, ELU -> maxpool 2x2 -> dropout 0.1    (B, 32, 32, 21)
           conv 64@3x3, ELU -> maxpool 2x2                       (B, 64, 16, 10)
           conv 64@3x3, BN, ELU -> maxpool 2x2 -> dropout 0.1    (B, 64, 8, 5)
           conv 128@3x3, ELU -> maxpool 2x2                      (B, 128, 4, 2)
           conv 256@3x3, ELU                                     (B, 256, 4, 2)
           conv 256@1x1, BN, ELU                                 (B, 256, 4, 2)
           global average pool, BN                               (B, 256)
           dense 256, BN, ELU                                    (B, 256)  the transferred feature
    head   dropout 0.5 -> dense n_outputs                        (B, n_outputs) logits

Every conv is 'same' padded; pooling floors odd sizes (43 -> 21 -> 10 -> 5 -> 2); the pools are
:class:`~agf.models.pooling.MaxPool`, ``nn.MaxPool2d`` with a faster CPU forward. A conv or
dense layer followed by BN has no bias (BN's shift replaces it); the others have one.
Where a pool follows, the layers run conv, BN, pool, ELU: the ELU is increasing, so the max of
the window's ELUs is the ELU of its max (the same numbers, and the same gradient: it flows to the
window's argmax either way), and the ELU, forward and backward, touches 2-4x fewer values
(inference 1.3x faster on CPU, a training step up to 1.1x: docs/results/speed.md). BN stays
before the pool: its batch statistics are those of every position, as in the paper.
Weights are Glorot-uniform and biases zero, as in the authors' Keras code.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from agf.models.pooling import MaxPool

# (name, base width, kernel, batch norm, max-pool window, dropout after the pool)
CONV_LAYERS = (
    ("conv1", 16, 5, False, (2, 1), 0.0),
    ("conv2", 32, 3, True, (2, 2), 0.1),
    ("conv3", 64, 3, False, (2, 2), 0.0),
    ("conv4", 64, 3, True, (2, 2), 0.1),
    ("conv5", 128, 3, False, (2, 2), 0.0),
    ("conv6", 256, 3, False, None, 0.0),
    ("conv7", 256, 1, True, None, 0.0),
)
DENSE_WIDTH = 256
HEAD_DROPOUT = 0.5


@dataclass(frozen=True)
class Widths:
    """Channel counts of the seven convs and the feature (dense) layer of one network."""

    convs: tuple[int, ...]
    dense: int


def scaled_widths(width: float = 1.0) -> Widths:
    """Every conv width and the 256-unit dense layer times ``width``, rounded, at least 1."""
    if not width > 0:
        raise ValueError(f"width multiplier must be positive, got {width}")
    return Widths(tuple(max(1, round(c * width)) for _, c, *_ in CONV_LAYERS), max(1, round(DENSE_WIDTH * width)))


class GroupedLinear(nn.Module):
    """``groups`` independent dense layers side by side: ``(B, groups*c_in) -> (B, groups*c_out)``.

    ``weight`` is ``(groups*c_out, c_in)``: the groups' ``nn.Linear`` weights stacked along
    dim 0, the same layout a grouped convolution uses.
    """

    def __init__(self, in_features: int, out_features: int, groups: int):
        super().__init__()
        self.groups, self.in_features, self.out_features = groups, in_features, out_features
        self.weight = nn.Parameter(torch.empty(groups * out_features, in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.view(self.groups, self.out_features, self.in_features)
        y = torch.einsum("bgi,goi->bgo", x.view(x.shape[0], self.groups, self.in_features), w)
        return y.reshape(x.shape[0], self.groups * self.out_features)


def build_layers(widths: Widths, groups: int = 1) -> tuple[nn.Sequential, nn.Sequential]:
    """The stem (conv1 + its pool) and the trunk up to the dense-BN-ELU feature.

    With ``groups = k`` every layer holds k independent networks side by side: convs are
    grouped (``groups=k``), BN is per channel and so per network, the dense layer is a
    :class:`GroupedLinear`. Input ``(B, k, 128, 43)``, channel i being network i's segment.
    """
    k = groups
    stem: OrderedDict[str, nn.Module] = OrderedDict()
    trunk: OrderedDict[str, nn.Module] = OrderedDict()
    c_in = 1
    for (name, _, kernel, bn, pool, dropout), c_out in zip(CONV_LAYERS, widths.convs):
        layers = stem if name == "conv1" else trunk
        i = name[-1]
        layers[name] = nn.Conv2d(k * c_in, k * c_out, kernel, padding="same", groups=k, bias=not bn)
        if bn:
            layers[f"bn{i}"] = nn.BatchNorm2d(k * c_out)
        if pool:  # before the ELU: the same numbers, fewer of them (see the module's docstring)
            layers[f"pool{i}"] = MaxPool(pool)
        layers[f"elu{i}"] = nn.ELU(inplace=True)
        if dropout:
            layers[f"drop{i}"] = nn.Dropout(dropout)
        c_in = c_out
    trunk["gap"] = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    trunk["bn_gap"] = nn.BatchNorm1d(k * c_in)
    trunk["dense"] = nn.Linear(c_in, widths.dense, bias=False) if k == 1 else GroupedLinear(c_in, widths.dense, k)
    trunk["bn_dense"] = nn.BatchNorm1d(k * widths.dense)
    trunk["elu_dense"] = nn.ELU(inplace=True)
    return nn.Sequential(stem), nn.Sequential(trunk)


def build_head(widths: Widths, n_outputs: int) -> nn.Sequential:
    return nn.Sequential(OrderedDict(drop=nn.Dropout(HEAD_DROPOUT), out=nn.Linear(widths.dense, n_outputs)))


def glorot_init(module: nn.Module) -> None:
    """Glorot-uniform weights and zero biases (Keras defaults); BN keeps gamma 1, beta 0.

    Fan-in/out are those of one network, so a grouped layer is initialised like its parts.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, GroupedLinear)):
            if isinstance(m, nn.Conv2d):
                receptive = m.kernel_size[0] * m.kernel_size[1]
                fan_in, fan_out = m.in_channels // m.groups * receptive, m.out_channels // m.groups * receptive
            else:
                fan_in, fan_out = m.in_features, m.out_features
            bound = (6.0 / (fan_in + fan_out)) ** 0.5
            nn.init.uniform_(m.weight, -bound, bound)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


class DCNN(nn.Module):
    """One network of Table 2: standardised ``(B, 1, 128, 43)`` log-mel -> ``(B, n_outputs)`` logits."""

    def __init__(self, n_outputs: int, *, width: float = 1.0):
        super().__init__()
        self.n_outputs, self.width = n_outputs, width
        self.widths = scaled_widths(width)
        self.stem, self.trunk = build_layers(self.widths)
        self.head = build_head(self.widths, n_outputs)
        glorot_init(self)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, 128, 43)`` -> ``(B, widths.dense)``: the dense-BN-ELU output (256 at width 1)."""
        return self.trunk(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters, each shared tensor once."""
    return sum(p.numel() for p in module.parameters())
