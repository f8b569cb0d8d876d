"""Pictures made from a simulation: before/after side by side and the overlay.

The overlay shows what the pipeline decided (treatment zone shaded by density, existing
hair, the hairline and its key points, every face found, numbered) so a practitioner can
check the proposal before showing the client the preview.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from pointillist.imaging.grid import upsample_window

if TYPE_CHECKING:
    from pointillist.imaging.hairline import Hairline
    from pointillist.imaging.landmarks import FaceKeypoints
    from pointillist.imaging.regions import Regions


def compose_before_after(before: np.ndarray, after: np.ndarray, sessions: int) -> np.ndarray:
    """The photo and the final session side by side, labelled, at the photo's height."""
    import cv2

    h, w = before.shape[:2]
    gap = max(4, w // 100)
    canvas = np.empty((h, 2 * w + gap, 3), np.uint8)
    canvas[:, w : w + gap] = 255
    canvas[:, :w] = before
    canvas[:, w + gap :] = after
    size = max(0.4, h / 900.0)
    thick = max(1, round(size * 2))
    for text, x0 in (("before", 0), (f"after session {sessions}", w + gap)):
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, thick)
        pad = max(3, th // 2)
        y = h - pad - base
        cv2.rectangle(canvas, (x0, y - th - pad), (x0 + tw + 2 * pad, h), (0, 0, 0), -1)
        cv2.putText(
            canvas,
            text,
            (x0 + pad, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            size,
            (255, 255, 255),
            thick,
            cv2.LINE_AA,
        )
    return canvas


OVERLAY_COLOURS = {
    "treatment": (0, 200, 180),
    "hair": (240, 150, 0),
    "hairline": (255, 255, 255),
    "keypoint": (255, 40, 40),
}


def compose_overlay(
    rgb: np.ndarray,
    regions: Regions,
    area_mask: np.ndarray,
    share: np.ndarray,
    hairline: Hairline | None,
    area_cm2: float,
    faces: Sequence[FaceKeypoints] = (),
    client_face: int | None = None,
) -> np.ndarray:
    """The photo with the treatment zone (shaded by density), existing hair and hairline.

    When the photo holds several ``faces`` (largest first), each is numbered on its
    chin as ``--face`` counts them, the client's (``client_face``, 1-based) ringed.
    """
    import cv2

    h, w = rgb.shape[:2]
    # Tint and opacity are built on the work grid and blended at full resolution in
    # one pass: the zones are smooth, and a float pass over 12 MP would cost more than
    # the rest of the pipeline.
    # Hair is shown where it decides the treatment: behind the hairline (on a frontal
    # photo, the face's own texture below the line would only confuse).
    shown = regions.hair & ~area_mask
    if hairline is not None:
        shown &= hairline.behind_mask(regions.shape, regions.cell_px)
    hair = shown.astype(np.float32) * 0.35
    zone = share.astype(np.float32) * 0.55
    alpha = hair + zone * (1.0 - hair)
    weight_zone = np.where(alpha > 0, zone / np.maximum(alpha, 1e-6), 0.0)[..., None]
    treatment = np.asarray(OVERLAY_COLOURS["treatment"], dtype=np.float32)
    hair_colour = np.asarray(OVERLAY_COLOURS["hair"], dtype=np.float32)
    tint = weight_zone * treatment + (1.0 - weight_zone) * hair_colour
    tint_small = np.clip(np.rint(tint), 0, 255).astype(np.uint8)
    result = np.array(rgb, order="C", copy=True)
    cell = regions.cell_px
    rows, cols = np.nonzero(alpha > 0)
    if rows.size:
        # Blend only the window the zones cover (the head), not the whole frame.
        x0 = max(0, int(np.floor((cols.min() - 2) * cell)))
        y0 = max(0, int(np.floor((rows.min() - 2) * cell)))
        x1 = min(w, int(np.ceil((cols.max() + 3) * cell)))
        y1 = min(h, int(np.ceil((rows.max() + 3) * cell)))
        tint_win = upsample_window(tint_small, cell, (x0, y0, x1, y1))
        alpha_win = upsample_window(alpha.astype(np.float32), cell, (x0, y0, x1, y1))
        result[y0:y1, x0:x1] = cv2.blendLinear(
            np.ascontiguousarray(rgb[y0:y1, x0:x1]), tint_win, 1.0 - alpha_win, alpha_win
        )
    contours, _ = cv2.findContours(
        area_mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
    )
    contours = [
        np.rint(((c.astype(np.float64) + 0.5) * cell - 0.5) * 16).astype(np.int32) for c in contours
    ]
    thick = max(1, round(max(h, w) / 600))
    cv2.polylines(result, contours, True, OVERLAY_COLOURS["treatment"], thick, cv2.LINE_AA, 4)
    if hairline is not None:
        pts = np.rint(hairline.points * 16).astype(np.int32)
        cv2.polylines(result, [pts], False, OVERLAY_COLOURS["hairline"], thick + 1, cv2.LINE_AA, 4)
        for p in (hairline.mid_frontal, hairline.temple_right, hairline.temple_left):
            if p is not None:
                c = (round(p[0] * 16), round(p[1] * 16))
                cv2.circle(
                    result, c, (3 * thick + 2) * 16, OVERLAY_COLOURS["keypoint"], -1, cv2.LINE_AA, 4
                )
    if len(faces) > 1:
        _number_faces(result, faces, client_face, thick)
    size = max(0.35, max(h, w) / 2400.0)
    lines: list[tuple[str, tuple[int, int, int] | None]] = [
        (f"treatment area {area_cm2:.0f} cm²", None),
        ("treated (shade = density)", OVERLAY_COLOURS["treatment"]),
        ("existing hair or covered", OVERLAY_COLOURS["hair"]),
    ]
    if hairline is not None:
        lines.append(("hairline", OVERLAY_COLOURS["hairline"]))
    font = cv2.FONT_HERSHEY_SIMPLEX
    (_tw, th), base = cv2.getTextSize("Hg", font, size, thick)
    pad = max(3, th // 2)
    row = th + base + pad
    swatch = th
    width_px = max(_label_width(t, size, thick) for t, _c in lines)
    box_w = width_px + swatch + 4 * pad
    # Bottom left: the treatment zone is usually at the top of the picture.
    top = h - (row * len(lines) + pad)
    cv2.rectangle(result, (0, top), (box_w, h), (0, 0, 0), -1)
    for k, (text, colour) in enumerate(lines):
        y = top + pad + k * row + th
        x = pad
        if colour is not None:
            cv2.rectangle(result, (x, y - th), (x + swatch, y), colour, -1)
            x += swatch + pad
        _put_label(result, text, (x, y), size, thick)
    return result


#: OpenCV's Hershey fonts are ASCII only: a "²" is drawn as a "2" this much smaller, raised.
_SUPERSCRIPT_SCALE = 0.6


def _label_width(text: str, size: float, thick: int) -> int:
    """Width in pixels of ``text`` as :func:`_put_label` draws it."""
    import cv2

    base, mark, rest = text.partition("²")
    width = cv2.getTextSize(base, cv2.FONT_HERSHEY_SIMPLEX, size, thick)[0][0]
    if mark:
        small = size * _SUPERSCRIPT_SCALE
        width += cv2.getTextSize("2", cv2.FONT_HERSHEY_SIMPLEX, small, thick)[0][0]
        width += _label_width(rest, size, thick) if rest else 0
    return int(width)


def _put_label(
    image: np.ndarray, text: str, origin: tuple[int, int], size: float, thick: int
) -> None:
    """Draw ``text`` in white with its baseline at ``origin``, each "²" as a raised 2."""
    import cv2

    font, white = cv2.FONT_HERSHEY_SIMPLEX, (255, 255, 255)
    x, y = origin
    base, mark, rest = text.partition("²")
    cv2.putText(image, base, (x, y), font, size, white, thick, cv2.LINE_AA)
    if mark:
        x += cv2.getTextSize(base, font, size, thick)[0][0]
        small = size * _SUPERSCRIPT_SCALE
        raised = cv2.getTextSize("H", font, size, thick)[0][1] // 2
        cv2.putText(image, "2", (x, y - raised), font, small, white, thick, cv2.LINE_AA)
        if rest:
            x += cv2.getTextSize("2", font, small, thick)[0][0]
            _put_label(image, rest, (x, y), size, thick)


def label_position(face: FaceKeypoints) -> tuple[float, float]:
    """Where a face's number goes: just below the chin, where no treatment is drawn."""
    gx, gy = face.glabella
    cx, cy = face.chin
    return cx + 0.15 * (cx - gx), cy + 0.15 * (cy - gy)


def _number_faces(
    image: np.ndarray, faces: Sequence[FaceKeypoints], client_face: int | None, thick: int
) -> None:
    """Label each face with its number under the chin, the client's in a filled disc."""
    import cv2

    font = cv2.FONT_HERSHEY_SIMPLEX
    for number, face in enumerate(faces, start=1):
        size = max(0.5, face.face_width_px / 120.0)
        text = str(number)
        (tw, th), _base = cv2.getTextSize(text, font, size, thick + 1)
        x, y = label_position(face)
        radius = int(max(tw, th) * 0.9)
        centre = (round(x), round(y))
        chosen = number == (client_face or 1)
        cv2.circle(image, centre, radius, OVERLAY_COLOURS["keypoint"], -1 if chosen else thick + 1)
        colour = (255, 255, 255) if chosen else OVERLAY_COLOURS["keypoint"]
        origin = (round(x - tw / 2), round(y + th / 2))
        cv2.putText(image, text, origin, font, size, colour, thick + 1, cv2.LINE_AA)
