"""k independent DCNNs of one width run as one model, so a GPU sees k-times wider kernels.

Every conv is grouped (``groups=k``), BN is per channel (hence per network), the dense layer is a
:class:`~agf.models.dcnn.GroupedLinear`, and each network keeps its own output head. No weight,
activation or batch statistic crosses networks, so network i of the stack computes exactly
what a separate :class:`~agf.models.dcnn.DCNN` with the same weights computes on channel i.
Adam is element-wise, so the stack trained on the sum of the networks' losses follows the same
trajectory as k separately trained networks.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from agf.models.dcnn import DCNN, build_head, build_layers, scaled_widths


class StackedDCNN(nn.Module):
    """``(B, k, 128, 43)`` (channel i = network i's segment) -> list of k logits ``(B, n_outputs[i])``."""

    def __init__(self, n_outputs: Sequence[int], *, width: float = 1.0):
        super().__init__()
        self.n_outputs, self.width = tuple(n_outputs), width
        self.k = len(self.n_outputs)
        self.widths = scaled_widths(width)
        self.stem, self.trunk = build_layers(self.widths, groups=self.k)
        self.heads = nn.ModuleList(build_head(self.widths, n) for n in self.n_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, k, 128, 43)`` -> ``(B, k, widths.dense)``."""
        return self.trunk(self.stem(x)).view(x.shape[0], self.k, self.widths.dense)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = self.embed(x)
        return [head(features[:, i]) for i, head in enumerate(self.heads)]

    @classmethod
    def from_networks(cls, networks: Sequence[DCNN]) -> StackedDCNN:
        """A stack holding copies of ``networks`` (all of one width)."""
        widths = {net.width for net in networks}
        if len(widths) != 1:
            raise ValueError(f"networks of different widths cannot be stacked: {sorted(widths)}")
        stacked = cls([net.n_outputs for net in networks], width=networks[0].width)
        state = {}
        for name, value in stacked.state_dict().items():
            if name.startswith("heads."):
                continue
            parts = [net.state_dict()[name] for net in networks]
            # num_batches_tracked is a scalar counter, equal across networks trained in lockstep
            state[name] = parts[0].clone() if value.ndim == 0 else torch.cat(parts).reshape(value.shape)
        for i, net in enumerate(networks):
            state.update({f"heads.{i}.{k}": v for k, v in net.head.state_dict().items()})
        stacked.load_state_dict(state)
        return stacked

    def network_state(self, i: int) -> dict[str, torch.Tensor]:
        """Network i's weights as a :class:`DCNN` state dict (copies)."""
        with torch.device("meta"):  # shapes only: no memory, and no draw from the random stream
            single = DCNN(self.n_outputs[i], width=self.width).state_dict()
        state = {}
        for name, value in self.state_dict().items():
            if name.startswith("heads."):
                continue
            part = value if value.ndim == 0 else value.chunk(self.k)[i]
            state[name] = part.reshape(single[name].shape).clone()
        state.update({f"head.{k}": v.clone() for k, v in self.heads[i].state_dict().items()})
        return state

    def networks(self) -> list[DCNN]:
        """The k networks as separate :class:`DCNN` modules (copies)."""
        nets = []
        for i, n in enumerate(self.n_outputs):
            net = DCNN(n, width=self.width)
            net.load_state_dict(self.network_state(i))
            nets.append(net.train(self.training))
        return nets
