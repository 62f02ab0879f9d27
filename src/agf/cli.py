"""The ``agf`` command line: one sub-command per pipeline stage, in ``agf.commands``.

Only the module of the command being run is imported (``agf predict`` never loads Dask or
matplotlib), so each command starts as fast as its own work allows. Every command takes
``--workdir``, ``--device``, ``--seed`` and ``--no-progress``, declared once here. A command that
writes its work directory holds the directory's lock while it runs (a second one stops). A user error
(:class:`~agf.errors.AgfError`) ends in one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from agf import __version__
from agf.errors import AgfError
from agf.locks import hold_workdir
from agf.runtime import keep_freed_memory


@dataclass(frozen=True)
class Command:
    module: str
    summary: str
    workdir: str  # what --workdir means for this command (its help text)
    workdir_required: bool = True
    workdir_default: Path | None = None
    writes: bool = True  # holds the work directory's lock while it runs (agf.locks.hold_workdir)


COMMANDS = {
    "prepare": Command("agf.commands.prepare", "decode a dataset into the spectrogram store",
                       "folder for the store and every later artefact"),
    "factors": Command("agf.commands.factors", "build the artist-group-factor targets (s, e, d, m)",
                       "a work directory made by `agf prepare`"),
    "train": Command("agf.commands.train", "train STN / MTN / wSTN networks", "a work directory made by `agf prepare`"),
    "transfer": Command("agf.commands.transfer", "train the transfer MLP on the networks' features",
                        "a work directory with trained networks"),
    "evaluate": Command("agf.commands.evaluate", "score a transfer model or a bundle on a split's tracks",
                        "the prepared work directory whose tracks to score"),
    "predict": Command("agf.commands.predict", "classify audio files with a model bundle",
                       "use the bundle of this work directory (W/bundle, written by `agf experiment`) "
                       "instead of naming a bundle", workdir_required=False, writes=False),
    "experiment": Command("agf.commands.experiment", "run the paper's experiment grid", "the grid's work directory"),
    "demo": Command("agf.commands.demo", "run the main job on the built-in synthetic dataset",
                    "the demo's work directory (default: ./agf-demo)", workdir_required=False,
                    workdir_default=Path("agf-demo")),
}


def add_common_options(parser: argparse.ArgumentParser, command: Command) -> None:
    """The four options every command takes, with one meaning everywhere."""
    common = parser.add_argument_group("common options")
    common.add_argument("--workdir", type=Path, required=command.workdir_required, default=command.workdir_default,
                        help=command.workdir)
    common.add_argument("--device", default="auto",
                        help="torch device: auto (CUDA when available, else CPU), cpu, cuda or cuda:N")
    common.add_argument("--seed", type=int, default=0,
                        help="seed of every random draw the command makes (splits, initial weights, sampling); "
                             "default 0")
    common.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")


def _chosen(argv: list[str]) -> str | None:
    """The sub-command named on the command line (the first word that is one), if any."""
    return next((word for word in argv if word in COMMANDS), None)


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """The parser, with the arguments of the chosen command only (its module is imported, the others are not)."""
    parser = argparse.ArgumentParser(prog="agf", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"agf {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen(argv)
    for name, command in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=command.summary, description=command.summary)
        if name == chosen:
            module = importlib.import_module(command.module)
            sub_parser.description = (module.__doc__ or command.summary).strip()
            sub_parser.formatter_class = argparse.RawDescriptionHelpFormatter
            module.configure(sub_parser)
            add_common_options(sub_parser, command)
            sub_parser.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _chosen(argv)
    # a warning is a message to the user, one line like the errors, not a pointer into agf's source
    warnings.showwarning = lambda message, *_, **__: print(f"agf {command}: warning: {message}", file=sys.stderr)
    try:
        args = build_parser(argv).parse_args(argv)  # an option's type may refuse its value with an AgfError
        keep_freed_memory()
        with hold_workdir(args.workdir, f"agf {command}") if COMMANDS[command].writes else nullcontext():
            return int(args.run(args) or 0)
    except AgfError as err:
        print(f"agf {command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"agf {command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
