"""The overlay: what the pipeline decided, drawn so the practitioner can check it."""

from __future__ import annotations

import dataclasses

import numpy as np

from pointillist.imaging.compose import OVERLAY_COLOURS, compose_overlay, label_position


def _red_near(image: np.ndarray, x: float, y: float, r: int) -> int:
    patch = image[int(y) - r : int(y) + r, int(x) - r : int(x) + r].astype(int)
    red = np.asarray(OVERLAY_COLOURS["keypoint"])
    return int((np.abs(patch - red).sum(axis=2) < 60).sum())


def test_every_face_is_numbered_when_there_are_several(front_head, front_simulation_parts):
    regions, area, share = front_simulation_parts
    client = front_head.keypoints
    other = dataclasses.replace(
        client,
        glabella=(client.glabella[0], client.glabella[1] - 150.0),
        chin=(client.chin[0], client.chin[1] - 150.0),
    )
    faces = [client, other]
    single = compose_overlay(front_head.rgb, regions, area, share, None, 1.0, faces=faces[:1])
    both = compose_overlay(
        front_head.rgb, regions, area, share, None, 1.0, faces=faces, client_face=2
    )
    for face in faces:
        x, y = label_position(face)
        assert _red_near(both, x, y, 12) > 20
    # One face needs no number.
    x, y = label_position(client)
    assert _red_near(single, x, y, 12) == 0


def test_square_centimetres_are_drawn_with_a_raised_2():
    import cv2

    from pointillist.imaging.compose import _label_width, _put_label

    canvas = np.zeros((60, 200, 3), np.uint8)
    baseline, left = 40, 5
    _put_label(canvas, "cm²", (left, baseline), 1.0, 1)
    cm = cv2.getTextSize("cm", cv2.FONT_HERSHEY_SIMPLEX, 1.0, 1)[0][0]
    after_cm = canvas[:, left + cm + 1 :].any(axis=2)
    rows = np.nonzero(after_cm.any(axis=1))[0]
    cols = np.nonzero(after_cm.any(axis=0))[0]
    # A small 2 whose foot sits well above the baseline (Hershey fonts draw "²" as "?"),
    # inside the width the legend box is sized for.
    assert rows.size and rows.max() < baseline - 6
    assert left + cm + 1 + cols.max() <= left + _label_width("cm²", 1.0, 1) + 1
