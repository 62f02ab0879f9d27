"""The transfer MLP: concatenated segment features -> genre distribution (SPEC section 4).

    dropout 0.5 -> dense 1024, ELU -> dropout 0.5 -> dense n_genres, softmax

Trained segment-wise on the segments of TRAINING tracks only (the reference code also used
the validation segments, which leaks them into the score); a track's prediction is the mean
of its segments' distributions.
"""

from __future__ import annotations

import numpy as np
import torch
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


def train_mlp(features: np.ndarray, labels: np.ndarray, n_genres: int, settings: MLPSettings = MLPSettings(), *,
              device: torch.device | str = "cpu", progress: bool = True) -> TransferMLP:
    """Fit a :class:`TransferMLP` on segments ``features (n, n_inputs)`` with genre ``labels (n,)``.

    Every epoch visits each segment once in a fresh random order (torch Generator seeded by
    ``settings.seed``), in mini-batches of ``settings.batch_size``, cross-entropy, Adam.
    The features stay float16 on the device and are cast per batch (memory: FMA-medium's
    ~1.3 M training segments x 1,280 dims is 3.3 GB).
    """
    if len(features) != len(labels) or len(features) == 0:
        raise ValueError(f"need as many labels as segments, and some segments; got {len(features)} and {len(labels)}")
    device = torch.device(device)
    torch.manual_seed(settings.seed)  # the layers' initial weights
    model = TransferMLP(features.shape[1], n_genres, hidden=settings.hidden, dropout=settings.dropout).to(device)
    x = torch.as_tensor(np.asarray(features, dtype=np.float16)).to(device)
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64)).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    order_rng = torch.Generator().manual_seed(settings.seed)
    n = len(x)
    model.train()
    bar = tqdm(range(settings.epochs), desc="transfer MLP", unit="epoch", disable=not progress)
    for _ in bar:
        order = torch.randperm(n, generator=order_rng).to(device)
        total, batches = torch.zeros((), device=device), 0
        for lo in range(0, n, settings.batch_size):
            batch = order[lo:lo + settings.batch_size]
            loss = loss_fn(model(x[batch].float()), y[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.detach()
            batches += 1
        bar.set_postfix(loss=f"{float(total) / batches:.4f}")  # one sync per epoch, not per batch
    model.eval()
    return model


@torch.inference_mode()
def segment_probabilities(model: TransferMLP, features: np.ndarray, *, batch_size: int = 4096,
                          device: torch.device | str = "cpu") -> np.ndarray:
    """Softmax outputs ``(n, n_genres)`` float64 of segments ``features (n, n_inputs)``, eval mode."""
    model.eval()
    out = []
    for lo in range(0, len(features), batch_size):
        x = torch.as_tensor(np.asarray(features[lo:lo + batch_size], dtype=np.float32)).to(device)
        out.append(torch.softmax(model(x).float(), dim=1).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.n_genres))


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
