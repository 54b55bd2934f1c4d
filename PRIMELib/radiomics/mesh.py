"""Shape without the diameters: mesh surface area and volume at the cost of one pass over the ROI.

PyRadiomics' shape class gets the mesh's surface area, its volume and the four maximum diameters from
one C function, ``cShape.calculate_coefficients``. Area and volume come from a marching-cubes pass
(linear in the ROI's box); the diameters compare every stored mesh vertex with every other, which
grows with the square of the tumour's surface: 1.5 of the 1.6 s shape takes for an 8.7 cm tumour. A
model that asks for Sphericity, say, and no diameter pays for them all the same.

Inside :func:`without_diameters` that function answers area and volume from a table of what
PyRadiomics' own C function gives for each of the 256 cube configurations, and NaN diameters (never
read: it is used only when no diameter feature is asked for). No marching-cubes formula is written
here; the table is measured from ``cShape.calculate_coefficients`` itself (:func:`_table`), and the
sum rests on two facts of its algorithm (``cshape.c``):

- each 2×2×2 cube of voxels adds triangles that depend on its 8 corners only, so the area is the sum,
  over configurations, of how many cubes have it times that configuration's area;
- a cube's volume term is the signed volume of each triangle's tetrahedron with the array's origin;
  moved by ``t``, a tetrahedron's term changes by ``t`` dotted with a vector of that cube's own, and
  so the cube at index ``i`` adds ``V₀[c] + Σ_d i_d·G[c, d]``, with ``V₀`` and ``G`` measured per
  configuration (a cube at the origin; a cube one step along each axis).

The results equal PyRadiomics' to about 1e-13 relative (summation order only);
``test_radiomics_mesh`` checks them against the C function and against PyRadiomics' shape features.
The table depends on the voxel spacing and is made once per spacing (about 20 ms).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import numpy as np

#: The shape features that read the diameters (``RadiomicsShape.diameters``, PyRadiomics 3.1).
DIAMETER_FEATURES = frozenset(
    {"Maximum3DDiameter", "Maximum2DDiameterSlice", "Maximum2DDiameterColumn", "Maximum2DDiameterRow"}
)

#: The corners of a marching cube, as offsets (z, y, x) from its first voxel, in the order of
#: ``gridAngles`` in PyRadiomics' ``cshape.c``: bit ``a`` of a cube's configuration is corner ``a``.
_CORNERS = ((0, 0, 0), (0, 0, 1), (0, 1, 1), (0, 1, 0), (1, 0, 0), (1, 0, 1), (1, 1, 1), (1, 1, 0))

_lock = threading.Lock()
_depth = 0
_original = None


def configurations(mask: np.ndarray) -> np.ndarray:
    """Each marching cube's configuration (uint8, one per cube: the array less one voxel per axis)."""
    voxels = np.asarray(mask) != 0
    n0, n1, n2 = voxels.shape
    cubes = np.zeros((n0 - 1, n1 - 1, n2 - 1), np.uint8)
    for bit, (dz, dy, dx) in enumerate(_CORNERS):
        corner = voxels[dz : n0 - 1 + dz, dy : n1 - 1 + dy, dx : n2 - 1 + dx]
        cubes |= corner.astype(np.uint8) << np.uint8(bit)
    return cubes


def _cube(configuration: int) -> np.ndarray:
    cube = np.zeros((2, 2, 2), np.uint8)
    for bit, corner in enumerate(_CORNERS):
        cube[corner] = (configuration >> bit) & 1
    return cube


@functools.lru_cache(maxsize=16)
def _table(spacing: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(area, volume at the origin, volume per index step along each axis) per configuration, as
    PyRadiomics' C function computes them for ``spacing`` (z, y, x)."""
    from radiomics import cShape

    calculate = _original or cShape.calculate_coefficients
    step = np.asarray(spacing, dtype=np.float64)
    area = np.zeros(256)
    volume = np.zeros(256)
    for configuration in range(256):
        area[configuration], volume[configuration], _ = calculate(_cube(configuration), step)
    per_step = np.zeros((256, 3))
    for configuration in range(256):
        for axis in range(3):
            # The cube one step along ``axis``; the cube before it (its lower face against zeros) is
            # one of the configurations measured at the origin.
            shape = [2, 2, 2]
            shape[axis] = 3
            pair = np.zeros(shape, np.uint8)
            upper = [slice(None)] * 3
            upper[axis] = slice(1, 3)
            pair[tuple(upper)] = _cube(configuration)
            first, second = configurations(pair).ravel()
            _, both, _ = calculate(pair, step)
            per_step[configuration, axis] = both - volume[first] - volume[second]
    return area, volume, per_step


def surface_and_volume(mask: np.ndarray, spacing) -> tuple[float, float]:
    """Mesh surface area and volume of ``mask`` (z, y, x; nonzero is inside) as
    ``cShape.calculate_coefficients`` gives them, without its diameters."""
    area, volume, per_step = _table(tuple(float(s) for s in spacing))
    cubes = configurations(mask)
    counts = np.bincount(cubes.ravel(), minlength=256)
    surface = float(counts @ area)
    total = float(counts @ volume)
    for axis in range(3):
        others = tuple(a for a in range(3) if a != axis)
        total += float(np.arange(cubes.shape[axis]) @ per_step[:, axis][cubes].sum(axis=others))
    return surface, total


def _without_diameters(mask, spacing):  # PyRadiomics' signature: (mask array, spacing) → (SA, V, diameters)
    surface, volume = surface_and_volume(mask, spacing)
    return surface, volume, np.full(4, np.nan)


def needs_diameters(shape_classes: Mapping[str, object]) -> bool:
    """Whether the 3D shape features asked for (``{"shape": names or None}``) read the diameters."""
    if "shape" not in shape_classes:
        return False
    names = shape_classes["shape"]
    return names is None or bool(DIAMETER_FEATURES.intersection(names))


@contextmanager
def without_diameters(shape_classes: Mapping[str, object]) -> Iterator[bool]:
    """Within: PyRadiomics' shape class gets area and volume from the table, when ``shape_classes``
    asks for no diameter feature (else nothing changes). Yields whether the table is in use.

    Re-entrant; the patch is undone on leaving (one thread extracts per process in PRIME).
    """
    global _depth, _original
    if needs_diameters(shape_classes):
        yield False
        return
    from radiomics import cShape

    with _lock:
        if _depth == 0:
            _original = cShape.calculate_coefficients
            cShape.calculate_coefficients = _without_diameters
        _depth += 1
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                cShape.calculate_coefficients = _original
                _original = None
