"""--label-noise: exactly the asked share of training labels changes, and nothing outside training."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from agf.cli import main
from agf.data.noise import add_label_noise
from agf.data.settings import DatasetSettings
from agf.settings import ensure_settings, load_settings
from agf.training.settings import TrainSettings


def _table(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"track_id": [f"t{i}" for i in range(n)],
                         "genre": rng.choice(["blues", "jazz", "pop", "rock"], n),
                         "split": rng.choice(["train", "train", "train", "valid", "test"], n)})


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.4, 0.999])
def test_exactly_the_asked_share_of_training_labels_changes(fraction):
    clean = _table()
    noisy = add_label_noise(clean, fraction, seed=3)
    train = clean["split"] == "train"
    changed = noisy["genre"] != clean["genre"]
    assert changed[train].sum() == round(fraction * train.sum())  # each chosen track gets another genre
    assert not changed[~train].any()  # validation and test keep the truth
    assert set(noisy["genre"]) <= set(clean["genre"])
    assert (noisy.drop(columns="genre") == clean.drop(columns="genre")).all().all()
    assert clean.equals(_table())  # the input is not modified
    assert add_label_noise(clean, fraction, seed=3).equals(noisy)  # seeded
    if fraction:
        assert not add_label_noise(clean, fraction, seed=4).equals(noisy)


@pytest.mark.parametrize("value", ["1.0", "-0.1", "nan"])
def test_a_share_outside_0_1_is_refused_before_any_work(value, tmp_path, capsys):
    (tmp_path / "tracks.csv").write_text("path,genre,artist\na.wav,rock,A\n")
    argv = ["prepare", str(tmp_path / "tracks.csv"), "--workdir", str(tmp_path / "W"), "--label-noise", value]
    assert main(argv) == 2
    assert "label noise must be a number in [0, 1)" in capsys.readouterr().err
    assert not (tmp_path / "W").exists()


def test_prepare_relabels_training_tracks_only(shared_data, link_manifest, tmp_path):
    excerpts = sorted((shared_data / "gtzan10_excerpts/audio").glob("*.wav"))[::6][:40]
    rows = [{"path": f"audio/{p.name}", "genre": p.name.split(".")[0], "artist": p.name[:-4]} for p in excerpts]
    csv = link_manifest(tmp_path / "D", rows, {f"audio/{p.name}": p for p in excerpts})
    for name, noise in (("clean", "0"), ("noisy", "0.5")):
        assert main(["prepare", str(csv), "--workdir", str(tmp_path / name), "--label-noise", noise,
                     "--no-progress", "--jobs", "1"]) == 0
    clean = pd.read_csv(tmp_path / "clean/tracks.csv").set_index("track_id")
    noisy = pd.read_csv(tmp_path / "noisy/tracks.csv").set_index("track_id")
    assert (clean["split"] == noisy["split"]).all()  # the split is drawn from the true genres
    train = clean["split"] == "train"
    changed = clean["genre"] != noisy["genre"]
    assert changed[train].sum() == round(0.5 * train.sum()) and not changed[~train].any()
    assert json.loads((tmp_path / "noisy/dataset.json").read_text())["settings"]["label_noise"] == 0.5


def test_settings_saved_before_a_setting_existed_read_as_they_were_made(tmp_path):
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"kind": "DatasetSettings", "settings": {"source": "s", "split": "artist",
                                                                        "valid_fraction": 0.15, "seed": 0}}))
    # no label noise then, and a two-way split: the same as label_noise 0 and test_fraction 0
    ensure_settings(DatasetSettings("s", test_fraction=0.0), path)
    with pytest.raises(Exception, match="test_fraction: saved 0.0, asked 0.15"):
        ensure_settings(DatasetSettings("s"), path)
    run = tmp_path / "settings.json"
    run.write_text(json.dumps({"kind": "TrainSettings", "settings": {"arch": "stn", "tasks": ["g"]}}))
    assert load_settings(TrainSettings, run).level == "absolute"  # the networks' input of older runs
    with pytest.raises(Exception, match="level: saved 'absolute', asked 'segment'"):
        ensure_settings(TrainSettings("stn", ("g",)), run)
