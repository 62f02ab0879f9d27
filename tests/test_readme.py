"""The README's Python example runs as written (docs that match behaviour)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_python_example_runs_as_written(tmp_path, monkeypatch, capsys):
    section = README.read_text().split("## From Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {})
    out = capsys.readouterr().out
    assert re.search(r"\d+ tracks  log loss \d", out), out  # the evaluation line
    assert "agf-example/source/audio/syn00000.flac: " in out and "segments" in out  # the prediction line
    assert (tmp_path / "agf-example-bundle" / "bundle.json").is_file()
