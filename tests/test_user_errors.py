"""Every check a user can trip ends in one line on stderr and exit status 2, before anything is written."""

from __future__ import annotations

import pandas as pd
import pytest

from agf.cli import main
from agf.data.settings import DatasetSettings
from agf.errors import SettingsError
from agf.training.settings import TrainSettings


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_too_few_synthetic_tracks_is_one_line_and_leaves_no_work_directory(tmp_path, capsys):
    assert main(["prepare", "synthetic:3", "--workdir", str(tmp_path / "w"), "--no-progress"]) == 2
    err = _error(capsys)
    assert err.startswith("agf prepare: error:") and "n tracks" in err and "3" in err
    assert not (tmp_path / "w").exists()


def test_a_mistyped_source_stamps_nothing_and_the_corrected_rerun_works(tmp_path, capsys):
    work = tmp_path / "w"
    assert main(["prepare", str(tmp_path / "no-such.csv"), "--workdir", str(work), "--no-progress"]) == 2
    assert "no such manifest file" in _error(capsys)
    assert not (work / "dataset.json").exists()
    assert main(["prepare", "fma:only-one-part", "--workdir", str(work), "--no-progress"]) == 2
    assert "fma:METADATA_DIR:AUDIO_DIR" in _error(capsys)
    assert not (work / "dataset.json").exists()


def test_source_split_without_a_split_column_is_refused_before_decoding(tmp_path, capsys):
    (tmp_path / "ds").mkdir()
    pd.DataFrame([{"path": "a.wav", "genre": "rock", "artist": "x"}]).to_csv(tmp_path / "ds/tracks.csv", index=False)
    work = tmp_path / "w"
    assert main(["prepare", str(tmp_path / "ds/tracks.csv"), "--workdir", str(work), "--split", "source",
                 "--no-progress"]) == 2
    assert "has no split of its own" in _error(capsys)
    assert not (work / "dataset.json").exists() and not (work / "store").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["prepare", "synthetic:24", "--valid-fraction", "1.5"], "valid fraction must be a number in (0, 1)"),
    (["prepare", "synthetic:24", "--split", "albums"], "split must be one of 'artist', 'random', 'source'"),
    (["prepare", "synthetic:24", "--valid-fraction", "0.5", "--test-fraction", "0.5"], "--test-fraction"),
    (["prepare", "synthetic:24", "--label-noise", "1"], "label noise must be a number in [0, 1), got 1.0"),
    (["experiment", "synthetic:24", "--folds", "1"], "--folds 1: cross-validation needs at least 2 folds"),
    (["experiment", "synthetic:24", "--folds", "3", "--split", "date"], "--folds needs --split artist, album or"),
    (["experiment", "synthetic:24", "--tasks", "xq"], "unknown task(s) 'q', 'x'"),
    (["experiment", "synthetic:24", "--archs", "stn,cnn"], "--archs stn,cnn: choose from stn, mtn"),
    (["experiment", "synthetic:24", "--epochs", "0"], "epochs must be a whole number >= 1, got 0"),
    (["experiment", "synthetic:24", "--workers", "0"], "--workers must be a whole number >= 1"),
    (["factors", "--tasks", "g"], "task(s) 'g' not allowed here"),
])
def test_bad_options_are_one_line_before_any_work(tmp_path, capsys, argv, message):
    work = tmp_path / "w"
    assert main([*argv, "--workdir", str(work), "--no-progress"]) == 2
    assert message in _error(capsys)
    assert not (work / "dataset.json").exists()


def test_settings_check_their_bounds_from_one_table():
    assert DatasetSettings("x").split == "artist"
    with pytest.raises(SettingsError, match=r"valid fraction must be a number in \(0, 1\), got 0"):
        DatasetSettings("x", valid_fraction=0)
    with pytest.raises(SettingsError, match="batch size must be a whole number >= 1, got 2.5"):
        TrainSettings("stn", "g", batch_size=2.5)
    with pytest.raises(SettingsError, match="mtn draw must be one of 'iteration', 'epoch'"):
        TrainSettings("mtn", "gm", mtn_draw="step")


def test_the_grid_takes_the_split_options_of_prepare(tmp_path, capsys):
    """`agf experiment --split/--label-noise` reach prepare: the paper's random split can be run as a grid."""
    assert main(["experiment", "synthetic:12", "--workdir", str(tmp_path / "w"), "--split", "source"]) == 2
    assert "has no split of its own" in capsys.readouterr().err
    assert main(["experiment", "synthetic:12", "--workdir", str(tmp_path / "x"), "--label-noise", "1"]) == 2
    assert "label noise must be a number in [0, 1)" in capsys.readouterr().err
