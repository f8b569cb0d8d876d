"""The codec floor of ``pointillist simulate``: a process that only decodes the photo and
encodes the same outputs (``session_1.jpg`` .. ``session_N.jpg``, ``before_after.jpg``
and ``overlay.png``, at the simulation's sizes and encoder settings: JPEG quality 92, PNG
compression 1, as ``pointillist.imaging.io``). It imports nothing but OpenCV and NumPy.

    python bench/codec_floor.py PHOTO OUTDIR SESSIONS BEFORE_AFTER_WxH OVERLAY_WxH

Run by ``bench/simulate_bench.py``, which times it as a whole process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np


def _sized(bgr: np.ndarray, size: str) -> np.ndarray:
    width, height = (int(v) for v in size.split("x"))
    if (height, width) == bgr.shape[:2]:
        return bgr
    return cv2.resize(bgr, (width, height), interpolation=cv2.INTER_NEAREST)


def main(argv: list[str]) -> int:
    photo, outdir, sessions, before_after, overlay = argv
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    bgr = cv2.imread(photo, cv2.IMREAD_COLOR)
    jpeg = [cv2.IMWRITE_JPEG_QUALITY, 92]
    for k in range(1, int(sessions) + 1):
        (out / f"session_{k}.jpg").write_bytes(cv2.imencode(".jpg", bgr, jpeg)[1].tobytes())
    pair = cv2.imencode(".jpg", _sized(bgr, before_after), jpeg)[1]
    (out / "before_after.jpg").write_bytes(pair.tobytes())
    png = cv2.imencode(".png", _sized(bgr, overlay), [cv2.IMWRITE_PNG_COMPRESSION, 1])[1]
    (out / "overlay.png").write_bytes(png.tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
