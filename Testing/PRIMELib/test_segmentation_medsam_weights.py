"""MedSAM weights: download into the cache, checksum checks (a mismatch is refused), offline messages.

No network and no torch needed: "downloads" come from file:// URLs of files the tests write.
"""

from __future__ import annotations

import hashlib

import pytest

from PRIMELib.segmentation import PRIMEEngineUnavailable
from PRIMELib.segmentation.medsam.weights import (
    MEDSAM_VIT_B,
    PRIMEWeightsChecksumError,
    WeightSpec,
    default_cache_dir,
    ensure_weights,
    verify_weights,
)

PAYLOAD = b"not really a checkpoint, but bytes with a known digest" * 1000


@pytest.fixture
def release(tmp_path):
    """A 'released' file and its spec (URL, SHA-256, MD5)."""
    source = tmp_path / "release" / "weights.pth"
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    spec = WeightSpec(
        name="Test weights",
        filename="weights.pth",
        urls=(source.as_uri(),),
        sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        md5=hashlib.md5(PAYLOAD).hexdigest(),
    )
    return source, spec


def test_first_use_downloads_into_the_cache_then_uses_it(release, tmp_path):
    source, spec = release
    cache = tmp_path / "cache"
    fractions = []
    path = ensure_weights(
        spec, cache_dir=cache, allow_download=True, progress=lambda f, m: fractions.append(f)
    )
    assert path == cache / "weights.pth" and path.read_bytes() == PAYLOAD
    assert fractions and fractions[-1] == 1.0
    assert sorted(p.name for p in cache.iterdir()) == ["weights.pth"]  # no partial file, no sidecar
    source.unlink()  # the release is gone: the cache still serves
    assert ensure_weights(spec, cache_dir=cache, allow_download=False) == path


def test_a_checksum_mismatch_is_refused_and_leaves_nothing(release, tmp_path):
    _, spec = release
    wrong = WeightSpec(**{**spec.__dict__, "sha256": "0" * 64})
    cache = tmp_path / "cache"
    with pytest.raises(PRIMEWeightsChecksumError, match=r"SHA256 .* not the expected 0000") as caught:
        ensure_weights(wrong, cache_dir=cache, allow_download=True)
    assert "was not loaded" in str(caught.value) and "classical engine" in str(caught.value)
    assert list(cache.iterdir()) == []
    # The error is an "engine unavailable": the caller's fallback to the classical engine applies.
    assert isinstance(caught.value, PRIMEEngineUnavailable)


def test_md5_only_release_records_the_sha256_and_refuses_a_changed_cache_file(release, tmp_path):
    _, spec = release
    md5_only = WeightSpec(**{**spec.__dict__, "sha256": None})
    cache = tmp_path / "cache"
    path = ensure_weights(md5_only, cache_dir=cache, allow_download=True)
    recorded = (cache / "weights.pth.sha256").read_text().split()[0]
    assert recorded == hashlib.sha256(PAYLOAD).hexdigest()
    assert verify_weights(path, md5_only) == recorded
    path.write_bytes(PAYLOAD[:-1] + b"!")  # a cached file that changed afterwards
    with pytest.raises(PRIMEWeightsChecksumError, match="Delete it to download it again"):
        ensure_weights(md5_only, cache_dir=cache)
    wrong_md5 = WeightSpec(**{**md5_only.__dict__, "md5": "f" * 32, "filename": "other.pth"})
    with pytest.raises(PRIMEWeightsChecksumError, match="MD5"):
        ensure_weights(wrong_md5, cache_dir=cache, allow_download=True)


def test_offline_without_a_cached_file_says_where_to_get_it(release, tmp_path, monkeypatch):
    _, spec = release
    monkeypatch.setenv("PRIME_OFFLINE", "1")
    with pytest.raises(PRIMEEngineUnavailable, match="downloads are off") as caught:
        ensure_weights(spec, cache_dir=tmp_path / "cache")
    message = str(caught.value)
    assert spec.urls[0] in message and str(tmp_path / "cache") in message


def test_an_unreachable_server_is_a_clear_message(tmp_path):
    spec = WeightSpec(
        name="Test weights", filename="w.pth", urls=((tmp_path / "nowhere.pth").as_uri(),), md5="0"
    )
    with pytest.raises(PRIMEEngineUnavailable, match=r"could not be downloaded .*offline") as caught:
        ensure_weights(spec, cache_dir=tmp_path / "cache", allow_download=True)
    assert "The classical engine works without it" in str(caught.value)
    assert not any((tmp_path / "cache").iterdir())


def test_a_file_without_any_known_checksum_is_not_trusted(tmp_path):
    path = tmp_path / "w.pth"
    path.write_bytes(PAYLOAD)
    with pytest.raises(PRIMEWeightsChecksumError, match="No checksum is known"):
        verify_weights(path, WeightSpec(name="Unknown", filename="w.pth", urls=()))


def test_the_official_medsam_release_and_the_cache_folder(monkeypatch, tmp_path):
    assert MEDSAM_VIT_B.filename == "medsam_vit_b.pth"
    assert MEDSAM_VIT_B.urls[0].startswith("https://zenodo.org/records/10689643/")
    assert len(MEDSAM_VIT_B.md5) == 32
    monkeypatch.setenv("PRIME_WEIGHTS_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("PRIME_WEIGHTS_DIR")
    assert default_cache_dir().parts[-3:] == (".cache", "prime", "weights")
