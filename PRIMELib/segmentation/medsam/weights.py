"""MedSAM weights: fetched on first use from the official release into a cache, checked, then loaded.

- :data:`MEDSAM_VIT_B`: the MedSAM ViT-B checkpoint (``medsam_vit_b.pth``, about 358 MB) as released
  by its authors on Zenodo (record 10689643), with the MD5 that Zenodo publishes for the file.
- :func:`ensure_weights` returns the cached file, downloading it when missing (atomically: a partial
  download is never left under the final name) and refusing any file whose checksum does not match.
  The SHA-256 is checked when the spec pins one; when it does not (the official release publishes only
  an MD5), the SHA-256 of the verified file is recorded beside it on first download and checked on every
  later use, so a cached file that changes is refused.
- Offline: set ``PRIME_OFFLINE=1`` (or pass ``allow_download=False``) and only the cache is used; a
  missing file then raises :class:`PRIMEEngineUnavailable` naming the URL and the folder to put it in.

The cache folder is ``$PRIME_WEIGHTS_DIR``, else ``~/.cache/prime/weights``.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from PRIMELib.progress import ProgressCallback, report
from PRIMELib.segmentation.initial_roi import PRIMEEngineUnavailable


class PRIMEWeightsChecksumError(PRIMEEngineUnavailable):
    """A weights file whose checksum differs from the expected one: refused, never loaded."""


@dataclass(frozen=True)
class WeightSpec:
    """One released weights file: where it comes from and how to recognise it."""

    name: str
    filename: str
    urls: tuple[str, ...]
    sha256: str | None = None
    md5: str | None = None
    size_bytes: int | None = None
    licence: str = ""
    citation: str = ""


#: MedSAM (ViT-B), the weights of Ma et al., Nature Communications 15:654 (2024).
MEDSAM_VIT_B = WeightSpec(
    name="MedSAM ViT-B",
    filename="medsam_vit_b.pth",
    urls=("https://zenodo.org/records/10689643/files/medsam_vit_b.pth?download=1",),
    sha256=None,  # the release publishes an MD5 only; see the module docstring
    md5="3bb6db55bd0c9ca30b61248bca72f8d6",
    licence="Apache-2.0 (MedSAM code and weights)",
    citation="Ma J, He Y, Li F, Han L, You C, Wang B. Segment anything in medical images. "
    "Nat Commun 15, 654 (2024).",
)

_CHUNK = 1 << 20


def default_cache_dir() -> Path:
    """``$PRIME_WEIGHTS_DIR``, else ``~/.cache/prime/weights``."""
    configured = os.environ.get("PRIME_WEIGHTS_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "prime" / "weights"


def downloads_allowed() -> bool:
    """False when ``PRIME_OFFLINE`` is set to anything but ``0``/empty."""
    return os.environ.get("PRIME_OFFLINE", "") in ("", "0")


def file_digests(path: str | Path) -> dict[str, str]:
    """SHA-256 and MD5 of a file, as lowercase hex."""
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            sha256.update(chunk)
            md5.update(chunk)
    return {"sha256": sha256.hexdigest(), "md5": md5.hexdigest()}


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def verify_weights(path: str | Path, spec: WeightSpec) -> str:
    """Check ``path`` against ``spec`` (and the recorded SHA-256); return its SHA-256 or raise.

    Raises :class:`PRIMEWeightsChecksumError` naming the file, the expected and the actual digest.
    """
    path = Path(path)
    digests = file_digests(path)
    expected = {"sha256": spec.sha256, "md5": spec.md5}
    recorded = _sidecar(path)
    if spec.sha256 is None and recorded.is_file():
        expected["sha256"] = recorded.read_text(encoding="utf-8").split()[0].strip().lower()
    for kind, value in expected.items():
        if value and digests[kind] != value.lower():
            raise PRIMEWeightsChecksumError(
                f"The {spec.name} weights file '{path}' has {kind.upper()} {digests[kind]}, not the expected "
                f"{value}: it is corrupt, incomplete or not the official file, and was not loaded. Delete it "
                "to download it again. The classical engine works without it."
            )
    if not expected["sha256"] and not expected["md5"]:
        raise PRIMEWeightsChecksumError(
            f"No checksum is known for the {spec.name} weights ('{path}'), so they were not loaded."
        )
    return digests["sha256"]


def ensure_weights(
    spec: WeightSpec = MEDSAM_VIT_B,
    *,
    cache_dir: str | Path | None = None,
    allow_download: bool | None = None,
    progress: ProgressCallback | None = None,
    timeout_s: float = 60.0,
) -> Path:
    """The verified local path of ``spec``'s file, downloading it into the cache on first use.

    ``allow_download`` defaults to :func:`downloads_allowed`. Raises :class:`PRIMEEngineUnavailable`
    when the file is missing and cannot be downloaded (offline, server error), and
    :class:`PRIMEWeightsChecksumError` when a cached or downloaded file fails its checksum.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = cache / spec.filename
    if target.is_file():
        verify_weights(target, spec)
        return target
    allow_download = downloads_allowed() if allow_download is None else allow_download
    where = " or ".join(spec.urls)
    if not allow_download:
        raise PRIMEEngineUnavailable(
            f"The {spec.name} weights are not in the cache ('{target}') and downloads are off "
            f"(PRIME_OFFLINE). Download {where} on a connected machine and put it there as "
            f"'{spec.filename}'. The classical engine works without it."
        )
    cache.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in spec.urls:
        try:
            _download(url, target, spec, progress, timeout_s)
            return target
        except PRIMEWeightsChecksumError:
            raise
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            failures.append(f"{url}: {getattr(error, 'reason', error)}")
    raise PRIMEEngineUnavailable(
        f"The {spec.name} weights could not be downloaded (offline, or the server is unreachable): "
        + "; ".join(failures)
        + f". Put '{spec.filename}' into '{cache}' by hand, or try again online. "
        "The classical engine works without it."
    )


def _download(url: str, target: Path, spec: WeightSpec, progress, timeout_s: float) -> None:
    partial = target.with_name(f".partial-{uuid.uuid4().hex[:8]}-{target.name}")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or spec.size_bytes or 0)
            done = 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                done += len(chunk)
                if total:
                    report(
                        progress, done / total, f"Downloading {spec.name} ({done >> 20} of {total >> 20} MB)"
                    )
        sha256 = verify_weights(partial, spec)
        os.replace(partial, target)
        if spec.sha256 is None:
            _sidecar(target).write_text(f"{sha256}  {target.name}\n", encoding="utf-8")
    finally:
        if partial.exists():
            partial.unlink()
