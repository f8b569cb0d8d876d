"""The preview editor's edits as the server reads them: the brush layer, the shade list."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from pointillist.errors import PointillistError
from pointillist.web.pages.preview import _edit_masks, shade_choices


def _png_url(bgra: np.ndarray) -> str:
    ok, png = cv2.imencode(".png", bgra)
    assert ok
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode("ascii")


def test_red_paints_area_in_and_blue_paints_it_out():
    layer = np.zeros((60, 80, 4), np.uint8)  # the canvas: transparent where unpainted
    cv2.circle(layer, (20, 20), 6, (0, 0, 255, 255), -1)  # red (BGRA)
    cv2.circle(layer, (60, 40), 6, (255, 0, 0, 255), -1)  # blue
    add, remove = _edit_masks(_png_url(layer), (60, 80))
    assert add[20, 20] and not add[40, 60] and not add[0, 0]
    assert remove[40, 60] and not remove[20, 20]
    # Painted on a smaller canvas (CSS scaling): resampled onto the preview.
    add, _ = _edit_masks(_png_url(layer), (120, 160))
    assert add.shape == (120, 160) and add[40, 40]
    assert _edit_masks(_png_url(np.zeros((60, 80, 4), np.uint8)), (60, 80)) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("data:image/jpeg;base64,AAAA", "did not come as a PNG"),
        ("data:image/png;base64,@@@", "damaged"),
        ("data:image/png;base64," + base64.b64encode(b"GIF89a" + b"0" * 30).decode(), "PNG"),
    ],
)
def test_a_bad_brush_layer_is_refused_in_one_line(url, message):
    with pytest.raises(PointillistError, match=message):
        _edit_masks(url, (60, 80))


def test_a_forged_giant_layer_is_refused_before_decoding():
    _ok, png = cv2.imencode(".png", np.zeros((8, 8, 4), np.uint8))
    data = bytearray(png.tobytes())
    data[16:24] = (100_000).to_bytes(4, "big") + (100_000).to_bytes(4, "big")
    url = "data:image/png;base64," + base64.b64encode(bytes(data)).decode()
    with pytest.raises(PointillistError, match="100000x100000 pixels but the preview is 80x60"):
        _edit_masks(url, (60, 80))


def test_the_shade_control_lists_the_catalogue_light_to_dark():
    ids = [choice["id"] for choice in shade_choices(None)]
    assert ids == ["cb-1:6", "cb-1:5", "cb-1:4", "cb-1:3", "cb-1:2", "cb-1:1", "cb-1:0"]
