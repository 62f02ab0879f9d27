"""A look at one task's artist groups: a genre x group heat map and each group's top genres and artists."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def genre_group_matrix(genres: np.ndarray, targets: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(genre names, ``(n_genres, n_groups)``): the mean target of each genre's training tracks.

    Each row sums to 1: how a genre's tracks spread over the artist groups.
    """
    names = sorted(set(genres.tolist()))
    matrix = np.stack([targets[genres == g].mean(axis=0) for g in names]) if names else np.zeros((0, targets.shape[1]))
    return names, matrix


def write_report(folder: Path, task: str, *, genres: np.ndarray, targets: np.ndarray, artists: list[str],
                 artist_groups: np.ndarray, artist_tracks: np.ndarray, top: int = 3) -> None:
    """Write ``report.png`` (genre x group heat map) and ``report.md`` (per group: top genres, artists)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    names, matrix = genre_group_matrix(genres, targets)
    n_groups = targets.shape[1]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.25 * n_groups + 2), max(2.5, 0.3 * len(names) + 1.5)))
    image = ax.imshow(matrix, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xticks(range(n_groups), [str(i) for i in range(n_groups)], fontsize=6)
    ax.set_xlabel("artist group")
    ax.set_ylabel("genre")
    ax.set_title(f"task {task}: mean soft target of each genre's training tracks")
    fig.colorbar(image, ax=ax, label="share")
    fig.tight_layout()
    fig.savefig(folder / "report.png", dpi=120)
    plt.close(fig)

    # genre shares within a group: which genres' tracks carry the group's mass
    mass = np.stack([targets[genres == g].sum(axis=0) for g in names]) if names else np.zeros((0, n_groups))
    group_mass = mass.sum(axis=0)
    # artists weighted by their track count: an artist of 20 tracks matters more than one of 1
    artist_mass = artist_groups * np.asarray(artist_tracks, float)[:, None]
    lines = [f"# Artist groups of task {task}", "",
             f"{len(targets)} training tracks, {len(artists)} artists, {n_groups} groups. "
             "Mass = sum of the group's share over training tracks.", "",
             "| group | mass | top genres (share of the group's mass) | top artists (tracks) |",
             "|---:|---:|---|---|"]
    for g in np.argsort(-group_mass):
        total = group_mass[g]
        top_genres = ", ".join(f"{names[i]} {mass[i, g] / total:.0%}" for i in np.argsort(-mass[:, g])[:top]
                               if total > 0 and mass[i, g] > 0)
        top_artists = ", ".join(f"{artists[i]} ({int(artist_tracks[i])})" for i in np.argsort(-artist_mass[:, g])[:top]
                                if artist_mass[i, g] > 1e-3)
        lines.append(f"| {g} | {total:.1f} | {top_genres or '-'} | {(top_artists or '-').replace('|', '/')} |")
    (folder / "report.md").write_text("\n".join(lines) + "\n")
