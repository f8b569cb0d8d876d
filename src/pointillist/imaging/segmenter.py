"""People versus background: MediaPipe Selfie Segmentation run by OpenCV's DNN module.

The model (``data/models/selfie_segmentation.tflite``, Apache-2.0, copied unchanged from
the ``mediapipe`` 0.10.14 wheel; provenance in ``data/models/README.md``) takes the
photo squeezed to 256 x 256 RGB scaled to 0-1 and returns, per pixel, the probability
that it shows a person (head, hair, body; every person in the frame). It ships inside
the package, so nothing is fetched at run time, and OpenCV's TFLite importer runs it in
a few tens of milliseconds, so the installed ``mediapipe`` (which no longer ships this
model) is not needed for it.

One network is read per process, on first use; OpenCV's ``Net`` is not re-entrant, so
calls are serialised.
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

import numpy as np

from pointillist.errors import PointillistError

MODEL_FILE = "selfie_segmentation.tflite"
INPUT_SIDE = 256
"""The model's square input, in pixels."""

_lock = threading.Lock()
_net: Any = None


def _get_net() -> Any:
    global _net
    if _net is None:
        import cv2

        model = resources.files("pointillist.data").joinpath("models", MODEL_FILE)
        try:
            data = model.read_bytes()
        except OSError:
            raise PointillistError(
                f"the person segmentation model {MODEL_FILE} is missing from the "
                "installed package; reinstall pointillist"
            ) from None
        _net = cv2.dnn.readNetFromTFLite(np.frombuffer(data, np.uint8))
    return _net


def load_model() -> None:
    """Read the network now (it is otherwise read on the first :func:`person_probability`)."""
    with _lock:
        _get_net()


def person_probability(rgb: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Probability (0-1) that each cell of a ``shape`` grid over the photo shows a person.

    Parameters
    ----------
    rgb
        ``(H, W, 3)`` uint8 photo, or a reduced copy of it (it is squeezed to the
        model's 256 x 256, as MediaPipe's own graph does, so a copy a few hundred
        pixels wide loses nothing and resamples faster).
    shape
        ``(rows, cols)`` of the grid to return, normally the regions' work grid.
    """
    import cv2

    small = cv2.resize(rgb, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA)
    blob = cv2.dnn.blobFromImage(small, 1.0 / 255.0, (INPUT_SIDE, INPUT_SIDE), swapRB=False)
    with _lock:
        net = _get_net()
        net.setInput(blob)
        out = np.asarray(net.forward(), dtype=np.float32).reshape(INPUT_SIDE, INPUT_SIDE)
    grid = cv2.resize(out, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(np.asarray(grid, dtype=np.float32), 0.0, 1.0)
