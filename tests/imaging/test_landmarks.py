"""Face landmarks: MediaPipe on astronaut, none on a top view, and landmark files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pointillist.errors import PointillistError
from pointillist.imaging.landmarks import (
    KEYPOINT_NAMES,
    choose_face,
    detect_faces,
    detect_landmarks,
    keypoints_from_mesh,
    load_landmarks,
)


def test_astronaut_face_is_found(astronaut_keypoints):
    kp = astronaut_keypoints
    assert kp.source == "mediapipe"
    assert kp.mesh is not None and kp.mesh.shape == (478, 2)
    right, left = kp.lateral_canthus_right, kp.lateral_canthus_left
    # Subject's right eye on the image left; the glabella between and above the eyes.
    assert right[0] < kp.glabella[0] < left[0]
    assert kp.glabella[1] < min(right[1], left[1])
    assert kp.chin[1] > kp.glabella[1] + 60
    assert kp.up[1] < -0.95  # she faces the camera upright
    # Her irises are about 8.7 px across in the 512 px photo.
    assert 7.5 < kp.iris_diameter_px < 10.0
    # The landmarks sit on her face (astronaut: face roughly x 180-270, y 60-180).
    assert 170 < kp.glabella[0] < 280 and 60 < kp.glabella[1] < 120


def test_detection_is_scaled_to_the_full_photo(astronaut, astronaut_keypoints):
    import cv2

    big = cv2.resize(astronaut, (1536, 1536), interpolation=cv2.INTER_CUBIC)
    kp = detect_landmarks(big)
    assert kp is not None
    assert np.allclose(np.asarray(kp.glabella) / 3.0, astronaut_keypoints.glabella, atol=2.0)
    assert kp.iris_diameter_px / 3.0 == pytest.approx(astronaut_keypoints.iris_diameter_px, rel=0.1)


def test_no_face_on_a_top_view(top_head):
    assert detect_landmarks(top_head.rgb) is None
    assert detect_faces(top_head.rgb) == []


def test_the_client_is_the_largest_face_unless_asked(astronaut, astronaut_keypoints):
    faces = detect_faces(astronaut)
    assert len(faces) == 1
    assert np.allclose(faces[0].glabella, astronaut_keypoints.glabella)
    assert choose_face(faces) == 0 and choose_face(faces, 1) == 0
    with pytest.raises(PointillistError, match="--face 2: the photo has 1 face"):
        choose_face(faces, 2)
    with pytest.raises(PointillistError, match="--face 1: the photo has 0 faces"):
        choose_face([], 1)


def test_mesh_file_round_trip(tmp_path, astronaut_keypoints):
    path = tmp_path / "landmarks.json"
    path.write_text(json.dumps({"landmarks": astronaut_keypoints.mesh.tolist()}))
    kp = load_landmarks(path, image_size=(512, 512))
    assert kp.source == "file"
    assert kp.glabella == pytest.approx(astronaut_keypoints.glabella)
    assert kp.iris_diameter_px == pytest.approx(astronaut_keypoints.iris_diameter_px)


def test_named_points_file(tmp_path, front_head):
    kp0 = front_head.keypoints
    payload = {name: list(getattr(kp0, name)) for name in KEYPOINT_NAMES}
    payload["iris_diameter_px"] = kp0.iris_diameter_px
    path = tmp_path / "points.json"
    path.write_text(json.dumps(payload))
    h, w = front_head.rgb.shape[:2]
    kp = load_landmarks(path, image_size=(w, h))
    assert kp.glabella == pytest.approx(kp0.glabella)
    assert kp.iris_diameter_px == pytest.approx(kp0.iris_diameter_px)
    assert kp.forehead_patch is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"glabella": [1, 2]}', "missing lateral_canthus_right"),
        ('{"landmarks": [[1, 2], [3, 4]]}', "468 or 478 points"),
        ('{"landmarks": "abc"}', r"\[x, y\] pairs"),
    ],
)
def test_bad_landmark_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(PointillistError, match=message):
        load_landmarks(path, image_size=(512, 512))


def test_landmarks_outside_the_photo_are_refused(tmp_path, astronaut_keypoints):
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"landmarks": (astronaut_keypoints.mesh * 4).tolist()}))
    with pytest.raises(PointillistError, match="outside the 512x512 photo"):
        load_landmarks(path, image_size=(512, 512))


def test_missing_landmarks_file(tmp_path):
    with pytest.raises(PointillistError, match="not found"):
        load_landmarks(tmp_path / "none.json", image_size=(10, 10))


def test_mesh_without_iris_has_no_iris(astronaut_keypoints):
    kp = keypoints_from_mesh(astronaut_keypoints.mesh[:468], source="file")
    assert kp.iris_diameter_px is None


def test_face_detection_loads_only_the_mediapipe_modules_it_needs(tmp_path):
    """`import mediapipe` drags in every task and matplotlib: seconds of start-up."""
    import subprocess
    import sys

    from skimage import data

    from pointillist.imaging.io import save_image

    photo = save_image(tmp_path / "astronaut.png", data.astronaut())
    code = (
        "import sys\n"
        "from pointillist.imaging.io import load_image\n"
        "from pointillist.imaging.landmarks import detect_faces\n"
        f"faces = detect_faces(load_image({str(photo)!r}).rgb)\n"
        "audio = 'mediapipe.tasks.python.audio' in sys.modules\n"
        "print(len(faces), 'matplotlib' in sys.modules, audio)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "False", "False"]
