"""The DCNN's max-pool: :class:`torch.nn.MaxPool2d` with its CPU forward made fast, same numbers.

PyTorch's CPU ``max_pool2d`` on NCHW tensors is a scalar loop per output: on the DCNN's
activations it takes 5-20x longer than the elementwise ``torch.maximum`` of the window's
strided views, and was ~20 % of a CPU training step. It also computes the argmax indices
when nothing will use them (inference). Its backward, a scatter of the gradient to the saved
indices, is fast, and so is its channels-last kernel when the indices are needed. So, on CPU:

- no gradient recorded (inference), any layout: :func:`window_max`, the maximum of the
  window's ``kh*kw`` strided views (4x faster than channels-last ``max_pool2d`` at the stem).
- training, NCHW, windows one column wide (the stem's (2, 1)): :func:`column_window_max`
  reads the contiguous ``(B, C, H, W)`` as the channels-last ``(B*C, W, H, 1)`` it already is
  in memory, so PyTorch's vectorised channels-last kernel pools it, forward and backward.
- training, NCHW, wider windows (the trunk's 2x2): :class:`WindowMax`, :func:`window_max`
  plus each window's first maximal element in row-major order (PyTorch's rule for ties,
  frequent after an ELU saturates at -1) as the indices of PyTorch's own backward.
- anything else (training in channels-last, CUDA): ``nn.MaxPool2d``'s own path, fast there.

All equal ``nn.MaxPool2d`` exactly, values and gradients, ties included (tests/test_models.py).
The one difference is NaN: where a window holds a NaN both give NaN, but the gradient goes
to the window's last element rather than to the NaN's, which only matters once training has
diverged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _windows(x: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """``(B, C, H, W)`` -> the view ``(B, C, H//kh, kh, W//kw, kw)``; the floored remainder is left out."""
    ho, wo = x.shape[-2] // kh, x.shape[-1] // kw
    return x[..., : ho * kh, : wo * kw].unflatten(3, (wo, kw)).unflatten(2, (ho, kh))


def column_window_max(x: torch.Tensor, kh: int) -> torch.Tensor:
    """Max over ``(kh, 1)`` windows, stride ``(kh, 1)``: ``(B, C, H, W)`` contiguous -> ``(B, C, H//kh, W)``.

    The channels-last reading makes W the vectorised "channel" axis; autograd runs
    PyTorch's own (channels-last) backward.
    """
    b, c, h, w = x.shape
    rows = x.view(b * c, h, 1, w).permute(0, 3, 1, 2)  # (B*C, W, H, 1) channels-last: the same memory
    pooled = F.max_pool2d(rows, (kh, 1))  # floors H as nn.MaxPool2d does
    return pooled.permute(0, 2, 3, 1).reshape(b, c, h // kh, w)


def window_max(x: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """Max over ``(kh, kw)`` windows with stride ``(kh, kw)``: ``(B, C, H, W)`` -> ``(B, C, H//kh, W//kw)``.

    ``kh*kw - 1`` elementwise maxima of the windows' strided views; not differentiable
    (:class:`WindowMax` is).
    """
    win = _windows(x, kh, kw)
    # rows first: those maxima read whole rows, which vectorise; the max itself is order-free
    rows = win[:, :, :, 0]
    for i in range(1, kh):
        rows = torch.maximum(rows, win[:, :, :, i])
    out = rows[..., 0]
    for j in range(1, kw):
        out = torch.maximum(out, rows[..., j])
    return out


class WindowMax(torch.autograd.Function):
    """:func:`window_max` with ``max_pool2d``'s backward.

    The forward also finds ``max_pool2d``'s argmax indices (:func:`first_max_indices`), as
    ``max_pool2d`` does, so that the backward is PyTorch's own scatter of the gradient to them.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
        out = window_max(x, kh, kw)
        ctx.save_for_backward(x, first_max_indices(x, out, kh, kw))
        ctx.kernel = (kh, kw)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        x, indices = ctx.saved_tensors
        kh, kw = ctx.kernel
        grad_x = torch.ops.aten.max_pool2d_with_indices_backward(
            grad, x, [kh, kw], [kh, kw], [0, 0], [1, 1], False, indices)
        return grad_x, None, None


def first_max_indices(x: torch.Tensor, out: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """``max_pool2d``'s indices: each window's first element (row-major) equal to its max ``out``.

    ``x`` ``(B, C, H, W)``, ``out`` ``(B, C, H//kh, W//kw)`` -> int64 ``(B, C, H//kh, W//kw)``,
    the flat position ``h * W + w`` in x's plane.
    """
    width = x.shape[-1]
    ho, wo = out.shape[-2:]
    win = _windows(x, kh, kw)
    offsets = [i * width + j for i in range(kh) for j in range(kw)]
    slots = [win[:, :, :, i, :, j] for i in range(kh) for j in range(kw)]
    # an offset within the window, accumulated from masks: uint8 arithmetic vectorises where
    # masked_fill and where do not (10x slower on CPU)
    small = torch.uint8 if offsets[-1] < 256 else torch.int32
    offset = torch.zeros(out.shape, dtype=small)
    taken = slots[0] == out
    for slot, step in zip(slots[1:-1], offsets[1:-1]):
        hit = slot == out
        offset.add_(hit & ~taken, alpha=step)
        taken |= hit
    offset.add_(~taken, alpha=offsets[-1])
    corner = torch.arange(ho).mul_(kh * width)[:, None] + torch.arange(wo).mul_(kw)  # each window's (0, 0)
    return corner + offset


class MaxPool(nn.MaxPool2d):
    """``nn.MaxPool2d(kernel_size)`` (stride = kernel, no padding, floored sizes), faster on CPU.

    ``(B, C, H, W)`` -> ``(B, C, H//kh, W//kw)`` in the input's layout, by the paths of the
    module docstring. No parameters: state dicts are those of ``nn.MaxPool2d``.
    """

    def __init__(self, kernel_size: tuple[int, int]):
        super().__init__(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.kernel_size
        if x.device.type != "cpu" or x.ndim != 4:
            return super().forward(x)
        if not (torch.is_grad_enabled() and x.requires_grad):
            return window_max(x, kh, kw)
        if not x.is_contiguous():
            return super().forward(x)
        if kw == 1:
            return column_window_max(x, kh)
        return WindowMax.apply(x, kh, kw)
