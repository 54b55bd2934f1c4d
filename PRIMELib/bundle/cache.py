"""Loaded bundles kept warm in a process: loading and verifying one takes seconds (importing
scikit-learn and scikit-survival, rebuilding and checking the models), scoring a case with it
milliseconds. The Slicer module's Logic, :func:`PRIMELib.pipeline.score_case` and the scoring worker
(:mod:`PRIMELib.scoring_server`) share one loaded bundle per file for as long as the file is unchanged.

A cached bundle is keyed by its file's absolute path, modification time, size and SHA-256 (the
bundle's identity, :func:`~PRIMELib.bundle.format.bundle_sha256`, a few milliseconds to compute), so
a rebuilt or replaced file is loaded afresh. Scoring never modifies a bundle; callers must not either.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from PRIMELib.bundle import format as _format

if TYPE_CHECKING:
    from PRIMELib.bundle.scoring import ModelBundle

__all__ = ["bundle_loads", "cached_bundle", "clear_bundle_cache", "load_default_model"]

#: Loaded bundles kept at most (a loaded bundle holds its forests in memory: tens of MB).
MAX_CACHED = 2

_cache: OrderedDict[tuple[str, int, int, str], ModelBundle] = OrderedDict()
_lock = threading.Lock()
_loads = 0


def cached_bundle(path: str | Path | None = None, *, expected_sha256: str | None = None) -> ModelBundle:
    """The bundle at ``path`` (None: the shipped demonstration bundle), loaded and verified once per
    process while the file stays the same. ``expected_sha256``: refuse any other bundle, cached or not.
    Raises :class:`~PRIMELib.bundle.format.BundleError` as :func:`~PRIMELib.bundle.load_bundle` does."""
    global _loads
    path = Path(os.path.abspath(path if path else _format.DEFAULT_BUNDLE))
    try:
        stat = path.stat()
        sha256 = _format.bundle_sha256(path)
    except OSError:  # absent or unreadable: load_bundle says so, in its words
        return _format.load_bundle(path, expected_sha256=expected_sha256)
    _format.check_digest(path, sha256, expected_sha256)
    key = (str(path), stat.st_mtime_ns, stat.st_size, sha256)
    with _lock:
        bundle = _cache.get(key)
        if bundle is not None:
            _cache.move_to_end(key)
            return bundle
        bundle = _format.load_bundle(path, expected_sha256=expected_sha256)
        _loads += 1
        stale = [k for k in _cache if k[0] == key[0]]  # the same file, changed: never used again
        for old in stale:
            del _cache[old]
        _cache[key] = bundle
        while len(_cache) > MAX_CACHED:
            _cache.popitem(last=False)
        return bundle


def load_default_model() -> ModelBundle:
    """The shipped demonstration bundle, loaded once per process (see :func:`cached_bundle`)."""
    return cached_bundle(None)


def bundle_loads() -> int:
    """How many bundles :func:`cached_bundle` has loaded in this process (a cache miss each)."""
    return _loads


def clear_bundle_cache() -> None:
    """Forget every loaded bundle (the next call loads afresh)."""
    with _lock:
        _cache.clear()
