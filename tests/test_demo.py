"""`agf demo`: the demo preset scores at least 60 validation tracks and the command ends with a usable
`agf predict` line. (Its 3-minute budget is measured by running `agf demo`, not in a test.)"""

from pathlib import Path

from agf.cli import main
from agf.data.splits import assign_splits
from agf.data.tables import load_tracks
from agf.datasets.synthetic import SyntheticSettings
from agf.datasets.synthetic.plan import track_infos
from agf.datasets.tracks import Track
from agf.experiments import runner
from agf.experiments.presets import DEMO_SOURCE, DEMO_TASKS, PRESETS


def test_the_demo_dataset_has_at_least_60_validation_tracks_in_every_genre_split():
    n_tracks = int(DEMO_SOURCE.split(":")[1])
    infos = track_infos(SyntheticSettings(n_tracks=n_tracks, seed=PRESETS["demo"].seed))
    tracks = [Track(i.track_id, Path(i.path), i.genre, i.artist, i.subgenres) for i in infos]
    splits = assign_splits(tracks, strategy="artist", seed=PRESETS["demo"].seed)
    valid = [t for t in tracks if splits[t.track_id] == "valid"]
    assert len(valid) >= 60
    assert {t.genre for t in valid} == {t.genre for t in tracks}  # every genre is scored
    assert not {t.artist for t in valid} & {t.artist for t in tracks if splits[t.track_id] == "train"}


def test_demo_runs_the_demo_grid_and_prints_a_predict_command(small_workdir, monkeypatch, capsys):
    workdir, _ = small_workdir
    calls = []
    monkeypatch.setattr(runner, "run_experiment", lambda *args, **kwargs: calls.append((args, kwargs)))
    assert main(["demo", "--workdir", str(workdir), "--no-progress"]) == 0
    (args, kwargs), = calls
    assert args == (DEMO_SOURCE, workdir) and kwargs["tasks"] == DEMO_TASKS
    assert kwargs["preset"] == PRESETS["demo"] and kwargs["progress"] is False
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"report: {workdir / 'report.html'}" and out[1] == f"bundle: {workdir / 'bundle'}"
    command = out[-1].split()
    assert command[:3] == ["agf", "predict", "--workdir"] and command[3] == str(workdir)
    tracks = load_tracks(workdir).set_index("path")
    assert Path(command[4]).exists() and tracks.loc[command[4], "split"] == "valid"
