"""Regions of a head photo: the client, bare skin, thin and dense hair, never-treat parts.

Everything runs on a reduced copy of the photo (longest side :data:`WORK_SIDE`): the
regions are smooth at the scale of millimetres, and segmenting 12 megapixels would cost
seconds for nothing. :meth:`Regions.treatable_scalp` is where the preview may put
impressions; the hairline design then limits the front.

1. The client. With a face: MediaPipe Selfie Segmentation
   (:mod:`~pointillist.imaging.segmenter`) marks every person; each person pixel goes to
   the nearest face (in face widths) and the client keeps the connected part that holds
   their face. Without a face (top and back views), or when the segmenter misses the
   face (drawings): OpenCV's GrabCut (Rother et al. 2004).
2. Never treated: the background, other people's faces, and everything below the
   client's eyebrows (brows, eyes, glasses, ears beside them, beard, neck)
   (``data/regions.toml``).
3. Skin in any light: a Gaussian over linear-RGB chromaticity fitted to the face (or,
   without a face, to the smoother of two colour clusters of the head). Shade scales the
   light and leaves chromaticity alone, deep shade turns it more saturated, and a
   specular highlight moves it towards white while brightening; so the shaded sides and
   the shine on a bald dome are skin.
4. Hair: textured (fine lightness contrast) cells are thin hair when they keep the
   skin's hue and most of its lightness (strands with skin between them: stubble, a thin
   forelock) and dense hair otherwise. The photo's own hair colour is learned from the
   hair it surely shows and competes with the skin's colour for every scalp cell (brown
   hair is skin-coloured but darker; grey and white hair are whiter than the light makes
   the skin). Skin-coloured islands that no path of skin links to the face are hair of
   the skin's colour (a lit blond tuft).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pointillist.data import load_table
from pointillist.errors import PointillistError
from pointillist.imaging.grid import mask_on_grid
from pointillist.imaging.head import Ellipse
from pointillist.imaging.landmarks import FaceKeypoints

WORK_SIDE = 400
"""Longest side of the grid the regions are computed on, in cells."""

TEXTURE_SIDE = 1024
"""Longest side of the copy on which fine texture (stubble) is measured."""

GRABCUT_SIDE = 200
"""Longest side GrabCut runs at: the head outline needs no more, and it is the costliest step."""

_SKIN_D2_MAX = 11.8
"""Squared Mahalanobis distance of chromaticity below which a colour is the skin's
(chi-square, 2 dof, 99.7 %)."""

_CHROMATICITY_SPREAD = 0.012
"""Added spread (rg chromaticity) for what one face does not show: a redder scalp, a
tanned forehead."""

_HUE_TOLERANCE_DEG = 20.0
"""CIELAB hue angle within which thin hair keeps the skin's hue (the face's own hue
spreads about 10 degrees either side over light and shade)."""

_NEUTRAL_CHROMA = 4.0
"""Below this chroma (C*ab) the hue angle is noise."""

_DEEP_SHADE_SHARE = 0.6
"""Below this share of the skin's median L*, chromaticity no longer tells skin from hair."""

_SHADE_SATURATION = 1.0
"""How much more saturated than the skin its deep shade may look, as a share of the skin's
chromaticity distance from white."""

_PLAIN_LIGHTNESS_BAND = 25.0
"""L* either side of the skin's median within which skin-coloured background suggests
a close-up (the scalp fills the frame)."""

_HIGHLIGHT_SLACK = 0.15
"""How much whiter than its brightness explains a highlight may look (JPEG, clipping)."""

_DARKEST_SHARE = 0.4
"""Shaded skin keeps at least this share of the skin's median L*: the far side of a lit
dome keeps about half; black hair does not."""

_LINK_CELLS = 5
"""Width (work-grid cells) a path of skin must have to link scalp to the face."""

_HAIR_SAMPLES_MIN = 30
_HAIR_SHARE_MIN = 0.03
"""Sure hair (cells and share of the scalp) needed to learn the photo's hair colour."""

_LAB_SPREAD = (3.0, 1.5, 1.5)
"""Added spread (L*, a*, b*) of the learned hair and skin colours: JPEG noise and what
the samples miss."""


@dataclass(frozen=True)
class Regions:
    """Masks on the work grid (``cell_px`` photo pixels per cell).

    Every cell of the head is exactly one of bare ``skin``, ``thin_hair`` (strands or
    stubble with the skin showing between them) or dense ``hair``; ``never_treat`` marks
    what the preview must never put impressions on whatever the design says.

    Attributes
    ----------
    foreground
        The client: the person whose face was chosen (head and body) when a face was
        found, else the head GrabCut separates from the backdrop.
    skin
        Bare skin of the client's head (scalp, forehead, face), in light or shade.
    thin_hair
        Skin-coloured but textured: stubble, a thin forelock, diffuse thinning.
    hair
        Dense hair: head cells whose colour is not the skin's.
    never_treat
        Background, other people, and the face from the eyebrows down (brows, eyes,
        glasses, ears beside them, beard, neck).
    skin_lab
        Mean CIELAB (D65) of the skin seed.
    skin_seed
        ``"forehead"``, ``"head cluster"`` or ``"mask"``: where the skin model came from.
    person
        ``"segmenter"`` (the person segmenter split by faces), ``"grabcut"`` or ``"mask"``.
    """

    cell_px: float
    foreground: np.ndarray
    skin: np.ndarray
    thin_hair: np.ndarray
    hair: np.ndarray
    never_treat: np.ndarray
    skin_lab: tuple[float, float, float]
    skin_seed: str
    seed_mask: np.ndarray
    person: str = "grabcut"
    background_skin_share: float = 0.0
    """Share of the background that looks like the skin: high on close-ups, where the
    scalp fills the frame and GrabCut's "background" is scalp too."""

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.foreground.shape[0]), int(self.foreground.shape[1]))

    def labels(self) -> np.ndarray:
        """``uint8`` labels: 0 background or body, 1 skin, 2 dense hair, 3 thin hair."""
        out = np.zeros(self.shape, dtype=np.uint8)
        out[self.skin] = 1
        out[self.hair] = 2
        out[self.thin_hair] = 3
        return out

    def hair_coverage(self, window_px: float) -> np.ndarray:
        """Share of dense hair in a square window ``window_px`` photo pixels wide (0-1).

        Only head cells (skin, thin or dense hair) count, so the fringe of hair at the
        outline is not diluted by the background.
        """
        import cv2

        k = max(3, round(window_px / self.cell_px) | 1)
        head = (self.skin | self.thin_hair | self.hair).astype(np.float32)
        hair = cv2.boxFilter(self.hair.astype(np.float32), -1, (k, k), normalize=True)
        share = cv2.boxFilter(head, -1, (k, k), normalize=True)
        return np.where(share > 1e-3, hair / np.maximum(share, 1e-3), 0.0).astype(np.float32)

    def treatable_scalp(self, mm_per_px: float) -> np.ndarray:
        """Where impressions may go: the client's bare scalp and thin hair.

        A cell is treatable when dense hair covers less than ``dense_hair_coverage`` of
        its ``hair_window_mm`` neighbourhood (``data/regions.toml``) and it is outside
        :attr:`never_treat`. The hairline design (frontal views) then limits the front.
        """
        rules = regions_table()["treatable"]
        coverage = self.hair_coverage(float(rules["hair_window_mm"]) / mm_per_px)
        head = self.skin | self.thin_hair | self.hair
        open_scalp = head & (coverage < float(rules["dense_hair_coverage"]))
        return np.asarray(open_scalp & self.foreground & ~self.never_treat, dtype=bool)


def regions_table() -> dict[str, Any]:
    """``data/regions.toml``: what counts as dense hair and what is never treated."""
    return load_table("regions")


def work_size(height: int, width: int, side: int = WORK_SIDE) -> tuple[int, int, float]:
    """``(h, w, cell_px)`` of the work grid for a photo of ``height`` x ``width``."""
    cell = max(height, width) / side if max(height, width) > side else 1.0
    return max(1, round(height / cell)), max(1, round(width / cell)), cell


def _lab(rgb_small: np.ndarray) -> np.ndarray:
    import cv2

    from pointillist.imaging.warmup import wait_for_opencv

    wait_for_opencv()
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
    # GrabCut seeds its colour models by k-means from OpenCV's random generator, whose
    # state carries over from call to call in a thread: a second preview of the same
    # photo in one process (the web app, the tests) found another head outline. Seed 0
    # is OpenCV's own start state, so every run matches a fresh process's first one.
    cv2.setRNGSeed(0)
    if init is None:
        mask = np.zeros((h, w), np.uint8)
        mx, my = max(1, w // 25), max(1, h // 25)
        cv2.grabCut(bgr, mask, (mx, my, w - 2 * mx, h - 2 * my), bgd, fgd, 3, cv2.GC_INIT_WITH_RECT)
    else:
        mask = init.copy()
        if not np.any((mask == cv2.GC_BGD) | (mask == cv2.GC_PR_BGD)):
            return np.ones((full_h, full_w), bool)
        cv2.grabCut(bgr, mask, None, bgd, fgd, 3, cv2.GC_INIT_WITH_MASK)  # type: ignore[call-overload, unused-ignore]
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
    # Close holes (eyes, mouth, specular highlights) so the head is one solid region.
    return _fill_holes(labels == best)


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
    _, labels, _ = cv2.kmeans(feats, 2, None, criteria, 3, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload, unused-ignore]
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


@dataclass(frozen=True)
class _SkinModel:
    """The client's skin colour as the photo shows it, in any light.

    Chromaticity (r, g) = (R, G) / (R + G + B) of linear sRGB is unchanged when shade
    scales the light, so one Gaussian over it fits the skin in light and shade alike; a
    specular highlight adds the light's own (near-white) colour, moving the
    chromaticity along the segment from the skin's towards white (1/3, 1/3) while the
    pixel brightens.
    """

    mean: np.ndarray
    inv_cov: np.ndarray
    lightness: float
    """Median L* of the reference skin."""
    lightness_low: float
    """Lower quartile L* of the reference skin: the diffuse light under a highlight."""
    hue_deg: float
    """Median CIELAB hue angle h_ab of the reference skin."""

    @classmethod
    def fit(
        cls, lab: np.ndarray, chroma: np.ndarray, seed: np.ndarray, reference: np.ndarray
    ) -> _SkinModel:
        """Fitted to the ``reference`` (the face, which shows the skin in more lights
        than the ``seed``, the bare forehead, alone)."""
        pix = chroma[reference | seed].astype(np.float64)
        lightness = lab[..., 0][reference | seed].astype(np.float64)
        hue = _hue_deg(lab[reference | seed])
        if pix.shape[0] < 4:
            raise PointillistError(
                "cannot find bare skin to learn its colour from (no bare scalp, or a "
                "close-up with no background around the head); give --mask with the "
                "treatment area"
            )
        median = np.median(pix, axis=0)
        dev = np.abs(pix - median)
        mad = np.median(dev, axis=0) * 1.4826 + 1e-3
        # Lips, eyes, brows and glasses inside the reference are outliers of its colour.
        keep = np.all(dev <= 2.5 * mad, axis=1) & (lightness >= 0.5 * np.median(lightness))
        core = pix[keep] if keep.sum() >= 4 else pix
        cov = np.cov(core.T) if core.shape[0] > 3 else np.zeros((2, 2))
        cov = cov + np.eye(2) * _CHROMATICITY_SPREAD**2
        kept = lightness[keep] if keep.sum() >= 4 else lightness
        return cls(
            mean=core.mean(axis=0),
            inv_cov=np.linalg.inv(cov),
            lightness=float(np.median(kept)),
            lightness_low=float(np.percentile(kept, 25)),
            hue_deg=float(np.median(hue[keep] if keep.sum() >= 4 else hue)),
        )

    def classify(
        self, lab: np.ndarray, chroma: np.ndarray, thin_share: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(loose, strict, plain)`` masks of colours this skin can take.

        ``loose``: down to :data:`_DARKEST_SHARE` of the skin's L*, the skin's
        chromaticity, or in shade a more saturated one, or below
        :data:`_DEEP_SHADE_SHARE` any; or a highlight on it (on the way to white and
        brighter than the skin's lower quartile). ``strict`` also asks a highlight to be
        as bright as the white it carries (grey and white hair are as white but not as
        bright), the colour to keep ``thin_share`` of the skin's median L* (strands thin
        enough to show the skin between them darken it less than that) and the skin's
        hue (blond or red strands turn it). ``plain``: the skin's chromaticity at about
        its lightness.
        """
        white = np.array([1.0 / 3.0, 1.0 / 3.0])
        toward = white - self.mean
        rel = chroma - self.mean
        along = (rel @ (self.inv_cov @ toward)) / float(toward @ self.inv_cov @ toward)
        t = np.clip(along, 0.0, 1.0)
        off = rel - t[..., None] * toward
        # Deep shade is lit by light the skin itself reflected, so it turns more saturated:
        # away from white, as far again as the skin is from white at most.
        deep = rel - np.clip(along, -_SHADE_SATURATION, 0.0)[..., None] * toward
        d2_deep = _mahalanobis2(deep, self.inv_cov)
        d2_line = _mahalanobis2(off, self.inv_cov)
        d2 = _mahalanobis2(rel, self.inv_cov)
        lightness = lab[..., 0]
        lit = lightness >= _DARKEST_SHARE * self.lightness
        skin_hue = d2 <= _SKIN_D2_MAX
        brighter = lightness >= self.lightness_low
        shaded = (d2_deep <= _SKIN_D2_MAX) & (lightness < self.lightness)
        # In the deepest shade the chromaticity is mostly noise, JPEG colour bleeding and
        # the backdrop's reflected light: only the learned hair colour can refuse it.
        shaded |= lightness < _DEEP_SHADE_SHARE * self.lightness
        loose = lit & (skin_hue | shaded | ((d2_line <= _SKIN_D2_MAX) & brighter))
        # Share of the light a highlight adds: the diffuse part is at most the skin's own.
        added = 1.0 - self.lightness_low / np.maximum(lightness, 1.0)
        strict = loose & (skin_hue | (t <= added + _HIGHLIGHT_SLACK))
        strict &= lightness >= thin_share * self.lightness
        turn = np.abs((_hue_deg(lab) - self.hue_deg + 180.0) % 360.0 - 180.0)
        strict &= (turn <= _HUE_TOLERANCE_DEG) | (
            np.hypot(lab[..., 1], lab[..., 2]) < _NEUTRAL_CHROMA
        )
        # The skin as lit as the reference, by chromaticity alone: what a close-up's
        # "background" looks like when the scalp fills the frame.
        plain = skin_hue & (np.abs(lightness - self.lightness) <= _PLAIN_LIGHTNESS_BAND)
        return (
            np.asarray(loose, dtype=bool),
            np.asarray(strict, dtype=bool),
            np.asarray(plain, dtype=bool),
        )


def _hair_colour(
    lab: np.ndarray,
    scalp: np.ndarray,
    loose: np.ndarray,
    strict: np.ndarray,
    smooth: np.ndarray,
    seed: np.ndarray,
) -> np.ndarray:
    """Cells nearer this photo's hair colour than its skin colour (CIELAB Gaussians).

    Brown hair has the skin's chromaticity and only its darkness tells it from a shaded
    temple; how dark depends on the person. So the hair colour is learned from the hair
    the photo surely shows (scalp cells of another colour than the skin, or strands of
    another colour), the skin's from the forehead and the surely bare scalp, and every cell
    goes to the likelier of the two. With too little sure hair (a bald or shaved head)
    nothing is learned and nothing changes.
    """
    import cv2

    inner = cv2.erode(scalp.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    sure_hair = inner & (~loose | (~smooth & ~strict))
    if sure_hair.sum() < max(_HAIR_SAMPLES_MIN, _HAIR_SHARE_MIN * inner.sum()):
        return np.zeros(scalp.shape, dtype=bool)
    sure_skin = seed | (inner & strict & smooth)
    x = lab.reshape(-1, 3).astype(np.float64)
    scores = []
    for sample in (sure_hair, sure_skin):
        pix = lab[sample].astype(np.float64)
        mean = pix.mean(axis=0)
        cov = np.cov(pix.T) + np.diag(_LAB_SPREAD) ** 2
        inv = np.linalg.inv(cov)
        diff = x - mean
        d2 = np.einsum("ij,jk,ik->i", diff, inv, diff)
        scores.append(-0.5 * d2 - 0.5 * np.log(np.linalg.det(cov)))
    return np.asarray((scores[0] > scores[1]).reshape(scalp.shape) & scalp, dtype=bool)


def _reached_from_face(
    skin: np.ndarray, thin: np.ndarray, hair: np.ndarray, never: np.ndarray, face: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scalp skin and thin hair are continuous with the face's skin; islands of them
    beyond the hair (lit tufts of blond or brown hair) are hair.

    A bald scalp, lit or shaded, joins the forehead without crossing dense hair; so
    above the brows, skin-coloured cells that no path through skin or thin hair links
    to the face are hair of the skin's colour.
    """
    import cv2

    open_ = (skin | thin).astype(np.uint8)
    # Links a few cells wide are gaps between locks, not bare scalp: cut them first.
    core = cv2.erode(open_, np.ones((_LINK_CELLS, _LINK_CELLS), np.uint8))
    n, labels = cv2.connectedComponents(core, connectivity=4)
    linked = np.zeros(n, dtype=bool)
    linked[np.unique(labels[face & (core > 0)])] = True
    linked[0] = False
    kernel = np.ones((_LINK_CELLS, _LINK_CELLS), np.uint8)
    reached = cv2.dilate(linked[labels].astype(np.uint8), kernel).astype(bool)
    island = ~reached & (open_ > 0) & ~never
    return skin & ~island, thin & ~island, hair | island


def _hue_deg(lab: np.ndarray) -> np.ndarray:
    return np.asarray(np.degrees(np.arctan2(lab[..., 2], lab[..., 1])), dtype=np.float64)


def _mahalanobis2(v: np.ndarray, inv_cov: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis length of 2-vectors ``(..., 2)`` (written out: einsum is
    several times slower on a whole grid)."""
    x, y = v[..., 0], v[..., 1]
    a, b, c = float(inv_cov[0, 0]), float(inv_cov[0, 1] + inv_cov[1, 0]), float(inv_cov[1, 1])
    return np.asarray(a * x * x + b * x * y + c * y * y, dtype=np.float64)


def _chromaticity(rgb_small: np.ndarray) -> np.ndarray:
    linear = (rgb_small.astype(np.float32) / 255.0) ** 2.2
    total = np.maximum(linear.sum(axis=-1, keepdims=True), 1e-4)
    return np.asarray(linear[..., :2] / total, dtype=np.float64)


def _majority(masks: Sequence[np.ndarray], within: np.ndarray) -> list[np.ndarray]:
    """Relabel each cell of ``within`` by the label most common around it (5 x 5)."""
    import cv2

    # The small bias breaks ties in favour of the earlier label.
    votes = [
        cv2.blur(m.astype(np.float32), (5, 5)) + 1e-4 * (len(masks) - i)
        for i, m in enumerate(masks)
    ]
    best = np.maximum.reduce(votes)
    return [np.asarray(within & (v == best), dtype=bool) for v in votes]


def _to_cells(points: np.ndarray, cell: float) -> np.ndarray:
    return np.asarray(np.rint((np.asarray(points) + 0.5) / cell - 0.5), dtype=np.int32)


def _face_centre(face: FaceKeypoints) -> np.ndarray:
    from pointillist.imaging.landmarks import FACE_OVAL

    if face.mesh is not None:
        return np.asarray(face.mesh[list(FACE_OVAL)].mean(axis=0), dtype=np.float64)
    return np.asarray(face.glabella, dtype=np.float64) - face.up * 0.3 * face.face_width_px


def _face_disc(face: FaceKeypoints, shape: tuple[int, int], cell: float, grow: float) -> np.ndarray:
    """The face oval (or a disc of the face's width without a mesh), grown by ``grow``
    face widths, as a mask on the grid."""
    import cv2

    from pointillist.imaging.landmarks import FACE_OVAL

    out = np.zeros(shape, np.uint8)
    centre = _face_centre(face)
    if face.mesh is not None:
        oval = face.mesh[list(FACE_OVAL)]
        spread = oval - centre
        norm = np.maximum(np.hypot(spread[:, 0], spread[:, 1]), 1e-6)[:, None]
        grown = oval + spread / norm * grow * face.face_width_px
        cv2.fillPoly(out, [_to_cells(grown, cell)], 1)
    else:
        c = _to_cells(centre, cell)
        r = max(1, round(face.face_width_px * (0.5 + grow) / cell))
        cv2.circle(out, (int(c[0]), int(c[1])), r, 1, -1)
    return out.astype(bool)


def _client_person(
    people: np.ndarray, faces: Sequence[FaceKeypoints], client: int, cell: float
) -> np.ndarray:
    """The chosen person's share of the segmenter's people mask.

    The segmenter marks every person; each person cell goes to the face nearest to it
    in units of that face's width (so a big face near the camera claims its own
    shoulders, not its neighbour's), and the client keeps the connected part that holds
    their face, with its holes (eyes, a specular highlight) filled.
    """
    import cv2

    h, w = people.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    px, py = (xx + 0.5) * cell - 0.5, (yy + 0.5) * cell - 0.5
    dist = np.stack(
        [
            np.hypot(px - c[0], py - c[1]) / max(f.face_width_px, 1.0)
            for f in faces
            for c in [_face_centre(f)]
        ]
    )
    mine = np.asarray(people & (np.argmin(dist, axis=0) == client), dtype=bool)
    n, labels = cv2.connectedComponents(mine.astype(np.uint8), connectivity=8)
    if n <= 1:
        return mine
    face = _face_disc(faces[client], (h, w), cell, 0.0)
    hits = np.bincount(labels[face & mine], minlength=n)
    hits[0] = 0
    if hits.max() == 0:
        return mine
    return _fill_holes(labels == int(np.argmax(hits)))


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    import cv2

    filled = mask.copy()
    inv = (~mask).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    for i in range(1, n):
        x, y, w, h, _area = stats[i]
        if x > 0 and y > 0 and x + w < mask.shape[1] and y + h < mask.shape[0]:
            filled |= labels == i
    return np.asarray(filled, dtype=bool)


def _height_above_glabella(face: FaceKeypoints, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Photo px each cell lies above the glabella along the face's up direction."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    gx, gy = face.glabella
    up = face.up
    height = ((xx + 0.5) * cell - 0.5 - gx) * up[0] + ((yy + 0.5) * cell - 0.5 - gy) * up[1]
    return np.asarray(height, dtype=np.float64)


def _brow_top_px(face: FaceKeypoints, rules: dict[str, Any]) -> float:
    """Height of the eyebrows' upper edge above the glabella, in photo px."""
    from pointillist.imaging.landmarks import EYEBROW_TOPS

    if face.mesh is None:
        return float(rules["brow_rise_face_widths"]) * face.face_width_px
    rel = face.mesh[list(EYEBROW_TOPS)] - np.asarray(face.glabella)
    return float(np.max(rel @ face.up))


def _brow_line_px(face: FaceKeypoints) -> float:
    """Height above the glabella (photo px) below which the face is never treated."""
    rules = regions_table()["never_treat"]
    margin = float(rules["brow_margin_face_widths"]) * face.face_width_px
    return _brow_top_px(face, rules) + margin


def brow_line_fade(
    face: FaceKeypoints, shape: tuple[int, int], cell: float, mm_per_px: float
) -> np.ndarray:
    """Weight (0-1) on the work grid rising over ``[never_treat] side_fade_mm`` above the
    line at the brows below which nothing is treated.

    Beside the designed front line, at the temples and over the ears, the treated scalp
    reaches down to that line; cut there, it ended in a straight edge level with the
    brows, the hard edge a natural hairline never has (REFERENCE.md, section 3). Faded,
    the sides taper off as a short sideburn does. The front line is centimetres higher,
    so the forehead is unchanged.
    """
    fade_px = float(regions_table()["never_treat"]["side_fade_mm"]) / mm_per_px
    height = _height_above_glabella(face, shape, cell)
    t = np.clip((height - _brow_line_px(face)) / max(fade_px, 1e-6), 0.0, 1.0)
    return np.asarray(t * t * (3.0 - 2.0 * t), dtype=np.float32)


def _never_treat(
    foreground: np.ndarray, faces: Sequence[FaceKeypoints], client: int, cell: float
) -> np.ndarray:
    rules = regions_table()["never_treat"]
    face = faces[client]
    height = _height_above_glabella(face, foreground.shape, cell)
    never = ~foreground | (height < _brow_line_px(face))
    grow = float(rules["other_face_margin_face_widths"])
    for i, other in enumerate(faces):
        if i != client:
            never |= _face_disc(other, foreground.shape, cell, grow)
    return never


def segment_regions(
    rgb: np.ndarray,
    *,
    keypoints: FaceKeypoints | None = None,
    outline: Ellipse | None = None,
    faces: Sequence[FaceKeypoints] = (),
) -> Regions:
    """Split a head photo into the client, bare skin, thin and dense hair on a reduced grid.

    Parameters
    ----------
    rgb
        ``(H, W, 3)`` uint8 photo.
    keypoints
        The client's face landmarks when a face was found: they pick the client among
        the people, seed the skin model (forehead) and bound the never-treat face.
    outline
        The head model's outline (frontal views), which bounds the head for GrabCut
        when the person segmenter finds no one at the face (drawings).
    faces
        Every face in the photo (:func:`~pointillist.imaging.landmarks.detect_faces`),
        the client among them; other people are cut off and never treated.
    """
    import cv2

    from pointillist.imaging.segmenter import person_probability

    height, width = rgb.shape[:2]
    h, w, cell = work_size(height, width)
    mid = _shrink(rgb, TEXTURE_SIDE)
    small = cv2.resize(mid, (w, h), interpolation=cv2.INTER_AREA) if cell > 1.0 else rgb
    lab = _lab(small)
    texture = _texture(mid, (h, w))
    person = "grabcut"
    people_faces: list[FaceKeypoints] = list(faces)
    if keypoints is not None and not any(f is keypoints for f in people_faces):
        people_faces.insert(0, keypoints)
    client = next((i for i, f in enumerate(people_faces) if f is keypoints), 0)
    if keypoints is not None:
        people = person_probability(small, (h, w)) >= float(
            regions_table()["people"]["person_probability"]
        )
        fg = _client_person(people, people_faces, client, cell)
        face = _face_disc(keypoints, (h, w), cell, 0.0)
        if face.any() and (fg & face).sum() >= 0.5 * face.sum():
            person = "segmenter"
        elif outline is not None:
            fg = _grabcut(small, _frontal_init((h, w), cell, keypoints, outline))
        else:
            fg = _grabcut(small, None)
        seed = _seed_from_face(keypoints, (h, w), cell)
        seed_name = "forehead"
        # The whole face shows the skin in more lights than the forehead alone.
        reference = seed | (_face_disc(keypoints, (h, w), cell, -0.08) & fg)
        never = _never_treat(fg, people_faces, client, cell)
        # The head ends at the chin: below it are neck and clothes, neither skin nor hair.
        chin = float(np.subtract(keypoints.chin, keypoints.glabella) @ keypoints.up)
        head = fg & (_height_above_glabella(keypoints, (h, w), cell) > chin)
    else:
        fg = _grabcut(small, None)
        seed = _seed_from_clusters(lab, texture, fg)
        seed_name = "head cluster"
        reference = seed
        never = ~fg
        head = fg
    chroma = _chromaticity(small)
    rules = regions_table()["treatable"]
    loose, strict, plain = _SkinModel.fit(lab, chroma, seed, reference).classify(
        lab, chroma, float(rules["thin_hair_lightness_share"])
    )
    # The lower quartile: bangs or brow hairs may reach into the forehead seed.
    seed_texture = float(np.percentile(texture[seed], 25)) + 1.0
    smooth = texture <= float(rules["thin_hair_texture_ratio"]) * seed_texture
    if keypoints is not None:
        scalp = head & ~never & ~_face_disc(keypoints, (h, w), cell, 0.05)
        hair_colour = _hair_colour(lab, scalp, loose, strict, smooth, seed)
        loose &= ~hair_colour
        strict &= ~hair_colour
    background = ~fg
    background_skin = float((plain & smooth)[background].mean()) if background.any() else 1.0
    # Smooth and skin-coloured in any light is skin; strands over skin-coloured ground
    # are thin hair; strands of another colour (grey, white, dark) are dense hair.
    # Isolated specks of one kind inside another are noise at this scale.
    skin, thin, hair = _majority(
        [loose & smooth, strict & ~smooth, ~loose | (~smooth & ~strict)], head
    )
    if keypoints is not None:
        skin, thin, hair = _reached_from_face(skin, thin, hair, never, seed | reference)
    return Regions(
        cell_px=cell,
        foreground=fg,
        skin=skin,
        thin_hair=thin,
        hair=hair,
        never_treat=never,
        skin_lab=_seed_lab(lab, seed),
        skin_seed=seed_name,
        seed_mask=seed,
        person=person,
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
    grid = mask_on_grid(mask, (h, w))
    if not grid.any():
        raise PointillistError("the mask is too small to see at the photo's scale; paint more")
    return Regions(
        cell_px=cell,
        foreground=grid,
        skin=grid.copy(),
        thin_hair=np.zeros_like(grid),
        hair=np.zeros_like(grid),
        never_treat=~grid,
        skin_lab=_seed_lab(_lab(small), grid),
        skin_seed="mask",
        seed_mask=grid.copy(),
        person="mask",
    )
