"""The PRIME module's parts beside ``PRIME.py`` (a package, so Slicer does not load it as a module).

- :mod:`.rules`: the panel's rules without Qt — what is enabled when and what each text says.
- :mod:`.clinical_form`: the clinical form from the clinical schema, field text → value or reason,
  derived indices, clinical record files (no Qt).
- :mod:`.scoring`: the scoring subprocess's command and progress lines, the model card, the survival
  curve, and the Python packages scoring needs (installed on first use, after asking; no Qt).
- :mod:`.nodes`: MRML nodes ⇄ SimpleITK images and tables, segment tags, undo of ROI changes (no Qt).
- :mod:`.roi` and :mod:`.results`: the Tumour ROI part (initial ROI, carry to venous, undo, Segment
  Editor node) and the results part (case files, result nodes, patient report) of ``PRIMELogic``,
  which inherits them (no Qt).
- :mod:`.widgets`: the two Qt pieces the panel builds in code — the clinical form's editors and the
  scoring ``QProcess`` — kept thin; their rules live in the modules above.
- :mod:`.reloading`: the module's *Reload* also reloads these files, each after the ones it imports.

Submodules are imported where used, so importing this package costs nothing.
"""
