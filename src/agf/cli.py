"""The ``agf`` command line: one sub-command per pipeline stage.

Each stage module exposes ``configure(parser)`` (its arguments) and ``run(args) -> int``;
this file only wires them together and turns user errors into one clear line.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from agf import __version__
from agf.errors import AgfError
from agf.runtime import keep_freed_memory

COMMANDS = {
    "prepare": ("agf.data.command", "decode a dataset into the spectrogram store"),
    "factors": ("agf.factors.command", "build the artist-group-factor targets (m, d, e, s)"),
    "train": ("agf.training.command", "train STN / MTN / wSTN networks"),
    "transfer": ("agf.transfer.command", "train the transfer MLP on the networks' features"),
    "evaluate": ("agf.evaluation.command", "score a transfer model on the validation tracks"),
    "predict": ("agf.transfer.predict", "classify audio files with a model bundle"),
    "experiment": ("agf.experiments.command", "run the paper's experiment grid"),
    "demo": ("agf.experiments.demo", "run the main job on the built-in synthetic dataset"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agf", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"agf {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if importlib.util.find_spec(module_name) is None:
            continue  # a stage not yet part of this build
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip().splitlines()[0])
        module.configure(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    keep_freed_memory()
    try:
        return int(args.run(args) or 0)
    except AgfError as err:
        print(f"agf {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"agf {args.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
