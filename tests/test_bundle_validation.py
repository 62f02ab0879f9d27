"""Opening a damaged or hostile model bundle: every field of bundle.json checked, each refusal one line.

One real bundle (networks trained for an epoch on 15 GTZAN clips, a 2-epoch MLP) is written once;
each test tampers with a copy of it the way a hand edit, a bad tool or a hostile author would.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from agf.classifier.bundle import BundleError, load_bundle
from agf.classifier.networks import run_fingerprint
from agf.classifier.predict import Predictor
from agf.cli import main


def tampered(bundle: Path, folder: Path, edit=None, *, mlp_record=None) -> Path:
    """A copy of ``bundle`` in ``folder`` with ``edit(meta)`` applied to its bundle.json; ``mlp_record(record)``
    edits the training record inside mlp.safetensors the same way (a consistent forgery of both)."""
    target = folder / f"tampered-{len(list(folder.glob('tampered-*')))}.agf"
    shutil.copytree(bundle, target)
    if edit is not None:
        meta = json.loads((target / "bundle.json").read_text())
        edit(meta)
        (target / "bundle.json").write_text(json.dumps(meta))
    if mlp_record is not None:
        rewrite_mlp(target, mlp_record)
    return target


def rewrite_mlp(bundle: Path, edit_record, edit_tensors=None) -> None:
    """Rewrite mlp.safetensors with ``edit_record(record)`` (return None to drop the record) and ``edit_tensors``."""
    file = bundle / "mlp.safetensors"
    with safe_open(file, framework="pt") as f:
        record = json.loads(f.metadata()["agf"])
    tensors = load_file(file)
    if edit_tensors is not None:
        edit_tensors(tensors)
    record = edit_record(record)
    file.unlink()
    save_file(tensors, file, metadata=None if record is None else {"agf": json.dumps(record)})


def refused(path: Path, match: str) -> str:
    """The one-line BundleError of opening ``path``; it must name bundle.json's folder and match ``match``."""
    with pytest.raises(BundleError, match=match) as info:
        load_bundle(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def edit(path: str, value):
    """An edit setting the bundle.json field at dotted ``path`` (list items by index) to ``value``."""
    def apply(meta):
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node = meta
        for p in parents:
            node = node[p]
        node[last] = value
    return apply


def test_the_untouched_bundle_opens(bundle):
    opened = load_bundle(bundle)
    assert opened.model.genres == ("classical", "jazz", "rock") and opened.model.hop == 21


@pytest.mark.parametrize("hop", [0, -21, 44, 1000, 21.0, "21", True, None])
def test_a_hop_outside_one_segment_is_refused(bundle, tmp_path, hop):
    """hop 0 used to make `agf predict` loop forever while its memory grew (6.8 GB before it was killed)."""
    message = refused(tampered(bundle, tmp_path, edit("hop", hop)), "hop must be a whole number of frames from 1 to 43")
    assert "bundle.json" in message


def test_a_hop_other_than_the_mlps_is_refused(bundle, tmp_path):
    refused(tampered(bundle, tmp_path, edit("hop", 10)), "hop is 10, but the MLP was trained on segments 21 frames")
    # the same hop forged in the MLP's settings too: the record in the weights file still says 21
    both = tampered(bundle, tmp_path, lambda m: (edit("hop", 10)(m), edit("mlp.settings.hop", 10)(m)))
    refused(both, r"hop differs from what the MLP in mlp.safetensors was trained with \(21\)")


@pytest.mark.parametrize("genres, match", [
    (["jazz", "classical", "rock"], "genres are not in agf's class order"),
    (["classical", "classical", "rock"], "genres name 'classical' more than once"),
    (["classical", "jazz", "pop", "rock"], "genres name 4 genres, but the MLP in mlp.safetensors has 3 outputs"),
    (["classical", "rock"], "genres name 2 genres, but the MLP in mlp.safetensors has 3 outputs"),
    # sorted, unique, three of them: only the record in the weights file knows they are not the trained names
    (["blues", "jazz", "rock"], r'genres differs from what the MLP in mlp.safetensors was trained with \(\["clas'),
    ([], "genres must be a list of genre names"),
    (["classical", 3, "rock"], "genres must be a list of genre names"),
    ("classical,jazz,rock", "genres must be a list of genre names"),
])
def test_genre_names_that_would_relabel_predictions_are_refused(bundle, tmp_path, genres, match):
    refused(tampered(bundle, tmp_path, edit("genres", genres)), match)


@pytest.mark.parametrize("field, value, match", [
    # within FrontEndSettings' bounds, so only the record says the networks heard audio at 22,050 Hz
    ("sample_rate", 44100, "front_end.sample_rate is 44100, but the MLP in mlp.safetensors was trained with 22050"),
    ("hop_length", 256, "front_end.hop_length is 256, but the MLP in mlp.safetensors was trained with 512"),
    ("segment_frames", 86, "front_end.segment_frames is 86, but the MLP in mlp.safetensors was trained with 43"),
    ("n_mels", 96, "front_end.n_mels is 96, but networks/stn-gm was trained on 128 mel bins"),
    ("sample_rate", 0, "front_end out of bounds .*sample rate must be"),
    ("sample_rate", 22050.0, "front_end out of bounds .*sample rate must be a whole number"),
    ("fmax", 20000.0, r"front_end out of bounds .*fmax <= sample_rate / 2"),
    ("top_db", "80", "front_end out of bounds .*top db must be a number"),
])
def test_another_front_end_than_the_networks_was_trained_with_is_refused(bundle, tmp_path, field, value, match):
    refused(tampered(bundle, tmp_path, edit(f"front_end.{field}", value)), match)


def test_front_end_keys_must_be_exactly_the_settings(bundle, tmp_path):
    refused(tampered(bundle, tmp_path, lambda m: m["front_end"].pop("sample_rate")), "front_end lacks 'sample_rate'")
    refused(tampered(bundle, tmp_path, edit("front_end.window", "hamming")), "front_end has unknown keys 'window'")


@pytest.mark.parametrize("run", ["..", "../..", "/etc", "stn-gm/../../x", "", ".", 7])
def test_a_network_named_outside_the_networks_folder_is_refused(bundle, tmp_path, run):
    refused(tampered(bundle, tmp_path, edit("networks.0.run", run)), r"networks\[0\].run must be the name of a folder")


def test_symlinks_leading_out_of_the_bundle_are_refused(bundle, tmp_path):
    # an intact copy of the run outside the bundle: the fingerprint matches, only the place is wrong
    outside = tmp_path / "elsewhere" / "stn-gm"
    shutil.copytree(bundle / "networks" / "stn-gm", outside)
    folder_link = tampered(bundle, tmp_path)
    shutil.rmtree(folder_link / "networks" / "stn-gm")
    (folder_link / "networks" / "stn-gm").symlink_to(outside)
    refused(folder_link, r"networks\[0\].run leads outside the bundle")
    file_link = tampered(bundle, tmp_path)
    (file_link / "networks" / "stn-gm" / "weights.safetensors").unlink()
    (file_link / "networks" / "stn-gm" / "weights.safetensors").symlink_to(outside / "weights.safetensors")
    refused(file_link, r"networks\[0\].run leads outside the bundle")
    mlp_link = tampered(bundle, tmp_path)
    shutil.copyfile(bundle / "mlp.safetensors", tmp_path / "mlp.safetensors")
    (mlp_link / "mlp.safetensors").unlink()
    (mlp_link / "mlp.safetensors").symlink_to(tmp_path / "mlp.safetensors")
    refused(mlp_link, "mlp.safetensors leads outside the bundle")
    # a link that stays inside the bundle is fine, and so is a bundle folder reached through a link
    inside = tampered(bundle, tmp_path)
    os.rename(inside / "networks" / "stn-gm", inside / "stn-gm-real")
    (inside / "networks" / "stn-gm").symlink_to(inside / "stn-gm-real")
    (tmp_path / "link.agf").symlink_to(inside)
    assert load_bundle(tmp_path / "link.agf").model.genres == ("classical", "jazz", "rock")


@pytest.mark.parametrize("change, match", [
    (lambda m: m.pop("hop"), "bundle.json lacks 'hop'"),
    (lambda m: m.pop("networks"), "bundle.json lacks 'networks'"),
    (edit("labels", ["a"]), "bundle.json has unknown keys 'labels'"),
    (edit("networks", {"run": "stn-gm"}), "networks must be a non-empty list"),
    (edit("networks", []), "networks must be a non-empty list"),
    (lambda m: m["networks"][1].pop("task"), r"networks\[1\] lacks 'task'"),
    (edit("networks.1.task", "x"), r"networks\[1\].task must be one of g, s, e, d, m"),
    (edit("networks.1.task", "s"), r"networks\[1\].task is 's', but networks/stn-gm has networks for g, m only"),
    (edit("networks.0.fingerprint", None), "damaged"),
    # both networks exist and are intact: swapping them feeds the MLP its features in the wrong order
    (lambda m: m["networks"].reverse(), "networks differs from what the MLP in mlp.safetensors was trained with"),
    (edit("mlp", [512, 1024]), "mlp must be a JSON object"),
    (edit("mlp.n_inputs", "512"), "mlp.n_inputs must be a whole number"),
    (edit("mlp.n_inputs", 256), r"mlp.n_inputs is 256, not 512 \(the width of the networks' features\)"),
    (edit("mlp.hidden", 512), r"mlp.hidden is 512, not 1024 \(mlp.settings.hidden\)"),
    (edit("mlp.settings.dropout", 1.5), "mlp.settings out of bounds .*dropout"),
    (lambda m: m["mlp"]["settings"].pop("seed"), "mlp.settings lacks 'seed'"),
    (edit("agf_version", 1), "agf_version must be a version string"),
    (edit("format_version", True), "format version True"),
    (edit("temperature", 0), "temperature must be a number from 0.05 to 20.0, got 0"),
    (edit("temperature", "1.2"), "temperature must be a number"),
    (lambda m: m.pop("temperature"), "bundle.json lacks 'temperature'"),
    (lambda m: m.update(format_version=3), "has unknown keys 'baseline'"),
    (lambda m: m.update(format_version=2), "has unknown keys 'baseline', 'temperature'"),
    (lambda m: m.pop("baseline"), "bundle.json lacks 'baseline'"),
    (edit("baseline", [1.0]), "baseline must be a JSON object"),
])
def test_missing_extra_and_mistyped_fields_are_refused(bundle, tmp_path, change, match):
    refused(tampered(bundle, tmp_path, change), match)


def test_every_field_replaced_by_junk_gives_a_bundle_error_or_a_working_bundle(bundle, tmp_path):
    """No edit of bundle.json escapes as another exception (KeyError, TypeError, SettingsError, ...)."""
    copy_ = tampered(bundle, tmp_path)
    original = json.loads((bundle / "bundle.json").read_text())

    def leaves(node, prefix=""):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            path = f"{prefix}{key}"
            if isinstance(value, (dict, list)):
                yield from leaves(value, path + ".")
            yield path

    junk = [None, "x", -1, 0, 1.5, True, [], {}, 10**12]
    refusals = 0
    for path in leaves(original):
        for value in junk:
            meta = copy.deepcopy(original)
            edit(path, value)(meta)
            (copy_ / "bundle.json").write_text(json.dumps(meta))
            try:
                load_bundle(copy_)
            except BundleError as err:
                assert "\n" not in str(err)
                refusals += 1
    # only the MLP's training-only settings (epochs, learning rate, ...) and the version strings accept junk
    assert refusals > 0.8 * len(list(leaves(original))) * len(junk)


def test_network_weights_that_do_not_fit_their_declared_architecture_are_refused(bundle, tmp_path):
    """A consistent forgery: new network weights with their fingerprint updated in bundle.json and the record."""
    target = tampered(bundle, tmp_path)
    weights = target / "networks" / "stn-gm" / "weights.safetensors"
    with safe_open(weights, framework="pt") as f:
        metadata = f.metadata()
    tensors = load_file(weights)
    tensors["g.trunk.dense.weight"] = tensors["g.trunk.dense.weight"][:, :100].contiguous()
    weights.unlink()
    save_file(tensors, weights, metadata=metadata)
    fingerprint = run_fingerprint(target / "networks" / "stn-gm")
    meta = json.loads((target / "bundle.json").read_text())
    for net in meta["networks"]:
        net["fingerprint"] = fingerprint
    (target / "bundle.json").write_text(json.dumps(meta))

    def forge(record):
        record["networks"] = meta["networks"]
        return record

    rewrite_mlp(target, forge)
    refused(target, r"networks/stn-gm/weights.safetensors does not hold the networks its settings declare "
                    r"\(RuntimeError: Error\(s\) in loading state_dict")
    # a width in the run's metadata that would allocate a huge network is refused before anything is built
    metadata["agf"] = json.dumps({**json.loads(metadata["agf"]), "width": 1e6})
    tensors = load_file(bundle / "networks" / "stn-gm" / "weights.safetensors")
    weights.unlink()
    save_file(tensors, weights, metadata=metadata)
    fingerprint = run_fingerprint(target / "networks" / "stn-gm")
    for net in meta["networks"]:
        net["fingerprint"] = fingerprint
    (target / "bundle.json").write_text(json.dumps(meta))
    rewrite_mlp(target, forge)
    refused(target, "does not hold the networks its settings declare")


def test_mlp_weights_that_do_not_fit_the_described_mlp_are_refused(bundle, tmp_path):
    target = tampered(bundle, tmp_path, lambda m: (edit("mlp.hidden", 512)(m), edit("mlp.settings.hidden", 512)(m)))
    refused(target, r"mlp.safetensors: tensors .* do not fit the MLP bundle.json describes \(512 inputs, 512 hidden")
    extra = tampered(bundle, tmp_path)
    rewrite_mlp(extra, lambda r: r, lambda t: t.update(layers_9=t["layers.1.bias"].clone()))
    refused(extra, "do not fit the MLP bundle.json describes")


def test_a_bundle_without_the_training_record(bundle, tmp_path):
    """Version 2 records what the MLP was trained with; a version-1 bundle (agf 0.1.0) has no record: it
    opens with the other checks and agf's standard front end, and still refuses reordered genres."""
    stripped = tampered(bundle, tmp_path)
    rewrite_mlp(stripped, lambda r: None)
    refused(stripped, "mlp.safetensors: no record of what the MLP was trained with")
    old = tampered(bundle, tmp_path, lambda m: [m.update(format_version=1), m.pop("temperature"), m.pop("baseline")])
    rewrite_mlp(old, lambda r: None)
    assert load_bundle(old).model.genres == ("classical", "jazz", "rock")
    meta = json.loads((old / "bundle.json").read_text())
    for change, match in [(edit("front_end.sample_rate", 44100), "front_end differs from agf's standard front end"),
                          (edit("genres", ["jazz", "classical", "rock"]), "genres are not in agf's class order"),
                          (edit("hop", 0), "hop must be a whole number")]:
        changed = copy.deepcopy(meta)
        change(changed)
        (old / "bundle.json").write_text(json.dumps(changed))
        refused(old, match)


@pytest.mark.parametrize("change", [edit("hop", 0), edit("genres", ["classical", "classical", "rock"]),
                                    edit("front_end.sample_rate", 44100), edit("networks.0.run", "../../x")])
def test_agf_predict_prints_one_line_and_exits_2(bundle, tmp_path, capsys, change):
    target = tampered(bundle, tmp_path, change)
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"")  # never reached: the bundle is refused first
    assert main(["predict", str(target), str(clip), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("agf predict: error: ") and "\n" not in err and "Traceback" not in err
    assert str(target / "bundle.json") in err


def test_the_predictor_refuses_networks_it_cannot_load_in_one_line(bundle, tmp_path):
    """A Bundle built in Python, bypassing load_bundle's checks, still fails in one line."""
    opened = load_bundle(tampered(bundle, tmp_path))
    weights = opened.path / "networks" / "stn-gm" / "weights.safetensors"
    with safe_open(weights, framework="pt") as f:
        metadata = f.metadata()
    tensors = load_file(weights)
    del tensors["g.head.out.bias"]
    weights.unlink()
    save_file(tensors, weights, metadata=metadata)
    with pytest.raises(BundleError, match="cannot load its networks") as info:
        Predictor(opened, device="cpu")
    assert "\n" not in str(info.value)


def test_the_temperature_scales_predictions_and_older_bundles_have_none(bundle, tmp_path, shared_data):
    """A bundle's temperature divides the log-probabilities of every track (agf predict and agf evaluate
    alike); a version-2 bundle, from before temperatures, predicts as trained."""
    from agf.classifier.predict import Predictor
    from agf.evaluation.calibration import apply_temperature

    clip = shared_data / "gtzan3/audio/rock.00003.mp3"
    as_trained = Predictor(bundle, device="cpu").predict_file(clip).probabilities
    warm = tampered(bundle, tmp_path, edit("temperature", 2.5))
    assert load_bundle(warm).model.temperature == 2.5
    scaled = Predictor(warm, device="cpu").predict_file(clip).probabilities
    expected = apply_temperature(np.array([list(as_trained.values())]), 2.5)[0]
    np.testing.assert_allclose(list(scaled.values()), expected, rtol=1e-9)
    assert max(scaled.values()) < max(as_trained.values())  # softer, same ranking
    assert max(scaled, key=scaled.get) == max(as_trained, key=as_trained.get)
    older = tampered(bundle, tmp_path,
                     lambda m: [m.update(format_version=2), m.pop("temperature"), m.pop("baseline")])
    assert load_bundle(older).model.temperature == 1.0
    assert Predictor(older, device="cpu").predict_file(clip).probabilities == as_trained
