"""Experiment presets: the paper's schedule, and a quick one for a laptop-sized check."""

from __future__ import annotations

from dataclasses import dataclass

from agf.settings import Interval, Settings


@dataclass(frozen=True)
class Preset(Settings):
    """Every schedule setting of a grid run (saved with its results).

    ``epochs`` is per STN; a k-task MTN trains ``k * epochs`` so each branch sees as many
    updates as its STN, and a wSTN trains ``epochs`` (it is one genre network). ``hop`` is
    the frames between segment starts of the transfer features (21: the paper's 50 % overlap).
    """

    name: str
    epochs: int
    mlp_epochs: int
    clusters: int
    groups: int = 40
    hop: int = 21
    seed: int = 0

    constraints = {
        "epochs": Interval(int, 1),
        "mlp_epochs": Interval(int, 1),
        "clusters": Interval(int, 1),
        "groups": Interval(int, 1),
        "hop": Interval(int, 1),
        "seed": Interval(int, 0),
    }


PRESETS = {
    # Kim et al. 2018: 200 epochs per STN (1000 for the 5-task MTN), 50 for the MLP, K = 2048
    "paper": Preset("paper", epochs=200, mlp_epochs=50, clusters=2048),
    # a check of the whole pipeline: the g/e/d/m grid on the 209 GTZAN clips of
    # ../shared/data/gtzan3 takes 24 minutes on 2 CPU cores (docs/results/gtzan3-quick).
    # The MLP's 50 epochs and hop 43 won the validation sweep of bench/tune_quick.py among the
    # 12-epoch schedules (docs/results/tuning-quick.md)
    "quick": Preset("quick", epochs=12, mlp_epochs=50, clusters=256, hop=43),
    # `agf demo`: the method in under 3 minutes on 2 CPU cores, all stages included. Sized by the
    # time of each stage (W/timings.csv): 400 synthetic tracks give 60 validation tracks under the
    # artist split, and g and m (the MFCC artist groups: k-means + LDA) as STNs and an MTN make
    # 3 networks and 4 cases; 8 epochs and 20 MLP epochs fit the budget
    "demo": Preset("demo", epochs=8, mlp_epochs=20, clusters=64, hop=43),
}
DEMO_SOURCE = "synthetic:400"
DEMO_TASKS = "gm"
