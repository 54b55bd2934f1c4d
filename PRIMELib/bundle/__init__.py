"""PRIME model bundles (``.prime``): one zip file holding trained PRIME-R and PRIME-S, safely.

Members:

* ``manifest.json`` — format and versions, required features per phase, clinical schema version,
  preprocessing (imputation medians, reference values, typical ranges), thresholds, training cohort
  summary (counts only), metrics, intended use, the training configuration, check predictions, and the
  SHA-256 and size of every other member;
* ``models/prime_r.skops``, ``models/prime_s.skops`` — the fitted models in skops' format: JSON plus
  numpy arrays, **never pickle**; loading builds only the types in :data:`TRUSTED_TYPES`;
* ``model_card.md`` — the model card, generated from the manifest;
* ``summary.csv`` — every training candidate with its cross-validated and test metrics.

:func:`load_bundle` refuses, with an error that says why: a file that is not a zip, unsafe or
unexpected member names, a member whose checksum or size differs from the manifest (tampered or
corrupt), a pickled payload, a type outside the trusted list, a newer format or clinical schema, and
models that do not reproduce the check predictions stored at training (e.g. after an incompatible
scikit-learn upgrade). The manifest itself is not signed: checksums detect corruption and edits of the
models, and the trusted-type list keeps even a hand-crafted bundle from running code.

Parts: :mod:`PRIMELib.bundle.format` (the file: writing, reading, checks, loading, identity),
:mod:`PRIMELib.bundle.scoring` (:class:`ModelBundle`, scoring a case), :mod:`PRIMELib.bundle.card`
(the model card) and :mod:`PRIMELib.bundle.cache` (loaded bundles kept warm in a process).
"""

from __future__ import annotations

from PRIMELib.lazy import lazy_exports

# Names load their part on first use (PEP 562): importing the package, or only its model card, needs
# neither pandas nor the model libraries.
_PARTS = {
    **dict.fromkeys(("bundle_loads", "cached_bundle", "clear_bundle_cache", "load_default_model"), "cache"),
    "model_card_markdown": "card",
    **dict.fromkeys(
        (
            "CARD_MEMBER",
            "DEFAULT_BUNDLE",
            "FORMAT",
            "FORMAT_VERSION",
            "MANIFEST",
            "MODEL_MEMBERS",
            "SUMMARY_MEMBER",
            "TRUSTED_TYPES",
            "BundleError",
            "bundle_sha256",
            "load_bundle",
            "save_bundle",
        ),
        "format",
    ),
    "ModelBundle": "scoring",
}
__getattr__ = lazy_exports(__name__, _PARTS)

__all__ = sorted(_PARTS)  # every name the parts export, listed once (in _PARTS)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
