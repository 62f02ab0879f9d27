"""Batch norms folded into the convolutions before them, for inference.

In eval mode a BN is a fixed affine map per channel, so a conv followed by it is one conv with
scaled weights and a shifted bias (:func:`torch.nn.utils.fusion.fuse_conv_bn_eval`). Folding
removes a pass over the largest activation of the DCNN (conv2's), the same numbers up to float
rounding. Only for networks that will never train again: the BN is gone.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fold_batch_norms(module: nn.Module) -> None:
    """Every ``Conv2d`` directly followed by a ``BatchNorm2d`` in a ``Sequential`` of ``module``, in place.

    The conv becomes the folded conv and the BN an ``nn.Identity`` (state-dict keys change, so
    fold only a model loaded for inference). ``module`` is put in eval mode first: folding uses
    the running statistics, which is what eval mode computes with.
    """
    module.eval()
    for sequential in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        names = list(sequential._modules)
        for conv_name, bn_name in zip(names, names[1:]):
            conv, bn = sequential._modules[conv_name], sequential._modules[bn_name]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                sequential._modules[conv_name] = fuse_conv_bn_eval(conv, bn)
                sequential._modules[bn_name] = nn.Identity()
