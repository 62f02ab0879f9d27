"""The transfer MLP: concatenated segment features -> genre distribution (SPEC section 4).

    dropout 0.5 -> dense 1024, ELU -> dropout 0.5 -> dense n_genres, softmax

Trained segment-wise on the segments of TRAINING tracks only (the reference code also used
the validation segments, which leaks them into the score); a track's prediction is the mean
of its segments' distributions.

The grid trains one MLP per case, every one on the same segments: the cases differ only in
which feature columns they read. :func:`train_mlps` trains them together and
:func:`segment_probabilities_many` scores them together. The cases of one input width are
stacked along a leading case axis, so a layer of all of them is one ``baddbmm``; each batch of
segments is gathered once for every case; one Adam steps all the stacked weights, and since
Adam is elementwise each case keeps its own moments. A case's random numbers depend on the
seed and its width alone, so a case learns the same weights alone as inside any batch, and
:func:`train_mlp` is the batch of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from agf.classifier.settings import MLPSettings


class TransferMLP(nn.Module):
    """Features ``(B, n_inputs)`` -> genre logits ``(B, n_genres)``; softmax them for probabilities."""

    def __init__(self, n_inputs: int, n_genres: int, *, hidden: int = 1024, dropout: float = 0.5):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(n_inputs, hidden),
            nn.ELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_genres),
        )

    @property
    def n_inputs(self) -> int:
        return self.layers[1].in_features

    @property
    def n_genres(self) -> int:
        return self.layers[4].out_features

    @property
    def hidden(self) -> int:
        return self.layers[1].out_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


@dataclass
class _Stack:
    """The MLPs of the cases of one input width, their weights stacked along a case axis ``K``.

    ``w1 (K, width, hidden)`` and ``w2 (K, hidden, n_genres)`` are the transposes of the
    ``nn.Linear`` weights (so a layer is ``x @ w``), ``b1 (K, 1, hidden)``, ``b2 (K, 1, n_genres)``;
    all on one device. ``cases`` are the cases' positions in the caller's list and ``span``
    their columns in the gathered batch: case ``cases[k]`` reads ``span.start + k * width`` on.
    """

    cases: list[int]
    span: slice
    w1: torch.Tensor
    b1: torch.Tensor
    w2: torch.Tensor
    b2: torch.Tensor

    @property
    def width(self) -> int:
        return self.w1.shape[1]

    @property
    def weights(self) -> list[torch.Tensor]:
        return [self.w1, self.b1, self.w2, self.b2]

    def inputs(self, gathered: torch.Tensor) -> torch.Tensor:
        """This stack's ``(K, B, width)`` view of a gathered batch ``(B, n_columns)``."""
        return gathered[:, self.span].unflatten(1, (len(self.cases), self.width)).transpose(0, 1)

    def mlp(self, k: int, *, dropout: float) -> TransferMLP:
        """Case ``cases[k]`` as a :class:`TransferMLP` of its own (copied weights, on the stack's device)."""
        with torch.device("meta"):  # no initialisation: the weights are assigned next
            mlp = TransferMLP(self.width, self.w2.shape[2], hidden=self.w1.shape[2], dropout=dropout)
        own = {"layers.1.weight": self.w1[k].T, "layers.1.bias": self.b1[k, 0],
               "layers.4.weight": self.w2[k].T, "layers.4.bias": self.b2[k, 0]}
        mlp.load_state_dict({name: w.detach().clone(memory_format=torch.contiguous_format)
                             for name, w in own.items()}, assign=True)
        return mlp


def _by_width(widths: Sequence[int]) -> list[list[int]]:
    """Positions of ``widths`` grouped by value, narrowest first, in order within a group."""
    groups: dict[int, list[int]] = {}
    for k, width in enumerate(widths):
        groups.setdefault(width, []).append(k)
    return [groups[w] for w in sorted(groups)]


def _stack(mlps: Sequence[TransferMLP], cases: list[int], start: int, device: torch.device) -> _Stack:
    """The MLPs ``mlps[k]`` for ``k`` in ``cases`` (all of one width) stacked, their columns from ``start``."""
    chosen = [mlps[k] for k in cases]

    def stacked(layer: int, name: str) -> torch.Tensor:
        weights = [getattr(m.layers[layer], name).detach() for m in chosen]
        return torch.stack([w.T if name == "weight" else w[None] for w in weights]).to(device)

    width = chosen[0].n_inputs
    return _Stack(cases, slice(start, start + len(cases) * width), stacked(1, "weight"), stacked(1, "bias"),
                  stacked(4, "weight"), stacked(4, "bias"))


def _stacks(mlps: Sequence[TransferMLP], columns: Sequence[np.ndarray], n_features: int,
            device: torch.device) -> tuple[list[_Stack], torch.Tensor]:
    """The stacks of ``mlps`` by width, and the one gather index ``(n_columns,) int64`` of all cases.

    Raises:
        ValueError: a case's columns do not fit its MLP or the features, or the MLPs differ in
            hidden or output size.
    """
    if len(mlps) != len(columns) or not mlps:
        raise ValueError(f"need one column list per MLP, and some MLPs; got {len(columns)} and {len(mlps)}")
    if len({(m.hidden, m.n_genres) for m in mlps}) != 1:
        raise ValueError("the MLPs differ in hidden or output size; batch only the cases of one grid")
    for k, (mlp, cols) in enumerate(zip(mlps, columns)):
        if cols.ndim != 1 or len(cols) != mlp.n_inputs:
            raise ValueError(f"case {k}: {cols.shape} columns for an MLP of {mlp.n_inputs} inputs")
        if len(cols) and (cols.min() < 0 or cols.max() >= n_features):
            raise ValueError(f"case {k}: columns outside the {n_features} feature columns")
    stacks, start = [], 0
    for cases in _by_width([m.n_inputs for m in mlps]):
        stacks.append(_stack(mlps, cases, start, device))
        start = stacks[-1].span.stop
    gather = np.concatenate([columns[k] for s in stacks for k in s.cases]).astype(np.int64)
    return stacks, torch.as_tensor(gather, device=device)


def _logits(stack: _Stack, x: torch.Tensor, noise: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Genre logits ``(K, B, n_genres)`` of the stack's inputs ``x (K, B, width)``.

    ``noise`` is the (input, hidden) dropout noise, ``(B, width)`` and ``(B, hidden)`` of 0 and
    ``1 / (1 - p)``, shared by the stack's cases (:func:`_dropout_noise`); None in eval mode.
    """
    if noise is not None:
        x = x * noise[0]
    h = F.elu(torch.baddbmm(stack.b1, x, stack.w1))
    if noise is not None:
        h = h * noise[1]
    return torch.baddbmm(stack.b2, h, stack.w2)


def _dropout_noise(rows: int, width: int, p: float, generator: torch.Generator) -> torch.Tensor:
    """``(rows, width)`` dropout noise on the generator's device: ``1 / (1 - p)`` with probability
    ``1 - p``, else 0, drawn as ATen draws ``nn.Dropout``'s on the CPU (``bernoulli_`` then ``div_``)."""
    noise = torch.empty(rows, width, device=generator.device)
    return noise.bernoulli_(1 - p, generator=generator).div_(1 - p)


def _initial_mlp(width: int, n_genres: int, settings: MLPSettings,
                 device: torch.device) -> tuple[TransferMLP, torch.Generator]:
    """The initial MLP of a case of ``width`` inputs and the generator of its dropout noise.

    Both depend on ``settings.seed`` and ``width`` alone, which is what makes a case's training
    the same alone and in any batch (cases of one width start alike and draw alike, as they did
    when each called ``torch.manual_seed(seed)``). The weights are :class:`TransferMLP`'s own
    initialisation under that seed. On the CPU the noise continues the same stream, so one case
    draws the very masks ``nn.Dropout`` would; on CUDA a CUDA generator seeded alike draws them
    where they are used. The process's global generator is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(settings.seed)  # not torch.manual_seed: that reseeds CUDA too
        mlp = TransferMLP(width, n_genres, hidden=settings.hidden, dropout=settings.dropout)
        after_init = torch.get_rng_state()
    if device.type == "cpu":
        return mlp, torch.Generator().set_state(after_init)
    return mlp, torch.Generator(device).manual_seed(settings.seed)


def _training_losses(stacks: list[_Stack], noise_rngs: list[torch.Generator], gathered: torch.Tensor,
                     target: torch.Tensor, dropout: float) -> torch.Tensor:
    """Every case's mean cross-entropy ``(K_total,)`` over a batch, in train mode, stack by stack.

    ``gathered (B, n_columns)`` is the batch gathered for every case, ``target (B,)`` its
    genres; each stack draws its (input, hidden) dropout noise from its own generator, in the
    order ``nn.Sequential`` would.
    """
    losses = []
    for stack, rng in zip(stacks, noise_rngs):
        rows, hidden = len(target), stack.w1.shape[2]
        noise = None if dropout == 0 else (_dropout_noise(rows, stack.width, dropout, rng),
                                           _dropout_noise(rows, hidden, dropout, rng))
        logits = _logits(stack, stack.inputs(gathered), noise)
        # (K, n_genres, B) against (K, B): each case's mean over the batch, as nn.CrossEntropyLoss
        losses.append(F.cross_entropy(logits.transpose(1, 2), target.expand(len(stack.cases), -1),
                                      reduction="none").mean(dim=1))
    return torch.cat(losses)


def _columns(columns: Sequence[Sequence[int] | np.ndarray]) -> list[np.ndarray]:
    """Each case's column indices as an int64 array."""
    return [np.asarray(cols, dtype=np.int64) for cols in columns]


def train_mlps(features: np.ndarray, labels: np.ndarray, columns: Sequence[Sequence[int] | np.ndarray],
               n_genres: int, settings: MLPSettings, *, device: torch.device | str = "cpu",
               progress: bool = True) -> list[TransferMLP]:
    """Fit one :class:`TransferMLP` per case on the same segments, all in one pass per epoch.

    ``features (n, n_features)`` are every case's feature columns side by side (float16, or
    cast to it), ``labels (n,)`` the segments' genres, ``columns[k]`` the columns case ``k``
    reads, in order (its MLP has ``len(columns[k])`` inputs). Returns the cases' MLPs in
    order, on ``device``, in eval mode.

    Every epoch visits each segment once in one random order for all cases (a torch Generator
    seeded by ``settings.seed``), in mini-batches of ``settings.batch_size``; each case has its
    own cross-entropy, weights, dropout noise and Adam moments, and learns what it would learn
    alone (:func:`_initial_mlp`). The features stay float16 on the device; each batch of rows
    is gathered once and cast to float32, then every case reads its columns from it.

    Memory: the features whole, 2.6 GB per 1,000 columns of FMA-medium's ~1.3 M training
    segments (the paper grid's union of 80 feature blocks, 20,480 columns, is 53 GB: where the
    union does not fit, train the cases in groups, each over the union of its own columns);
    the stacked weights with their gradients and Adam moments, 16 bytes x hidden per input
    column summed over the cases (0.65 GB for the paper grid's 57 cases, 39,680 columns).
    """
    if len(features) != len(labels) or len(features) == 0:
        raise ValueError(f"need as many labels as segments, and some segments; got {len(features)} and {len(labels)}")
    device = torch.device(device)
    columns = _columns(columns)
    starts = {w: _initial_mlp(w, n_genres, settings, device) for w in sorted({len(c) for c in columns})}
    stacks, gather = _stacks([starts[len(c)][0] for c in columns], columns, features.shape[1], device)
    noise_rngs = [starts[s.width][1] for s in stacks]
    params = [w.requires_grad_() for s in stacks for w in s.weights]
    x = torch.as_tensor(np.asarray(features, dtype=np.float16)).to(device)
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64)).to(device)
    # fused: one pass over each stacked tensor, where the default per-tensor Adam makes about seven
    optimiser = torch.optim.Adam(params, lr=settings.learning_rate, fused=True)
    order_rng = torch.Generator().manual_seed(settings.seed)
    n = len(x)
    bar = tqdm(range(settings.epochs), desc=f"transfer MLP x{len(columns)}", unit="epoch", disable=not progress)
    for _ in bar:
        order = torch.randperm(n, generator=order_rng).to(device)
        total, batches = torch.zeros((), device=device), 0
        for lo in range(0, n, settings.batch_size):
            batch = order[lo:lo + settings.batch_size]
            # rows, then columns: on the CPU ~9x faster than one 2-d index, and rows are contiguous
            gathered = x.index_select(0, batch).float().index_select(1, gather)
            loss = _training_losses(stacks, noise_rngs, gathered, y[batch], settings.dropout)
            optimiser.zero_grad(set_to_none=True)
            loss.sum().backward()  # the cases share no weight, so each gets the gradient of its own loss
            optimiser.step()
            total += loss.detach().mean()
            batches += 1
        bar.set_postfix(loss=f"{float(total) / batches:.4f}")  # one sync per epoch, not per batch
    trained = {case: stack.mlp(k, dropout=settings.dropout).eval() for stack in stacks
               for k, case in enumerate(stack.cases)}
    return [trained[k] for k in range(len(columns))]


def train_mlp(features: np.ndarray, labels: np.ndarray, n_genres: int, settings: MLPSettings = MLPSettings(), *,
              device: torch.device | str = "cpu", progress: bool = True) -> TransferMLP:
    """Fit a :class:`TransferMLP` on segments ``features (n, n_inputs)``: :func:`train_mlps` of one case."""
    return train_mlps(features, labels, [np.arange(features.shape[1])], n_genres, settings, device=device,
                      progress=progress)[0]


@torch.inference_mode()
def segment_probabilities_many(mlps: Sequence[TransferMLP], features: np.ndarray,
                               columns: Sequence[Sequence[int] | np.ndarray], *, batch_size: int = 4096,
                               device: torch.device | str = "cpu") -> list[np.ndarray]:
    """Every case's softmax outputs over the same segments, in one pass over ``features``, eval mode.

    ``features (n, n_features)`` as for :func:`train_mlps`, ``columns[k]`` the columns of
    ``mlps[k]``; returns one ``(n, n_genres)`` float64 array per case. A pass holds
    ``batch_size`` segments' gathered columns and one width's hidden activations on ``device``.
    """
    device = torch.device(device)
    columns = _columns(columns)
    stacks, gather = _stacks(mlps, columns, features.shape[1], device)
    out: list[list[np.ndarray]] = [[] for _ in mlps]
    for lo in range(0, len(features), batch_size):
        rows = torch.as_tensor(np.asarray(features[lo:lo + batch_size])).to(device)
        gathered = rows.float().index_select(1, gather)
        for stack in stacks:
            probs = torch.softmax(_logits(stack, stack.inputs(gathered)), dim=-1).double().cpu().numpy()
            for k, case in enumerate(stack.cases):
                out[case].append(probs[k])
    return [np.concatenate(o) if o else np.zeros((0, m.n_genres)) for o, m in zip(out, mlps)]


def segment_probabilities(model: TransferMLP, features: np.ndarray, *, batch_size: int = 4096,
                          device: torch.device | str = "cpu") -> np.ndarray:
    """Softmax outputs ``(n, n_genres)`` float64 of segments ``features (n, n_inputs)``: the one-case
    :func:`segment_probabilities_many`."""
    if features.shape[1] != model.n_inputs:
        raise ValueError(f"{features.shape[1]}-d features for an MLP of {model.n_inputs} inputs")
    return segment_probabilities_many([model], features, [np.arange(model.n_inputs)], batch_size=batch_size,
                                      device=device)[0]


def track_means(segment_probs: np.ndarray, track: np.ndarray, n_tracks: int) -> np.ndarray:
    """Mean of each track's segment distributions: ``(n_tracks, n_genres)`` from ``(n, n_genres)``.

    ``track[i]`` is the track index of segment ``i``; every track must have a segment.
    """
    counts = np.bincount(track, minlength=n_tracks)
    if (counts == 0).any():
        raise ValueError(f"{int((counts == 0).sum())} tracks have no segments")
    sums = np.zeros((n_tracks, segment_probs.shape[1]))
    np.add.at(sums, track, segment_probs)
    return sums / counts[:, None]
