"""Suite-wide settings.

Hypothesis runs derandomized in the suite (the same examples every run), so a red run always points at a
change, never at a lucky draw; `HYPOTHESIS_PROFILE=explore make test` draws fresh examples to hunt for
new failures (fix each and pin it with @example).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("suite", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))
