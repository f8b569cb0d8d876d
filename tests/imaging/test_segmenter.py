"""The vendored person segmenter: the file is the one its provenance names, and it tells
a person from the backdrop."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from pointillist.imaging.segmenter import MODEL_FILE, person_probability

PORTRAITS = Path(__file__).resolve().parents[1] / "fixtures" / "portraits"


def test_the_model_is_the_file_its_provenance_names():
    models = resources.files("pointillist.data").joinpath("models")
    readme = models.joinpath("README.md").read_text(encoding="utf-8")
    recorded = re.search(r"file sha256 \| `([0-9a-f]{64})`", readme)
    assert recorded is not None
    data = models.joinpath(MODEL_FILE).read_bytes()
    assert hashlib.sha256(data).hexdigest() == recorded.group(1)
    assert "Apache License" in models.joinpath("LICENSE-mediapipe-Apache-2.0.txt").read_text(
        encoding="utf-8"
    )


def test_person_against_backdrop():
    # Official portrait, public domain (US federal government work).
    rgb = np.ascontiguousarray(cv2.imread(str(PORTRAITS / "B000755_bald_n6.jpg"))[..., ::-1])
    prob = person_probability(rgb, (110, 90))
    assert prob.shape == (110, 90) and prob.dtype == np.float32
    # Face and bald crown are the person; the backdrop's top corners are not.
    assert prob[45, 45] > 0.9 and prob[10, 45] > 0.9
    assert prob[:12, :12].max() < 0.1 and prob[:12, -12:].max() < 0.1
