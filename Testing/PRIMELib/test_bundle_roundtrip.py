"""Model bundles: round trip, refusal of tampered, pickled and untrusted content, and scoring."""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from model_cohort import bundle_path, cohort, trained

from PRIMELib.bundle import (
    DEFAULT_BUNDLE,
    MANIFEST,
    MODEL_MEMBERS,
    BundleError,
    ModelBundle,
    bundle_loads,
    bundle_sha256,
    cached_bundle,
    load_bundle,
    load_default_model,
)
from PRIMELib.errors import PRIMEInputError
from PRIMELib.pipeline import resolve_model
from PRIMELib.scoring import ScoreResult


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    return load_bundle(bundle_path())


def _rewrite(source, target, *, replace=None, add=None, manifest_edit=None, resign=True):
    """Copy a bundle, replacing members (and, with ``resign``, their checksums in the manifest)."""
    import hashlib

    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members[MANIFEST])
    for name, data in (replace or {}).items():
        members[name] = data
        if resign:
            manifest["members"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    for name, data in (add or {}).items():
        members[name] = data
    if manifest_edit:
        manifest_edit(manifest)
    members[MANIFEST] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def test_round_trip_gives_identical_predictions(bundle):
    result = trained()
    X = cohort().features
    assert np.array_equal(bundle.prime_r.predict_proba(X), result.prime_r.predict_proba(X))
    assert np.array_equal(bundle.prime_s.predict(X), result.prime_s.predict(X))
    times = [100.0, 365.25, 700.0]
    assert np.array_equal(bundle.prime_s.survival_at(X, times), result.prime_s.survival_at(X, times))
    again = load_bundle(bundle_path())
    case = X.iloc[5].to_dict()
    assert again.score(case, case_id="x").to_dict() == bundle.score(case, case_id="x").to_dict()


def test_manifest_records_what_a_reader_needs(bundle):
    m = bundle.manifest
    assert m["format"] == "prime-model-bundle" and m["format_version"] == 1
    assert set(m["required_features"]) == {"clinical", "arterial", "venous"}
    assert m["clinical_schema_version"] >= 1 and m["versions"]["PRIMELib"]
    assert m["thresholds"]["risk_cutoff"] == trained().risk_cutoff
    assert m["training"]["cohort"]["external"]["centres"] == {"B": 30}
    assert m["fusion"]["prime_s"]["weights"] == pytest.approx(list(trained().prime_s.weights_))
    assert set(m["members"]) == {*MODEL_MEMBERS.values(), "model_card.md", "summary.csv"}
    card = bundle.model_card_markdown()
    for heading in (
        "## Intended use",
        "## Training data",
        "## Models",
        "## Required inputs",
        "## Performance",
    ):
        assert heading in card
    assert "Research use only" in card


def test_a_tampered_member_is_refused(tmp_path):
    with zipfile.ZipFile(bundle_path()) as archive:
        data = bytearray(archive.read(MODEL_MEMBERS["prime_s"]))
    data[len(data) // 2] ^= 0xFF
    tampered = _rewrite(
        bundle_path(), tmp_path / "t.prime", replace={MODEL_MEMBERS["prime_s"]: bytes(data)}, resign=False
    )
    with pytest.raises(BundleError, match="does not match its checksum"):
        load_bundle(tampered)


def test_a_pickled_payload_is_refused_even_with_correct_checksums(tmp_path):
    payload = pickle.dumps(trained().prime_r)
    bad = _rewrite(bundle_path(), tmp_path / "p.prime", replace={MODEL_MEMBERS["prime_r"]: payload})
    with pytest.raises(BundleError, match="pickled payload"):
        load_bundle(bad)


def test_an_untrusted_type_is_refused_before_anything_is_built(tmp_path):
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    evil = sio.dumps(FunctionTransformer(func=os.system))
    bad = _rewrite(bundle_path(), tmp_path / "u.prime", replace={MODEL_MEMBERS["prime_r"]: evil})
    with pytest.raises(BundleError, match=r"types PRIME does not trust.*system"):
        load_bundle(bad)


def test_unexpected_members_unsafe_names_and_non_bundles_are_refused(tmp_path):
    extra = _rewrite(bundle_path(), tmp_path / "e.prime", add={"models/extra.pkl": b"\x80\x04."})
    with pytest.raises(BundleError, match=r"does not list: models/extra\.pkl"):
        load_bundle(extra)
    unsafe = _rewrite(bundle_path(), tmp_path / "s.prime", add={"../evil.txt": b"x"})
    with pytest.raises(BundleError, match="unsafe name"):
        load_bundle(unsafe)
    (tmp_path / "plain.prime").write_text("not a zip")
    with pytest.raises(BundleError, match="not a zip file"):
        load_bundle(tmp_path / "plain.prime")
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(tmp_path / "missing.prime")


def test_newer_formats_other_schemas_and_changed_behaviour_are_refused(tmp_path):
    newer = _rewrite(bundle_path(), tmp_path / "n.prime", manifest_edit=lambda m: m.update(format_version=2))
    with pytest.raises(BundleError, match="Update PRIMELib"):
        load_bundle(newer)
    schema = _rewrite(
        bundle_path(), tmp_path / "c.prime", manifest_edit=lambda m: m.update(clinical_schema_version=99)
    )
    with pytest.raises(BundleError, match="clinical schema version 99"):
        load_bundle(schema)

    def shift(manifest):
        manifest["checks"]["outputs"][1]["risk_score"] += 0.01

    changed = _rewrite(bundle_path(), tmp_path / "d.prime", manifest_edit=shift)
    with pytest.raises(BundleError, match="do not reproduce their check predictions"):
        load_bundle(changed)


def test_scoring_gives_the_full_result_and_explanations_that_add_up(bundle):
    X = cohort().features
    case = X.iloc[7].to_dict()
    result = bundle.score(case, case_id="P007")
    assert isinstance(result, ScoreResult)
    frame = X.iloc[[7]]
    assert result.response_probability == pytest.approx(bundle.prime_r.predict_proba(frame)[0, 1], abs=1e-12)
    assert result.risk_score == pytest.approx(bundle.prime_s.predict(frame)[0], abs=1e-12)
    assert result.response_class == ("responder" if result.response_probability >= 0.5 else "non-responder")
    assert result.risk_group == ("high" if result.risk_score > bundle.risk_cutoff else "low")
    assert result.quadrant == f"{result.response_class} / {result.risk_group} risk"
    # Contributions add up: reference output + Σ contributions = the case's output.
    log_odds = math.log(result.response_probability / (1 - result.response_probability))
    total = result.explanation["response_reference_log_odds"] + sum(
        c["contribution"] for c in result.response_contributions
    )
    assert total == pytest.approx(log_odds, abs=1e-9)
    total = result.explanation["survival_reference_risk"] + sum(
        c["contribution"] for c in result.survival_contributions
    )
    assert total == pytest.approx(result.risk_score, abs=1e-9)
    sizes = [abs(c["contribution"]) for c in result.response_contributions]
    assert (
        sizes == sorted(sizes, reverse=True)
        and result.top_response_features == result.response_contributions[:5]
    )
    # The survival curve starts at 1, never rises, and holds the reported months.
    curve = [point["survival"] for point in result.survival_curve]
    assert curve[0] == pytest.approx(1.0) and all(b <= a + 1e-12 for a, b in itertools.pairwise(curve))
    # The test bundle offers ΔMON, so PRIME-S is a 30-day landmark model (models/landmark.py): its curve
    # is in months from treatment start and starts at the landmark; month 12 is 365.25 − 30 days on the
    # model's clock.
    landmark = bundle.manifest["training"]["cohort"]["landmark"]["days"]
    assert landmark == 30.0 and result.survival_landmark_days == landmark
    at = {point["month"]: point["survival"] for point in result.survival_curve}
    assert result.survival["12_months"] == pytest.approx(at[12])
    assert result.survival["12_months"] == pytest.approx(
        bundle.prime_s.survival_at(frame, [365.25 - landmark])[0, 0]
    )
    json.dumps(result.to_dict(), allow_nan=False)


def test_missing_inputs_are_imputed_and_named_or_refused(bundle):
    case = cohort().features.iloc[3].to_dict()
    clinical = bundle.required_features["clinical"]
    partial = {k: v for k, v in case.items() if k != clinical[0]}
    result = bundle.score(partial)
    assert result.imputed_fields == [clinical[0]]
    assert (
        result.inputs[clinical[0]]
        == bundle.manifest["preprocessing"]["imputation"]["clinical_medians"][clinical[0]]
    )
    too_few = {k: v for k, v in case.items() if k not in clinical[:4]}
    with pytest.raises(PRIMEInputError, match="misses 4 of the model's clinical inputs"):
        bundle.score(too_few)
    radiomics = bundle.required_features["arterial"] + bundle.required_features["venous"]
    with pytest.raises(PRIMEInputError, match="lacks radiomics feature"):
        bundle.score({k: v for k, v in case.items() if k != radiomics[0]})
    with pytest.raises(PRIMEInputError, match="is not a number"):
        bundle.score({**case, clinical[1]: "high"})


def test_values_outside_the_training_range_are_flagged(bundle):
    case = cohort().features.iloc[3].to_dict()
    feature = bundle.required_features["clinical"][0]
    case[feature] = bundle.manifest["preprocessing"]["typical_ranges"][feature][1] * 10 + 100
    assert any(feature in w and "extrapolates" in w for w in bundle.score(case).warnings)


def test_the_default_model_is_the_shipped_demonstration_bundle_loaded_once(bundle):
    default = load_default_model()
    assert isinstance(default, ModelBundle) and default.path == DEFAULT_BUNDLE
    assert load_default_model() is default and resolve_model(None) is default  # loaded and verified once
    card = default.model_card
    assert "synthetic" in card["trained_on"].lower() and "prime synth" in card["trained_on"]
    assert "not for patients" in card["intended_use"] and "not for patients" in card["warning"]
    other = resolve_model(bundle_path())
    assert isinstance(other, ModelBundle) and other is not default
    assert resolve_model(bundle) is bundle


def test_a_bundle_is_loaded_once_per_file_and_again_when_the_file_changes(tmp_path):
    """The warm cache: the same file gives the same loaded bundle without loading it again; a rebuilt
    file (new content, so a new SHA-256) is loaded afresh; a wrong expected digest is refused even when
    the bundle is already loaded; an absent file says so."""
    import shutil

    target = tmp_path / "model.prime"
    shutil.copyfile(bundle_path(), target)
    loads = bundle_loads()
    first = cached_bundle(target)
    assert bundle_loads() == loads + 1
    assert cached_bundle(str(target)) is first and resolve_model(target) is first
    assert bundle_loads() == loads + 1
    with pytest.raises(BundleError, match="not the expected"):
        cached_bundle(target, expected_sha256="0" * 64)
    _rewrite(bundle_path(), target, manifest_edit=lambda m: m.update(name="PRIME rebuilt"))
    second = cached_bundle(target)
    assert second is not first and second.name == "PRIME rebuilt" and first.name == "PRIME test model"
    assert bundle_loads() == loads + 2 and second.sha256 == bundle_sha256(target) != first.sha256
    assert cached_bundle(target, expected_sha256=second.sha256.upper()) is second
    target.unlink()
    with pytest.raises(BundleError, match="does not exist"):
        cached_bundle(target)


def test_scoring_with_the_shared_default_bundle_changes_nothing_in_it():
    default = load_default_model()
    manifest = copy.deepcopy(default.manifest)
    case = dict(default.manifest["preprocessing"]["reference_values"])
    first = default.score(case, case_id="x")
    expected = first.to_dict()
    # A caller editing its result touches only its own copy.
    first.warnings.append("edited")
    first.model_card["name"] = "edited"
    first.inputs.clear()
    first.top_response_features[0]["contribution"] = 99.0
    assert default.manifest == manifest
    again = load_default_model().score(case, case_id="x")
    assert again.to_dict() == expected
    assert isinstance(default.load_warnings, tuple)  # cannot grow in place


def test_bundle_identity_is_the_sha256_of_the_file_and_a_wrong_one_is_refused(bundle, tmp_path):
    """The digest covers every byte (manifest, thresholds, claims, members): an edited manifest (here a
    threshold and the intended use, re-zipped) is another bundle, and asking for the right digest
    refuses it before anything in it is used."""
    import hashlib

    expected = hashlib.sha256(bundle_path().read_bytes()).hexdigest()
    assert bundle.sha256 == expected and bundle.model_card["sha256"] == expected
    case = cohort().features.iloc[0].to_dict()
    assert bundle.score(case, case_id="x").model_card["sha256"] == expected
    assert load_bundle(bundle_path(), expected_sha256=expected.upper()).sha256 == expected

    def claim_more(manifest):
        manifest["intended_use"] = "Validated for clinical use"
        manifest["thresholds"]["risk_cutoff"] = -99.0

    edited = _rewrite(bundle_path(), tmp_path / "edited.prime", manifest_edit=claim_more)
    with pytest.raises(BundleError, match=f"not the expected {expected}") as raised:
        load_bundle(edited, expected_sha256=expected)
    assert "edited.prime" in str(raised.value)
    with pytest.raises(BundleError, match="not the expected"):
        resolve_model(str(edited), expected_sha256=expected)
    with pytest.raises(BundleError, match=r"not the expected 0{64}"):
        resolve_model(bundle, expected_sha256="0" * 64)  # a loaded model is checked too


def test_prime_score_refuses_another_bundle_before_any_work(tmp_path, capsys):
    from PRIMELib.cli import main
    from PRIMELib.demo import write_demo_case

    case = write_demo_case(tmp_path / "case")
    code = main(["score", "--arterial", str(case.arterial_image), "--venous", str(case.venous_image),
                 "--mask", str(case.tumour_mask), "--clinical", str(case.clinical_record),
                 "--output", str(tmp_path / "out"),
                 "--model", str(bundle_path()), "--model-sha256", "0" * 64])  # fmt: skip
    assert code == 2 and "not the expected" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "out").exists()


def test_a_bundle_from_before_the_kind_labels_has_every_row_labelled_by_kind():
    """A bundle written before nested validation names its sets cv/train/test/external: the card labels
    them. ``data/legacy_manifest_v1.json`` is the manifest of the demonstration bundle PRIME shipped
    then (format 1), exactly as that file stored it."""
    from PRIMELib.bundle import model_card_markdown

    manifest = json.loads((Path(__file__).parent / "data" / "legacy_manifest_v1.json").read_text("utf-8"))
    assert set(manifest["metrics"]) == {"cv", "train", "test", "external"}
    rows = [line.split("|")[1].strip() for line in model_card_markdown(manifest).splitlines()
            if line.startswith("| ") and ("0." in line)]  # fmt: skip
    assert rows[:4] == ["selection-CV", "apparent", "internal test", "external"]
    assert "predates nested validation" in model_card_markdown(manifest)
