"""Regions of a head photo: background, scalp (or face) skin, and existing hair.

Everything runs on a reduced copy of the photo (longest side :data:`WORK_SIDE`): the
regions are smooth at the scale of millimetres, and segmenting 12 megapixels would cost
seconds for nothing. The masks are turned back into full-resolution treatment densities
by :mod:`pointillist.imaging.simulate`.

1. Head versus background: OpenCV's GrabCut (Rother et al. 2004), started from the face
   and the head-model outline when landmarks exist, from a centred rectangle otherwise.
2. Skin colour model: a Gaussian over chroma (a*/L*, b*/L* in CIELAB, D65), fitted
   robustly to the forehead between the brows and the mesh's top edge, or, without a
   face, to the smoother of two colour clusters of the head. Chroma barely moves when
   shading dims the skin, so a shaded temple stays skin; lightness only has to stay
   within a band around the forehead's.
3. Hair: head pixels unlike the skin model, much darker than it, or textured (fine
   local contrast), so that stubble and shaved regrowth count as existing hair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pointillist.errors import PointillistError
from pointillist.imaging.head import Ellipse
from pointillist.imaging.landmarks import FaceKeypoints

WORK_SIDE = 400
"""Longest side of the grid the regions are computed on, in cells."""

TEXTURE_SIDE = 1024
"""Longest side of the copy on which fine texture (stubble) is measured."""

GRABCUT_SIDE = 200
"""Longest side GrabCut runs at: the head outline needs no more, and it is the costliest step."""

_SKIN_D2_MAX = 11.8
"""Squared Mahalanobis distance of chroma below which a colour is skin (chi-square, 2 dof,
99.7 %)."""

_DARKER_MAX = 32.0
"""How much darker (L*) than the forehead shaded skin may be before it reads as hair."""

_TEXTURE_RATIO_MAX = 2.2
"""Texture above this multiple of the skin seed's own texture reads as hair or stubble."""


@dataclass(frozen=True)
class Regions:
    """Masks on the work grid (``cell_px`` photo pixels per cell).

    Attributes
    ----------
    foreground
        The head (skin and hair) and whatever GrabCut keeps with it.
    skin
        Bare skin inside the foreground (scalp, forehead, face).
    skin_lab
        Mean CIELAB (D65) of the skin seed.
    skin_seed
        ``"forehead"`` or ``"head cluster"``: where the skin model came from.
    """

    cell_px: float
    foreground: np.ndarray
    skin: np.ndarray
    skin_lab: tuple[float, float, float]
    skin_seed: str
    seed_mask: np.ndarray
    background_skin_share: float = 0.0
    """Share of the background that looks like the skin: high on close-ups, where the
    scalp fills the frame and GrabCut's "background" is scalp too."""

    @property
    def hair(self) -> np.ndarray:
        return np.asarray(self.foreground & ~self.skin, dtype=bool)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.foreground.shape[0]), int(self.foreground.shape[1]))

    def labels(self) -> np.ndarray:
        """``uint8`` labels: 0 background, 1 skin, 2 hair."""
        out = np.zeros(self.shape, dtype=np.uint8)
        out[self.skin] = 1
        out[self.hair] = 2
        return out

    def hair_coverage(self, window_px: float) -> np.ndarray:
        """Share of hair in a square window ``window_px`` photo pixels wide (0-1).

        Outside the head counts as neither: the share is taken over head cells only, so
        the fringe of hair at the outline is not diluted by the background.
        """
        import cv2

        k = max(3, round(window_px / self.cell_px) | 1)
        hair = cv2.boxFilter(self.hair.astype(np.float32), -1, (k, k), normalize=True)
        head = cv2.boxFilter(self.foreground.astype(np.float32), -1, (k, k), normalize=True)
        return np.where(head > 1e-3, hair / np.maximum(head, 1e-3), 0.0).astype(np.float32)


def work_size(height: int, width: int, side: int = WORK_SIDE) -> tuple[int, int, float]:
    """``(h, w, cell_px)`` of the work grid for a photo of ``height`` x ``width``."""
    cell = max(height, width) / side if max(height, width) > side else 1.0
    return max(1, round(height / cell)), max(1, round(width / cell)), cell


def _lab(rgb_small: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(rgb_small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _shrink(rgb: np.ndarray, side: int) -> np.ndarray:
    """A copy about ``side`` pixels long, reduced by a whole factor (OpenCV's fast path)."""
    import cv2

    h, w = rgb.shape[:2]
    k = -(-max(h, w) // side)
    if k <= 1:
        return rgb
    return np.asarray(
        cv2.resize(rgb, (max(1, round(w / k)), max(1, round(h / k))), interpolation=cv2.INTER_AREA),
        dtype=np.uint8,
    )


def _texture(mid: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Local fine contrast of lightness (hair strands, stubble), resampled to ``shape``."""
    import cv2

    grey = cv2.cvtColor(mid, cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.2))
    energy = cv2.GaussianBlur(detail, (0, 0), 2.0)
    return np.asarray(
        cv2.resize(energy, (shape[1], shape[0]), interpolation=cv2.INTER_AREA), dtype=np.float32
    )


def _grabcut(small: np.ndarray, init: np.ndarray | None) -> np.ndarray:
    """Head mask on the work grid by GrabCut, run on a coarser copy for speed."""
    import cv2

    full_h, full_w = small.shape[:2]
    coarse = _shrink(small, GRABCUT_SIDE)
    h, w = coarse.shape[:2]
    if init is not None and (h, w) != (full_h, full_w):
        init = cv2.resize(init, (w, h), interpolation=cv2.INTER_NEAREST)
    bgr = cv2.cvtColor(coarse, cv2.COLOR_RGB2BGR)
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    if init is None:
        mask = np.zeros((h, w), np.uint8)
        mx, my = max(1, w // 25), max(1, h // 25)
        cv2.grabCut(bgr, mask, (mx, my, w - 2 * mx, h - 2 * my), bgd, fgd, 3, cv2.GC_INIT_WITH_RECT)
    else:
        mask = init.copy()
        if not np.any((mask == cv2.GC_BGD) | (mask == cv2.GC_PR_BGD)):
            return np.ones((full_h, full_w), bool)
        cv2.grabCut(bgr, mask, None, bgd, fgd, 3, cv2.GC_INIT_WITH_MASK)  # type: ignore[call-overload]
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.float32)
    if (h, w) != (full_h, full_w):
        fg = cv2.resize(fg, (full_w, full_h), interpolation=cv2.INTER_LINEAR)
    return _largest_component(fg >= 0.5)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return mask.astype(bool)
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    filled = labels == best
    # Close holes (eyes, mouth, specular highlights) so the head is one solid region.
    inv = (~filled).astype(np.uint8)
    n2, lab2, stats2, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    for i in range(1, n2):
        x, y, w, h, _area = stats2[i]
        if x > 0 and y > 0 and x + w < mask.shape[1] and y + h < mask.shape[0]:
            filled |= lab2 == i
    return np.asarray(filled, dtype=bool)


def _frontal_init(
    shape: tuple[int, int], cell: float, keypoints: FaceKeypoints, outline: Ellipse
) -> np.ndarray:
    import cv2

    h, w = shape
    init = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    (cx, cy), (a, b) = outline.center, outline.semi_axes
    center = (round((cx + 0.5) / cell - 0.5), round((cy + 0.5) / cell - 0.5))
    axes = (max(1, round(a * 1.25 / cell)), max(1, round(b * 1.15 / cell)))
    cv2.ellipse(init, center, axes, outline.angle_deg, 0, 360, int(cv2.GC_PR_FGD), -1)
    # Far outside the cranium is surely background: a band around the enlarged outline.
    band = np.zeros((h, w), np.uint8)
    big = (max(1, round(a * 1.9 / cell)), max(1, round(b * 1.6 / cell)))
    cv2.ellipse(band, center, big, outline.angle_deg, 0, 360, 1, -1)
    up = keypoints.up
    # Only the upper half of the picture plane around the head matters; below the chin
    # (neck, clothes) is left to GrabCut as probable background.
    init[(band == 0)] = cv2.GC_BGD
    face = _face_polygon(keypoints, cell)
    if face is not None:
        cv2.fillPoly(init, [face], int(cv2.GC_FGD))
    else:
        g = np.asarray(keypoints.glabella)
        r = max(2, round(keypoints.face_width_px * 0.25 / cell))
        c = (g + up * keypoints.face_width_px * 0.1 + 0.5) / cell - 0.5
        cv2.circle(init, (round(c[0]), round(c[1])), r, int(cv2.GC_FGD), -1)
    return init


def _face_polygon(keypoints: FaceKeypoints, cell: float) -> np.ndarray | None:
    from pointillist.imaging.landmarks import FACE_OVAL

    if keypoints.mesh is None:
        return None
    oval = keypoints.mesh[list(FACE_OVAL)]
    centre = oval.mean(axis=0)
    shrunk = centre + (oval - centre) * 0.85
    return np.asarray(np.rint((shrunk + 0.5) / cell - 0.5), dtype=np.int32)


def _seed_from_face(keypoints: FaceKeypoints, shape: tuple[int, int], cell: float) -> np.ndarray:
    import cv2

    seed = np.zeros(shape, np.uint8)
    if keypoints.forehead_patch is not None:
        poly = np.rint((keypoints.forehead_patch + 0.5) / cell - 0.5).astype(np.int32)
        cv2.fillPoly(seed, [cv2.convexHull(poly)], 1)
    if seed.sum() < 4:
        g = np.asarray(keypoints.glabella) + keypoints.up * keypoints.face_width_px * 0.12
        r = max(1, round(keypoints.face_width_px * 0.12 / cell))
        c = (g + 0.5) / cell - 0.5
        cv2.circle(seed, (round(c[0]), round(c[1])), r, 1, -1)
    return seed.astype(bool)


def _seed_from_clusters(lab: np.ndarray, texture: np.ndarray, fg: np.ndarray) -> np.ndarray:
    """Without a face: split the head into two colour clusters, skin is the smoother."""
    import cv2

    idx = np.flatnonzero(fg.ravel())
    if idx.size < 20:
        return fg.copy()
    feats = np.concatenate(
        [lab.reshape(-1, 3)[idx], texture.ravel()[idx, None] * 2.0], axis=1
    ).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(7)
    _, labels, _ = cv2.kmeans(feats, 2, None, criteria, 3, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload]
    labels = labels.ravel()
    tex = texture.ravel()[idx]
    smooth = 0 if np.median(tex[labels == 0]) <= np.median(tex[labels == 1]) else 1
    flat = np.zeros(fg.size, bool)
    flat[idx[labels == smooth]] = True
    seed = flat.reshape(fg.shape)
    # Keep the core of the cluster: erode so that edge pixels do not widen the model.
    eroded = cv2.erode(seed.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return eroded if eroded.sum() >= 20 else seed


def _seed_lab(lab: np.ndarray, seed: np.ndarray) -> tuple[float, float, float]:
    median = np.median(lab[seed].astype(np.float64), axis=0)
    return float(median[0]), float(median[1]), float(median[2])


def _chroma(lab: np.ndarray) -> np.ndarray:
    """``(a*/L*, b*/L*)``: nearly unchanged when shading scales the light on the skin."""
    lightness = np.maximum(lab[..., 0:1], 5.0)
    return np.asarray(lab[..., 1:3] / lightness, dtype=np.float64)


def _skin_model(lab: np.ndarray, seed: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Robust skin chroma mean, its inverse covariance, and the skin's median L*."""
    pix = lab[seed].astype(np.float64)
    if pix.shape[0] < 4:
        raise PointillistError(
            "cannot find bare skin to learn its colour from (no bare scalp, or a "
            "close-up with no background around the head); give --mask with the "
            "treatment area"
        )
    median = np.median(pix, axis=0)
    dev = np.abs(pix - median)
    mad = np.median(dev, axis=0) * 1.4826 + np.array([1.0, 0.5, 0.5])
    keep = np.all(dev <= 2.5 * mad, axis=1)
    core = pix[keep] if keep.sum() >= 4 else pix
    chroma = _chroma(core)
    mean = chroma.mean(axis=0)
    cov = np.cov(chroma.T) if chroma.shape[0] > 3 else np.zeros((2, 2))
    # Skin chroma varies a little over the head (redder scalp, tanned forehead).
    cov = cov + np.diag([0.02**2, 0.025**2])
    return mean, np.linalg.inv(cov), float(np.median(core[:, 0]))


def segment_regions(
    rgb: np.ndarray,
    *,
    keypoints: FaceKeypoints | None = None,
    outline: Ellipse | None = None,
) -> Regions:
    """Split a head photo into background, skin and hair on a reduced grid.

    Parameters
    ----------
    rgb
        ``(H, W, 3)`` uint8 photo.
    keypoints
        Face landmarks when a face was found; they seed the skin model (forehead) and
        GrabCut (face = head).
    outline
        The head model's outline (frontal views), which bounds the head for GrabCut.
    """
    import cv2

    height, width = rgb.shape[:2]
    h, w, cell = work_size(height, width)
    mid = _shrink(rgb, TEXTURE_SIDE)
    small = cv2.resize(mid, (w, h), interpolation=cv2.INTER_AREA) if cell > 1.0 else rgb
    lab = _lab(small)
    texture = _texture(mid, (h, w))
    if keypoints is not None and outline is not None:
        fg = _grabcut(small, _frontal_init((h, w), cell, keypoints, outline))
    else:
        fg = _grabcut(small, None)
    if keypoints is not None:
        seed = _seed_from_face(keypoints, (h, w), cell)
        seed_name = "forehead"
    else:
        seed = _seed_from_clusters(lab, texture, fg)
        seed_name = "head cluster"
    mean, inv_cov, seed_lightness = _skin_model(lab, seed)
    diff = _chroma(lab).reshape(-1, 2) - mean
    d2 = np.einsum("ij,jk,ik->i", diff, inv_cov, diff).reshape(h, w)
    seed_texture = float(np.median(texture[seed])) + 1.0
    smooth = texture <= _TEXTURE_RATIO_MAX * seed_texture
    # Shaded skin keeps its chroma and darkens; hair is much darker, or greyer, or textured.
    lit = (lab[..., 0] >= seed_lightness - _DARKER_MAX) & (lab[..., 0] <= seed_lightness + 25.0)
    skin_like = (d2 <= _SKIN_D2_MAX) & smooth & lit
    skin = fg & skin_like
    background = ~fg
    background_skin = float(skin_like[background].mean()) if background.any() else 1.0
    # Isolated skin-coloured specks in hair and hair-coloured specks in skin are noise.
    kernel = np.ones((3, 3), np.uint8)
    skin = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool)
    skin = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool) & fg
    return Regions(
        cell_px=cell,
        foreground=fg,
        skin=skin,
        skin_lab=_seed_lab(lab, seed),
        skin_seed=seed_name,
        seed_mask=seed,
        background_skin_share=background_skin,
    )


def regions_from_mask(rgb: np.ndarray, mask: np.ndarray) -> Regions:
    """Regions of a close-up where the given treatment mask is the only scalp we know.

    Used when the photo shows no head outline (the scalp fills the frame), so GrabCut
    has no background to learn from: the mask is the head, and the skin inside it.
    """
    import cv2

    height, width = rgb.shape[:2]
    h, w, cell = work_size(height, width)
    small = cv2.resize(_shrink(rgb, TEXTURE_SIDE), (w, h), interpolation=cv2.INTER_AREA)
    grid = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) >= 0.5
    if not grid.any():
        raise PointillistError("the mask is too small to see at the photo's scale; paint more")
    return Regions(
        cell_px=cell,
        foreground=grid,
        skin=grid.copy(),
        skin_lab=_seed_lab(_lab(small), grid),
        skin_seed="mask",
        seed_mask=grid.copy(),
    )
