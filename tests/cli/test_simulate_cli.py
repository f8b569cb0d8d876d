"""``pointillist simulate``: outputs, JSON, and one-line errors for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pointillist.cli import main
from pointillist.imaging.io import save_image
from pointillist.imaging.landmarks import KEYPOINT_NAMES
from pointillist.imaging.synthetic import synthetic_frontal, synthetic_top_view


@pytest.fixture(scope="module")
def top(tmp_path_factory):
    head = synthetic_top_view(width=400, height=450, mm_per_px=0.6, seed=2)
    path = tmp_path_factory.mktemp("photos") / "top.jpg"
    save_image(path, head.rgb)
    return head, path


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    head = synthetic_frontal(width=420, height=540, mm_per_px=0.5, seed=2)
    folder = tmp_path_factory.mktemp("front")
    photo = save_image(folder / "front.png", head.rgb)
    kp = head.keypoints
    points = {name: list(getattr(kp, name)) for name in KEYPOINT_NAMES}
    points["iris_diameter_px"] = kp.iris_diameter_px
    landmarks = folder / "landmarks.json"
    landmarks.write_text(json.dumps(points))
    return head, photo, landmarks


def test_simulate_json_and_files(top, tmp_path, capsys):
    head, photo = top
    out = tmp_path / "out"
    code = main(
        [
            "simulate",
            str(photo),
            "-o",
            str(out),
            "--mm-per-px",
            "0.6",
            "--view",
            "top",
            "--format",
            "json",
        ]
    )
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload == json.loads((out / "simulation.json").read_text())
    assert payload["scale_source"] == "mm_per_px"
    assert payload["landmarks_found"] is False
    assert payload["treatment_area_cm2"] == pytest.approx(head.bald_area_cm2, rel=0.1)
    assert [s["image"] for s in payload["sessions"]] == [f"session_{k}.jpg" for k in range(1, 5)]
    for name in ["session_1.jpg", "session_4.jpg", "before_after.jpg", "overlay.png"]:
        assert (out / name).is_file()
    assert Image.open(out / "session_4.jpg").size == (400, 450)


def test_simulate_text_with_options(top, tmp_path, capsys):
    _head, photo = top
    out = tmp_path / "out"
    args = ["simulate", str(photo), "-o", str(out), "--head-width-mm", "152", "--sessions", "3"]
    args += ["--view", "top"]
    assert main([*args, "--seed", "4", "--years", "2"]) == 0
    text = capsys.readouterr().out
    assert "head_width" in text and "treatment area" in text and "session_3.jpg" in text
    assert "impressions/cm²" in text and "cm2" not in text
    payload = json.loads((out / "simulation.json").read_text())
    assert len(payload["sessions"]) == 3 and payload["seed"] == 4 and payload["years"] == 2.0


def test_simulate_frontal_with_landmarks_and_mask(front, tmp_path, capsys):
    head, photo, landmarks = front
    h, w = head.rgb.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    mask[40:120, 150:270] = 255
    mask_path = tmp_path / "mask.png"
    Image.fromarray(mask).save(mask_path)
    out = tmp_path / "out"
    args = ["simulate", str(photo), "-o", str(out), "--landmarks", str(landmarks)]
    assert main([*args, "--hairline-height-cm", "7", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["landmarks_found"] and payload["scale_source"] == "iris"
    assert payload["hairline_design"]["height_cm"] == 7.0
    assert len(payload["hairline"]) > 20
    assert main([*args, "--mask", str(mask_path), "--format", "json"]) == 0
    masked = json.loads(capsys.readouterr().out)
    assert masked["treatment_area_source"] == "mask"
    assert masked["treatment_area_cm2"] < payload["treatment_area_cm2"]


def test_a_chosen_shade_is_drawn_and_reported(front, tmp_path, capsys):
    _head, photo, landmarks = front
    args = ["simulate", str(photo), "--landmarks", str(landmarks), "--format", "json"]
    assert main([*args, "-o", str(tmp_path / "a")]) == 0
    recommended = json.loads(capsys.readouterr().out)
    assert main([*args, "-o", str(tmp_path / "b"), "--shade", "CB-1:0"]) == 0
    undiluted = json.loads(capsys.readouterr().out)
    assert recommended["shade"] != "cb-1:0" and undiluted["shade"] == "cb-1:0"
    last = f"session_{len(undiluted['sessions'])}.jpg"
    darker = np.asarray(Image.open(tmp_path / "b" / last), dtype=float).mean()
    assert darker < np.asarray(Image.open(tmp_path / "a" / last), dtype=float).mean()


def _error(capsys, args: list[str]) -> str:
    assert main(args) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert "Traceback" not in captured.err + captured.out
    return err


def test_bad_inputs_fail_in_one_line(top, front, tmp_path, capsys):
    _head, photo = top
    _fh, front_photo, _lm = front
    out = str(tmp_path / "o")
    text = tmp_path / "letter.jpg"
    text.write_text("not a photo")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(photo.read_bytes()[:2000])
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{")
    wrong_mask = tmp_path / "wrong.png"
    Image.new("L", (40, 120), 255).save(wrong_mask)
    scaled = ["-o", out, "--mm-per-px", "0.6", "--view", "top"]
    cases = [
        (["simulate", str(tmp_path / "none.jpg"), "-o", out], "file not found"),
        (["simulate", str(text), *scaled], "not an image"),
        (["simulate", str(truncated), *scaled], "truncated"),
        (["simulate", str(photo), "-o", out], "no face"),
        (["simulate", str(photo), *scaled, "--head-width-mm", "150"], "not both"),
        (["simulate", str(photo), "-o", out, "--mm-per-px", "-1"], "not a photo scale"),
        (["simulate", str(photo), *scaled, "--sessions", "9"], "9 sessions"),
        (["simulate", str(photo), *scaled, "--mask", str(wrong_mask)], "mask is 40x120"),
        (["simulate", str(front_photo), "-o", out, "--landmarks", str(bad_json)], "not valid JSON"),
        (["simulate", str(front_photo), "-o", out, "--hairline-height-cm", "30"], "height-cm"),
        (["simulate", str(photo), "-o", out, "--mm-per-px", "abc"], "mm-per-px"),
        (
            ["simulate", str(photo), *scaled, "--shade", "cb-1:9"],
            "unknown pigment shade 'cb-1:9'; choose one of: cb-1:0, cb-1:1",
        ),
        (["simulate", str(photo)], "-o"),
    ]
    for args, message in cases:
        assert message in _error(capsys, args), args


def test_installed_command_has_no_traceback(top, tmp_path):
    _head, photo = top
    exe = Path(sys.executable).with_name("pointillist")
    result = subprocess.run(
        [str(exe), "simulate", str(photo), "-o", str(tmp_path / "x"), "--view", "top"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot tell the photo's scale")
    assert "Traceback" not in result.stderr


def test_hairline_design_options_reach_the_design(front, tmp_path, capsys):
    _head, photo, landmarks = front
    args = ["simulate", str(photo), "-o", str(tmp_path / "o"), "--landmarks", str(landmarks)]
    code = main(
        [*args, "--hairline-shape", "straight", "--transition-band-mm", "10", "--format", "json"]
    )
    design = json.loads(capsys.readouterr().out)["hairline_design"]
    assert code == 0 and design["shape"] == "straight" and design["transition_band_mm"] == 10


def test_a_drawn_hairline_replaces_the_design(front, tmp_path, capsys):
    _head, photo, landmarks = front
    drawn = tmp_path / "hairline.json"
    drawn.write_text(json.dumps([[120, 160], [210, 130], [300, 160]]))
    code = main(
        [
            "simulate",
            str(photo),
            "-o",
            str(tmp_path / "o"),
            "--landmarks",
            str(landmarks),
            "--hairline",
            str(drawn),
            "--format",
            "json",
        ]
    )
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["hairline_design"]["source"] == "given"
    assert payload["hairline"][:3] == [[120.0, 160.0], [210.0, 130.0], [300.0, 160.0]]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[[1, 2]]", "at least two [x, y] points"),
        ("{", "not readable JSON"),
        ('["a", "b"]', "at least two [x, y] points"),
    ],
)
def test_bad_hairline_files(front, tmp_path, capsys, content, fragment):
    _head, photo, _landmarks = front
    drawn = tmp_path / "hairline.json"
    drawn.write_text(content)
    code = main(["simulate", str(photo), "-o", str(tmp_path / "o"), "--hairline", str(drawn)])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and err.count("\n") == 1


# While a thread creates the face landmarker, MediaPipe's C++ logging is silenced by
# pointing the process's stderr at the null device; the photo is refused meanwhile.
_SILENCED_WHILE_REFUSED = """
import sys, threading
from pointillist.cli import main
from pointillist.imaging import landmarks

silenced, done = threading.Event(), threading.Event()

def create():
    with landmarks._quiet_stderr():
        silenced.set()
        done.wait(0.5)

thread = threading.Thread(target=create)
thread.start()
silenced.wait()
code = main(["simulate", sys.argv[1], "-o", sys.argv[2]])
done.set()
thread.join()
sys.exit(code)
"""


def test_an_error_is_not_lost_while_mediapipe_is_silenced(tmp_path):
    letter = tmp_path / "letter.jpg"
    letter.write_text("not a photo")
    result = subprocess.run(
        [sys.executable, "-c", _SILENCED_WHILE_REFUSED, str(letter), str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "not an image" in result.stderr


def test_a_preview_pauses_the_cycle_collector_and_resumes_it(top, tmp_path, capsys):
    import gc

    from pointillist.cli._common import collection_paused
    from pointillist.imaging import simulate as simulate_mod

    seen = []
    real = simulate_mod.simulate

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    head, photo = top
    simulate_mod.simulate = spy
    try:
        args = ["simulate", str(photo), "-o", str(tmp_path / "o"), "--view", "top"]
        assert main([*args, "--mm-per-px", str(head.mm_per_px)]) == 0
    finally:
        simulate_mod.simulate = real
    assert seen == [False]
    assert gc.isenabled()
    with collection_paused():
        left = [[k] for k in range(5000)]
    # What the command left joins the oldest generation, rather than waiting in the
    # youngest for a collection that would walk all of it at once.
    assert any(obj is left for obj in gc.get_objects(generation=2))
