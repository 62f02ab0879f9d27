"""The package's shape: data flows one way through the stages, and each command imports only what it needs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import agf

PACKAGE = Path(agf.__file__).parent
# the stages in the order data flows through them (docs/architecture.md); a module may import
# the foundation and its own or an earlier stage, never a later one
STAGES = ("audio", "datasets", "data", "factors", "models", "training", "evaluation", "classifier", "experiments",
          "commands")
FOUNDATION = ("errors", "atomic", "settings", "tasks", "workdir", "provenance", "device", "runtime", "locks", "lazy", "timing")
ENTRY = ("__init__", "__main__", "cli")  # the package's face and the command line: above every stage


def _room(module: str) -> str:
    """The stage, foundation module or entry point a dotted ``agf.*`` module name belongs to."""
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every ``agf`` import in the file, those inside functions included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "agf":
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "agf"]
    return found


def _rank(room: str) -> int:
    if room in FOUNDATION:
        return -1
    if room in STAGES:
        return STAGES.index(room)
    assert room in ENTRY, f"{room!r} is in no stage: add it to STAGES or FOUNDATION here and to docs/architecture.md"
    return len(STAGES)


def test_every_module_imports_only_its_own_or_an_earlier_stage():
    backward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        room = rel.parts[0].removesuffix(".py")
        for line, module in _imports(path):
            target = _room(module)
            if target == "__init__" and module == "agf":
                continue  # ``from agf import __version__``: the package's face defines nothing else eagerly
            if _rank(target) > _rank(room) or (room in FOUNDATION and target not in FOUNDATION):
                backward.append(f"{rel}:{line} ({room}) imports {module} ({target})")
    assert not backward, "imports against the stage order:\n" + "\n".join(backward)


def test_the_stage_list_names_every_package_and_module():
    rooms = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert rooms == set(STAGES) | set(FOUNDATION) | set(ENTRY)


def test_architecture_doc_draws_the_stages_in_order():
    doc = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text()
    diagram = doc.split("```")[1].splitlines()  # the first drawing: the latest stage on top
    rows = [next((i for i, line in enumerate(diagram) if f"{stage}/" in line), None) for stage in STAGES]
    assert None not in rows, f"docs/architecture.md's diagram must name every stage: {dict(zip(STAGES, rows))}"
    assert rows == sorted(rows, reverse=True), "docs/architecture.md must draw the stages in data-flow order"
    for room in FOUNDATION:
        assert room in diagram[-1], f"the diagram's foundation line must name {room}"


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code`` (whatever the code prints)."""
    probe = f"import sys\n{code}\nprint('MODULES', *sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    return set(out.rsplit("MODULES", 1)[1].split())


def _help(command: str) -> set[str]:
    return _modules_after(f"from agf.cli import main\ntry:\n    main([{command!r}, '--help'])\nexcept SystemExit:\n    pass")


def test_predict_help_loads_neither_dask_nor_matplotlib_nor_torch():
    loaded = _help("predict")
    assert "agf.commands.predict" in loaded
    for heavy in ("dask", "distributed", "matplotlib", "torch", "agf.commands.experiment"):
        assert heavy not in loaded, f"`agf predict --help` imported {heavy}"


def test_a_one_file_predict_loads_neither_dask_nor_matplotlib(tmp_path):
    loaded = _modules_after(f"from agf.cli import main\nmain(['predict', {str(tmp_path / 'no-bundle')!r}, 'x.mp3'])")
    assert "agf.classifier.predict" in loaded  # it ran as far as opening the bundle
    for heavy in ("dask", "distributed", "matplotlib", "sklearn", "essentia"):
        assert heavy not in loaded, f"`agf predict` imported {heavy}"


def test_every_command_helps_without_its_stage():
    for command in ("prepare", "factors", "train", "transfer", "evaluate", "experiment", "demo"):
        assert not {"torch", "dask", "matplotlib"} & _help(command), command


def test_import_agf_is_light_and_the_api_resolves_on_use():
    loaded = _modules_after("import agf")
    assert not any(m.startswith(("torch", "numpy")) for m in loaded)
    assert {m for m in loaded if m.startswith("agf")} == {"agf", "agf.lazy"}
    for name in ("prepare", "build_factors", "train", "transfer", "evaluate", "run_experiment", "predict"):
        assert callable(getattr(agf, name)) and getattr(agf, name).__doc__, name
    assert set(agf.__all__) >= {"prepare", "build_factors", "train", "transfer", "evaluate", "run_experiment", "predict"}
