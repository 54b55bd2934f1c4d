"""PRIMELib: the computing library behind the PRIME Slicer extension.

PRIME predicts, for unresectable hepatocellular carcinoma treated with interventional therapy plus
targeted immunotherapy, the chance of objective response at 3 months (PRIME-R) and overall-survival
risk (PRIME-S) from dual-phase contrast CT and routine clinical data.

Research software: not for clinical decisions. This package never imports Slicer, Qt, CTK or VTK.
"""

from __future__ import annotations

__version__ = "0.1.0"

from PRIMELib.errors import PRIMECancelled, PRIMEError, PRIMEInputError

__all__ = ["PRIMECancelled", "PRIMEError", "PRIMEInputError", "__version__"]
