"""Dual-phase liver-tumour CT phantoms with a known truth, to test and bench segmentation and registration.

A phantom is an irregular tumour (a perturbed ellipsoid with lobes; 2–15 cm) in liver, sometimes
bulging through the liver's edge into fat, with vessels passing by (some touching it), a necrotic core
in larger tumours, heterogeneous enhancement, partial-volume edges (each voxel where tissues meet
averages 2×2×2 sub-samples), a point-spread blur and correlated noise. Arterial phase: the tumour
enhances above liver; portal-venous phase: it washes out below liver. The venous phase can be moved
by a known rigid transform to test registration.

Truth: the voxels whose tumour fraction is at least one half. Everything is deterministic for a seed.
Not patient data: shapes and Hounsfield values are plausible, not sampled from a cohort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from PRIMELib.segmentation.prompts import BoxPrompt

#: Sub-samples per voxel edge used for partial volume.
_SUPERSAMPLING = 2


@dataclass(frozen=True)
class TumourPhantom:
    """One generated case. Images are int16 HU; ``truth`` is uint8 on the arterial grid (LPS geometry)."""

    arterial: sitk.Image
    venous: sitk.Image
    truth: sitk.Image
    venous_truth: sitk.Image
    diameter_mm: float
    #: A box as a user would draw it around the tumour (the truth's extent plus a few mm, jittered).
    box: BoxPrompt
    #: Three points inside the enhancing part of the tumour (LPS mm), as seed clicks.
    seeds_lps: np.ndarray
    #: Maps arterial physical points to venous physical points (ITK's fixed → moving convention).
    venous_from_arterial: sitk.Transform
    description: str


class _SmoothField:
    """A random smooth scalar field with unit variance: a sum of plane waves (evaluated anywhere)."""

    def __init__(self, rng: np.random.Generator, wavelength_mm: tuple[float, float], modes: int = 12):
        directions = rng.normal(size=(modes, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        wavelengths = rng.uniform(*wavelength_mm, size=modes)
        self.wave_vectors = directions * (2 * np.pi / wavelengths)[:, None]
        self.phases = rng.uniform(0, 2 * np.pi, size=modes)
        self.scale = np.sqrt(2.0 / modes)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        result = np.zeros(len(points), dtype=np.float32)
        for k, phase in zip(self.wave_vectors, self.phases, strict=True):
            result += np.cos(points @ k.astype(np.float32) + np.float32(phase))
        return result * np.float32(self.scale)


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def make_tumour_phantom(
    diameter_mm: float = 50.0,
    *,
    seed: int = 0,
    field_of_view_mm: float | None = None,
    in_plane_spacing_mm: float | None = None,
    slice_spacing_mm: float | None = None,
    noise_hu: float | None = None,
    subcapsular: bool | None = None,
    body_outline: bool = False,
    venous_rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0),
    venous_translation_mm: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> TumourPhantom:
    """A dual-phase phantom with a tumour of about ``diameter_mm`` (its ellipsoid's largest axis).

    Grids are kept small: in-plane spacing grows with the tumour (``diameter/48``, 0.7–2.5 mm) and slices
    are 2.5 mm (5 mm from 6 cm up), unless given. ``field_of_view_mm`` defaults to the tumour plus
    15 mm each side. ``body_outline`` adds air around an elliptical body (useful for registration).
    ``venous_rotation_deg`` (about the tumour centre, x/y/z) and ``venous_translation_mm`` move the
    venous phase by a known rigid transform (returned as ``venous_from_arterial``).
    """
    rng = np.random.default_rng(seed)
    radius = diameter_mm / 2.0
    in_plane = in_plane_spacing_mm or float(np.clip(diameter_mm / 48.0, 0.7, 2.5))
    slice_spacing = slice_spacing_mm or (2.5 if diameter_mm < 60 else 5.0)
    spacing = np.array([in_plane, in_plane, slice_spacing])
    fov = field_of_view_mm or 2 * (1.25 * radius + 15.0)
    size = np.maximum(np.ceil(fov / spacing).astype(int), 8)
    origin = -(size - 1) * spacing / 2  # tumour centre near the physical origin
    subcapsular = bool(rng.random() < 0.25) if subcapsular is None else subcapsular
    noise_hu = float(rng.uniform(10.0, 20.0)) if noise_hu is None else float(noise_hu)

    # --- anatomy (all in LPS mm relative to the grid centre)
    centre = rng.uniform(-0.05, 0.05, size=3) * radius
    rotation = _random_rotation(rng)
    axes = radius * np.array([1.0, rng.uniform(0.7, 1.0), rng.uniform(0.65, 0.95)])
    lobes = []
    for _ in range(int(rng.integers(0, 4))):
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        lobes.append((centre + direction * rng.uniform(0.55, 0.75) * radius, rng.uniform(0.3, 0.45) * radius))
    shape_field = _SmoothField(rng, (0.6 * radius, 1.4 * radius))
    shape_amplitude = rng.uniform(0.06, 0.12)
    texture = _SmoothField(rng, (6.0, 16.0))
    necrotic = diameter_mm >= 50 and rng.random() < 0.6
    necrosis_field = _SmoothField(rng, (0.5 * radius, radius))
    liver_radius = max(150.0, 2.5 * diameter_mm)
    depth = (0.45 if subcapsular else rng.uniform(1.4, 2.0)) * radius + (0 if subcapsular else 8.0)
    liver_direction = rng.normal(size=3)
    liver_direction[2] *= 0.3
    liver_direction /= np.linalg.norm(liver_direction)
    liver_centre = centre - liver_direction * (liver_radius - depth)
    vessels = []
    for index in range(int(rng.integers(1, 4))):
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        normal = np.cross(direction, rng.normal(size=3))
        normal /= np.linalg.norm(normal)
        vessel_radius = rng.uniform(1.5, 4.0)
        # The first vessel touches the tumour; the others pass within a few cm.
        offset = radius * (rng.uniform(0.95, 1.1) if index == 0 else rng.uniform(1.2, 1.6)) + vessel_radius
        kind = "artery" if rng.random() < 0.5 else "portal"
        vessels.append((centre + normal * offset, direction, vessel_radius, kind))
    body_semi_axes = np.array([0.48, 0.4, 10.0]) * fov

    hu = {
        "arterial": {"fat": -95.0, "liver": rng.uniform(60.0, 85.0)},
        "venous": {"fat": -90.0, "liver": rng.uniform(100.0, 125.0)},
    }
    hu["arterial"]["tumour"] = hu["arterial"]["liver"] + rng.uniform(45.0, 90.0)
    hu["venous"]["tumour"] = hu["venous"]["liver"] - rng.uniform(15.0, 35.0)
    hu["arterial"].update(necrosis=30.0, artery=220.0, portal=hu["arterial"]["liver"] + 30.0, air=-1000.0)
    hu["venous"].update(necrosis=35.0, artery=140.0, portal=hu["venous"]["liver"] + 60.0, air=-1000.0)
    texture_hu = {"arterial": rng.uniform(8.0, 16.0), "venous": rng.uniform(5.0, 10.0)}

    def tumour_level(points: np.ndarray) -> np.ndarray:
        """< 1 inside the tumour; the perturbation is evaluated only near the surface."""
        local = (points - centre.astype(np.float32)) @ (rotation / axes).astype(np.float32)
        level = np.sqrt(local[:, 0] ** 2 + local[:, 1] ** 2 + local[:, 2] ** 2)
        for lobe_centre, lobe_radius in lobes:
            level = np.minimum(level, _distance(points, lobe_centre) / np.float32(lobe_radius))
        near = level < 1.0 + 4 * shape_amplitude
        level[near] += np.float32(shape_amplitude) * shape_field(points[near])
        return level

    def tissue_images(points: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """Noise-free HU per phase at ``points``, the tumour indicator and a tissue code per point."""
        level = tumour_level(points)
        tumour = level < 1.0
        liver = _distance(points, liver_centre) < liver_radius
        core = np.zeros(len(points), dtype=bool)
        if necrotic:
            inner = tumour & (level < 0.7)
            core[inner] = level[inner] + 0.15 * necrosis_field(points[inner]) < 0.45
        vessel_kind = np.zeros(len(points), dtype=np.int8)  # 1 artery, 2 portal vein
        for point, direction, vessel_radius, kind in vessels:
            relative = points - point.astype(np.float32)
            along = relative @ direction.astype(np.float32)
            distance2 = relative[:, 0] ** 2 + relative[:, 1] ** 2 + relative[:, 2] ** 2 - along**2
            vessel_kind[(distance2 < vessel_radius**2) & liver & ~tumour] = 1 if kind == "artery" else 2
        air = np.zeros(len(points), dtype=bool)
        if body_outline:
            air = (points[:, 0] / body_semi_axes[0]) ** 2 + (points[:, 1] / body_semi_axes[1]) ** 2 > 1.0
        tex = np.zeros(len(points), dtype=np.float32)
        tex[tumour] = texture(points[tumour])
        phases = {}
        for phase, values in hu.items():
            image = np.full(len(points), values["fat"], dtype=np.float32)
            image[liver] = values["liver"]
            image[vessel_kind == 1] = values["artery"]
            image[vessel_kind == 2] = values["portal"]
            image[tumour] = values["tumour"] + texture_hu[phase] * tex[tumour]
            image[core] = values["necrosis"]
            image[air] = values["air"]
            phases[phase] = image
        code = np.where(liver, 1, 0).astype(np.int8)
        code[vessel_kind > 0] = 1 + vessel_kind[vessel_kind > 0]
        code[tumour] = 4
        code[core] = 5
        code[air] = 6
        return phases, tumour.astype(np.float32), code

    # --- voxelise: evaluate voxel centres, then average 2x2x2 sub-samples where tissues meet
    shape = tuple(int(n) for n in size[::-1])
    k, j, i = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in shape), indexing="ij")
    centres = (np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1) * spacing + origin).astype(np.float32)
    phases, tumour, code = tissue_images(centres)
    arrays = {phase: values.reshape(shape) for phase, values in phases.items()}
    fraction = tumour.reshape(shape)
    code = code.reshape(shape)
    edge = (ndimage.maximum_filter(code, size=3) != ndimage.minimum_filter(code, size=3)).ravel()
    sub = (np.arange(_SUPERSAMPLING) + 0.5) / _SUPERSAMPLING - 0.5
    offsets = np.stack(np.meshgrid(sub, sub, sub, indexing="ij"), axis=-1).reshape(-1, 3) * spacing
    points = (centres[edge][:, None, :] + offsets[None].astype(np.float32)).reshape(-1, 3)
    sub_phases, sub_tumour, _ = tissue_images(points)
    for phase, values in sub_phases.items():
        arrays[phase].reshape(-1)[edge] = values.reshape(-1, len(offsets)).mean(axis=1)
    fraction.reshape(-1)[edge] = sub_tumour.reshape(-1, len(offsets)).mean(axis=1)
    truth_array = (fraction >= 0.5).astype(np.uint8)

    def to_image(array: np.ndarray, pixel_type=sitk.sitkFloat32) -> sitk.Image:
        image = sitk.GetImageFromArray(array)
        image.SetSpacing(tuple(float(v) for v in spacing))
        image.SetOrigin(tuple(float(v) for v in origin))
        return sitk.Cast(image, pixel_type)

    truth = to_image(truth_array, sitk.sitkUInt8)
    transform = sitk.VersorRigid3DTransform()
    transform.SetCenter(tuple(float(c) for c in centre))
    transform.SetRotation(*_versor_from_degrees(venous_rotation_deg))
    transform.SetTranslation(tuple(float(t) for t in venous_translation_mm))
    moved = not np.allclose(venous_rotation_deg, 0) or not np.allclose(venous_translation_mm, 0)
    images = {}
    for phase, array in arrays.items():
        image = to_image(array)
        # Scanner point-spread function, then correlated noise.
        image = sitk.SmoothingRecursiveGaussian(image, [0.45 * float(v) for v in spacing])
        noise = sitk.SmoothingRecursiveGaussian(
            to_image(rng.normal(0.0, 1.0, size=array.shape).astype(np.float32)), 0.5 * float(in_plane)
        )
        noise_array = sitk.GetArrayViewFromImage(noise)
        image = image + to_image(noise_hu * noise_array / max(float(noise_array.std()), 1e-6))
        if phase == "venous" and moved:
            # Venous anatomy at transform(p) is the arterial anatomy at p.
            image = sitk.Resample(image, image, transform.GetInverse(), sitk.sitkLinear, hu["venous"]["fat"])
        images[phase] = sitk.Cast(sitk.Round(image), sitk.sitkInt16)
    venous_truth = (
        sitk.Resample(truth, truth, transform.GetInverse(), sitk.sitkNearestNeighbor, 0) if moved else truth
    )

    return TumourPhantom(
        arterial=images["arterial"],
        venous=images["venous"],
        truth=truth,
        venous_truth=venous_truth,
        diameter_mm=float(diameter_mm),
        box=_user_box(truth, rng),
        seeds_lps=_seed_points(truth, arrays["arterial"], hu["arterial"], rng),
        venous_from_arterial=transform,
        description=(
            f"{diameter_mm:.0f} mm tumour, {len(lobes)} lobes, {len(vessels)} vessels"
            f"{', necrotic core' if necrotic else ''}{', subcapsular' if subcapsular else ''}, "
            f"noise {noise_hu:.0f} HU, spacing {in_plane:.2f}x{in_plane:.2f}x{slice_spacing:.1f} mm, "
            f"grid {tuple(int(v) for v in size)}"
        ),
    )


def _distance(points: np.ndarray, centre) -> np.ndarray:
    """Euclidean distance of each point (n, 3) to ``centre``, column by column (fast for float32)."""
    c = np.asarray(centre, dtype=np.float32)
    return np.sqrt((points[:, 0] - c[0]) ** 2 + (points[:, 1] - c[1]) ** 2 + (points[:, 2] - c[2]) ** 2)


def _versor_from_degrees(angles_deg) -> tuple[tuple[float, float, float], float]:
    """(axis, angle in radians) of the rotation R = Rz · Ry · Rx for the given angles in degrees."""
    ax, ay, az = np.radians(angles_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    matrix = rz @ ry @ rx
    angle = float(np.arccos(np.clip((np.trace(matrix) - 1) / 2, -1.0, 1.0)))
    if angle < 1e-12:
        return (0.0, 0.0, 1.0), 0.0
    axis = np.array([matrix[2, 1] - matrix[1, 2], matrix[0, 2] - matrix[2, 0], matrix[1, 0] - matrix[0, 1]])
    return tuple(float(v) for v in axis / np.linalg.norm(axis)), angle


def _user_box(truth: sitk.Image, rng: np.random.Generator) -> BoxPrompt:
    """The truth's physical extent plus 1–4 mm and 5 % per side, with a small jitter (as a user draws)."""
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(truth)
    x, y, z, nx, ny, nz = stats.GetBoundingBox(1)
    low = np.asarray(truth.TransformIndexToPhysicalPoint((x, y, z)))
    high = np.asarray(truth.TransformIndexToPhysicalPoint((x + nx - 1, y + ny - 1, z + nz - 1)))
    low, high = np.minimum(low, high), np.maximum(low, high)
    extent = high - low + np.asarray(truth.GetSpacing())
    margin = rng.uniform(1.0, 4.0) + 0.05 * extent
    jitter = rng.uniform(-0.03, 0.03, size=3) * extent
    half = np.asarray(truth.GetSpacing()) / 2
    return BoxPrompt.from_corners_lps(low - half - margin + jitter, high + half + margin + jitter)


def _seed_points(truth: sitk.Image, arterial: np.ndarray, hu: dict, rng: np.random.Generator) -> np.ndarray:
    """Three interior points where the tumour enhances (not in the necrotic core)."""
    interior = sitk.GetArrayFromImage(sitk.BinaryErode(truth, [2, 2, 1])).astype(bool)
    if not interior.any():
        interior = sitk.GetArrayFromImage(truth).astype(bool)
    enhancing = interior & (arterial > (hu["liver"] + hu["tumour"]) / 2)
    candidates = np.argwhere(enhancing if enhancing.any() else interior)
    chosen = candidates[rng.choice(len(candidates), size=min(3, len(candidates)), replace=False)]
    return np.array([truth.TransformIndexToPhysicalPoint([int(v) for v in kji[::-1]]) for kji in chosen])


def phantom_diameters(count: int = 20, smallest_mm: float = 20.0, largest_mm: float = 150.0) -> np.ndarray:
    """Diameters spread evenly on a log scale (as many small as large tumours)."""
    return np.geomspace(smallest_mm, largest_mm, count)
