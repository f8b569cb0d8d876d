"""Face landmarks: MediaPipe Face Landmarker, or points the practitioner gives.

The Face Landmarker (MediaPipe Tasks API) returns 478 points including both irises; the
model file is Google's ``face_landmarker.task`` (Apache-2.0), vendored in
``pointillist/data/models`` (provenance in ``face_landmarker.md`` there). One
landmarker is created per process, on first use or ahead of it (:func:`load_landmarker`,
which a simulation starts on a thread of its own), and closed at exit.

The pipeline uses a handful of named key points (:class:`FaceKeypoints`); a landmarks
file (``--landmarks FILE``) may give either all 478 MediaPipe points or those named
points directly, which is how a practitioner corrects a detection or annotates a photo
the detector cannot read.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pointillist.errors import PointillistError

# MediaPipe Face Mesh indices (canonical face model topology).
GLABELLA = 9
FOREHEAD_TOP = 10
CHIN = 152
LATERAL_CANTHUS_RIGHT = 33  # the subject's right eye: image left in a frontal photo
LATERAL_CANTHUS_LEFT = 263
FACE_SIDE_RIGHT = 234
FACE_SIDE_LEFT = 454
IRIS_RIGHT = (468, 469, 470, 471, 472)  # centre, then the ring: right, top, left, bottom
IRIS_LEFT = (473, 474, 475, 476, 477)
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
    377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
    109,
)  # fmt: skip
EYEBROW_TOPS = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)
"""Upper edge of both eyebrows."""
# Forehead between the brows and the mesh's top edge: bare skin on almost everyone.
FOREHEAD_PATCH = (151, 108, 69, 104, 105, 66, 107, 9, 336, 296, 334, 333, 299, 337)

MAX_FACES = 8
"""Faces the landmarker looks for: enough for a group photo or a mirror in the frame."""

DETECT_MAX_SIDE = 1280
"""Photos are downscaled by a whole factor to at most this longest side for detection
(the model itself works at 256 px)."""

KEYPOINT_NAMES = (
    "glabella",
    "lateral_canthus_right",
    "lateral_canthus_left",
    "chin",
    "face_side_right",
    "face_side_left",
)


@dataclass(frozen=True)
class FaceKeypoints:
    """The face points the simulation uses, in pixels of the full-size photo (x, y).

    ``iris_diameter_px`` is the mean horizontal iris diameter over both eyes, or ``None``
    when the points came from a file that gives no iris.
    """

    glabella: tuple[float, float]
    lateral_canthus_right: tuple[float, float]
    lateral_canthus_left: tuple[float, float]
    chin: tuple[float, float]
    face_side_right: tuple[float, float]
    face_side_left: tuple[float, float]
    iris_diameter_px: float | None
    forehead_patch: np.ndarray | None
    """``(K, 2)`` polygon of bare forehead skin, or ``None``."""
    source: str
    """``"mediapipe"`` or ``"file"``."""
    mesh: np.ndarray | None = None
    """All 478 points ``(478, 2)`` when available."""

    @property
    def up(self) -> np.ndarray:
        """Unit vector in the image from the chin towards the glabella (the face's up)."""
        v = np.subtract(self.glabella, self.chin)
        n = float(np.hypot(*v))
        return v / n if n > 0 else np.array([0.0, -1.0])

    @property
    def face_width_px(self) -> float:
        return float(np.hypot(*np.subtract(self.face_side_left, self.face_side_right)))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: _round_xy(getattr(self, name)) for name in KEYPOINT_NAMES}
        out["iris_diameter_px"] = (
            None if self.iris_diameter_px is None else round(self.iris_diameter_px, 2)
        )
        out["source"] = self.source
        return out


def _round_xy(p: tuple[float, float]) -> list[float]:
    return [round(float(p[0]), 1), round(float(p[1]), 1)]


def keypoints_from_mesh(mesh: np.ndarray, *, source: str) -> FaceKeypoints:
    """Named key points from the 478 (or 468, no iris) MediaPipe points in pixels."""
    pts = np.asarray(mesh, dtype=np.float64)[:, :2]
    if pts.shape[0] not in (468, 478):
        raise PointillistError(
            f"a landmark mesh has 468 or 478 points (MediaPipe Face Mesh); got {pts.shape[0]}"
        )
    iris = None
    if pts.shape[0] == 478:
        right = np.hypot(*(pts[IRIS_RIGHT[1]] - pts[IRIS_RIGHT[3]]))
        left = np.hypot(*(pts[IRIS_LEFT[1]] - pts[IRIS_LEFT[3]]))
        iris = float((right + left) / 2.0)

    def p(i: int) -> tuple[float, float]:
        return float(pts[i, 0]), float(pts[i, 1])

    return FaceKeypoints(
        glabella=p(GLABELLA),
        lateral_canthus_right=p(LATERAL_CANTHUS_RIGHT),
        lateral_canthus_left=p(LATERAL_CANTHUS_LEFT),
        chin=p(CHIN),
        face_side_right=p(FACE_SIDE_RIGHT),
        face_side_left=p(FACE_SIDE_LEFT),
        iris_diameter_px=iris,
        forehead_patch=pts[list(FOREHEAD_PATCH)].copy(),
        source=source,
        mesh=pts.copy(),
    )


# ---------------------------------------------------------------------------------------
# MediaPipe

_lock = threading.Lock()
_landmarker: Any = None
_close_registered = False
_stderr_lock = threading.RLock()
"""Held while file descriptor 2 points at the null device (:func:`_quiet_stderr`)."""


def model_path() -> Path:
    """Path of ``face_landmarker.task``, vendored in ``pointillist/data/models``."""
    from importlib import resources

    path = Path(str(resources.files("pointillist.data").joinpath("models", "face_landmarker.task")))
    if not path.is_file():
        raise PointillistError(
            f"the face landmark model {path} is missing: reinstall pointillist "
            "(pip install --force-reinstall pointillist), or give --landmarks FILE"
        )
    return path


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence C++ logging (glog, TFLite) written straight to file descriptor 2.

    The descriptor is the whole process's: while one thread has it silenced, another's
    error message would be lost, so it is silenced under :data:`_stderr_lock`, which
    :func:`wait_for_stderr` waits on.
    """
    with _stderr_lock:
        try:
            saved = os.dup(2)
        except OSError:
            yield
            return
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 2)
                try:
                    yield
                finally:
                    os.dup2(saved, 2)
        finally:
            os.close(saved)


def wait_for_stderr() -> None:
    """Return once no thread has stderr silenced (the landmarker being created on a
    thread of its own while the photo loads): call it before writing an error there."""
    with _stderr_lock:
        pass


def _mediapipe_modules() -> tuple[Any, Any, Any]:
    """MediaPipe's ``base_options``, ``face_landmarker`` and ``image`` modules, alone.

    ``import mediapipe`` runs package initialisers that import every task MediaPipe
    has, with their drawing utilities and so matplotlib: about 2 s on a small machine,
    most of a preview's start-up, for three modules this project uses. The parent
    packages are registered as bare packages (their folders, none of their
    ``__init__`` code) before the three are imported. When something in the process
    has already imported MediaPipe in full, that is used as it is.
    """
    import importlib
    import importlib.util
    import sys
    import types

    if "mediapipe" not in sys.modules:
        spec = importlib.util.find_spec("mediapipe")
        if spec is None or not spec.submodule_search_locations:
            raise PointillistError(
                "MediaPipe is not installed: `pip install pointillist` installs it, or give "
                "--landmarks FILE"
            )
        root = Path(next(iter(spec.submodule_search_locations)))
        for name in (
            "mediapipe",
            "mediapipe.tasks",
            "mediapipe.tasks.python",
            "mediapipe.tasks.python.vision",
            # Its initialiser imports every result container (audio, embeddings...).
            "mediapipe.tasks.python.components.containers",
        ):
            package = types.ModuleType(name)
            package.__path__ = [str(root.joinpath(*name.split(".")[1:]))]
            package.__package__ = name
            sys.modules[name] = package
    prefix = "mediapipe.tasks.python."
    return (
        importlib.import_module(prefix + "core.base_options"),
        importlib.import_module(prefix + "vision.face_landmarker"),
        importlib.import_module(prefix + "vision.core.image"),
    )


def load_landmarker() -> None:
    """Create the process's landmarker now (it is otherwise created on the first
    :func:`detect_faces`).

    Reading the model and building MediaPipe's graph take about a tenth of a second
    of C++ that does not hold the GIL, so on a thread of its own it overlaps the
    loading of the photo; :func:`detect_faces` waits for it.
    """
    with _lock:
        _get_landmarker()


def _get_landmarker() -> Any:
    global _landmarker
    if _landmarker is None:
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        # Registered before the landmarker exists: a process that begins to exit while
        # a thread creates it (the photo was refused meanwhile) refuses the
        # registration, and nothing is left unclosed.
        _register_close()
        with _quiet_stderr():
            base_options, face_landmarker, _image = _mediapipe_modules()
            options = face_landmarker.FaceLandmarkerOptions(
                base_options=base_options.BaseOptions(model_asset_path=str(model_path())),
                num_faces=MAX_FACES,
                min_face_detection_confidence=0.5,
            )
            _landmarker = face_landmarker.FaceLandmarker.create_from_options(options)
    return _landmarker


def _register_close() -> None:
    # MediaPipe runs every call through a ThreadPoolExecutor, which refuses work once
    # the interpreter starts shutting threads down, before plain atexit hooks run; so
    # the close must run among the threading exit hooks, registered after the
    # executor's own (they run last-registered first), which its module registers
    # when it is imported.
    global _close_registered
    if _close_registered:
        return
    import concurrent.futures.thread  # noqa: F401

    register = getattr(threading, "_register_atexit", None)
    if register is None:
        atexit.register(close_landmarker)
    else:
        register(close_landmarker)
    _close_registered = True


def close_landmarker() -> None:
    """Release the process's landmarker (also registered to run at exit)."""
    global _landmarker
    with _lock:
        if _landmarker is not None:
            with _quiet_stderr():
                _landmarker.close()
            _landmarker = None


def detect_faces(rgb: np.ndarray) -> list[FaceKeypoints]:
    """Find every face with MediaPipe (up to :data:`MAX_FACES`), largest first.

    Size is the area inside the face oval, so the person nearest the camera comes first;
    an empty list means no face (top or back views).

    Parameters
    ----------
    rgb
        ``(H, W, 3)`` uint8 photo. It is downscaled to :data:`DETECT_MAX_SIDE` for
        detection; the points are returned in pixels of the full-size photo.
    """
    import cv2

    h, w = rgb.shape[:2]
    # A whole reduction factor keeps OpenCV on its fast path for large photos.
    k = -(-max(h, w) // DETECT_MAX_SIDE)
    small = rgb
    if k > 1:
        size = (max(1, round(w / k)), max(1, round(h / k)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    with _lock:
        landmarker = _get_landmarker()
        with _quiet_stderr():
            image = _mediapipe_modules()[2]
            result = landmarker.detect(
                image.Image(image_format=image.ImageFormat.SRGB, data=np.ascontiguousarray(small))
            )
    faces = []
    for points in result.face_landmarks:
        norm = np.array([[q.x, q.y] for q in points], dtype=np.float64)
        # Coordinates are normalised to the image, so they scale to the full-size photo.
        faces.append(keypoints_from_mesh(norm * np.array([w, h]), source="mediapipe"))
    return sorted(faces, key=face_size_px2, reverse=True)


def face_size_px2(face: FaceKeypoints) -> float:
    """Area of the face in the photo (px²): inside the face oval, or the square of the
    face width when only named points are known."""
    if face.mesh is None:
        return face.face_width_px**2
    oval = face.mesh[list(FACE_OVAL)]
    x, y = oval[:, 0], oval[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2.0)


def choose_face(faces: list[FaceKeypoints], face: int | None = None) -> int:
    """Index into ``faces`` (largest first) of the client: the largest unless ``face``
    (1-based, in the same order) picks another."""
    if face is None:
        return 0
    if not 1 <= face <= len(faces):
        n = len(faces)
        raise PointillistError(
            f"--face {face}: the photo has {n} face{'' if n == 1 else 's'}; "
            + (f"give 1 to {n} (1 is the largest)" if n else "give the landmarks instead")
        )
    return face - 1


def detect_landmarks(rgb: np.ndarray) -> FaceKeypoints | None:
    """The largest face of :func:`detect_faces`, or ``None`` when there is none."""
    faces = detect_faces(rgb)
    return faces[0] if faces else None


def load_landmarks(path: str | Path, *, image_size: tuple[int, int]) -> FaceKeypoints:
    """Read a landmarks file: all MediaPipe points, or the named key points.

    Accepted JSON shapes (pixel coordinates of the photo, x right, y down)::

        {"landmarks": [[x, y], ...]}            # 468 or 478 MediaPipe Face Mesh points
        {"glabella": [x, y], "lateral_canthus_right": [x, y],
         "lateral_canthus_left": [x, y], "chin": [x, y],
         "face_side_right": [x, y], "face_side_left": [x, y],
         "iris_diameter_px": 31.5}             # iris optional

    ``image_size`` is ``(width, height)``; points outside the photo are refused.
    """
    file = Path(path)
    try:
        payload = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PointillistError(f"{file}: landmarks file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PointillistError(f"{file}: cannot read the landmarks file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise PointillistError(f"{file}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(payload, dict):
        raise PointillistError(f"{file}: expected a JSON object with landmark points")
    width, height = image_size
    try:
        if "landmarks" in payload:
            try:
                mesh = np.asarray(payload["landmarks"], dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError("'landmarks' must be a list of [x, y] pairs") from None
            if mesh.ndim != 2 or mesh.shape[1] < 2:
                raise ValueError("'landmarks' must be a list of [x, y] pairs")
            _check_inside(mesh[:, :2], width, height, file)
            return keypoints_from_mesh(mesh[:, :2], source="file")
        missing = [k for k in KEYPOINT_NAMES if k not in payload]
        if missing:
            raise ValueError(
                "give 'landmarks' (MediaPipe points) or all of "
                + ", ".join(KEYPOINT_NAMES)
                + f"; missing {', '.join(missing)}"
            )
        points = {k: _xy(payload[k], k) for k in KEYPOINT_NAMES}
        _check_inside(np.array(list(points.values())), width, height, file)
        iris = payload.get("iris_diameter_px")
        if iris is not None and (not isinstance(iris, int | float) or iris <= 0):
            raise ValueError("'iris_diameter_px' must be a positive number")
    except ValueError as exc:
        raise PointillistError(f"{file}: {exc}") from None
    return FaceKeypoints(
        **points,  # type: ignore[arg-type]
        iris_diameter_px=None if iris is None else float(iris),
        forehead_patch=None,
        source="file",
    )


def _xy(value: Any, name: str) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"'{name}' must be [x, y] in pixels")
    return float(value[0]), float(value[1])


def _check_inside(points: np.ndarray, width: int, height: int, file: Path) -> None:
    if not np.all(np.isfinite(points)):
        raise PointillistError(f"{file}: landmark coordinates must be numbers")
    inside = (points[:, 0] >= -1) & (points[:, 0] <= width) & (points[:, 1] >= -1)
    inside &= points[:, 1] <= height
    if not np.all(inside):
        raise PointillistError(
            f"{file}: landmarks fall outside the {width}x{height} photo; "
            "give pixel coordinates of this photo (x right, y down)"
        )
