import io

import pytest
from PIL import Image

from pointillist.errors import PointillistError
from pointillist.reports.timeline import plan_timeline_png


def test_timeline_is_a_png_wider_than_tall(run):
    image = Image.open(io.BytesIO(plan_timeline_png(run(fitzpatrick=2))))
    assert image.format == "PNG"
    assert image.width > image.height > 200


def test_timeline_needs_dated_sessions(run):
    with pytest.raises(PointillistError, match="no dated sessions"):
        plan_timeline_png(run(conditions=["keloid-history"]))


def test_timeline_says_what_no_downtime_means_and_shows_the_test_patch(run, monkeypatch):
    from matplotlib.figure import Figure

    texts = []
    original = Figure.text

    def capture(self, x, y, s, *args, **kwargs):
        texts.append(s)
        return original(self, x, y, s, *args, **kwargs)

    monkeypatch.setattr(Figure, "text", capture)
    labels = []
    from matplotlib.axes import Axes

    original_ticks = Axes.set_yticks

    def capture_ticks(self, ticks, tick_labels=None, **kwargs):
        labels.extend(tick_labels or [])
        return original_ticks(self, ticks, tick_labels, **kwargs)

    monkeypatch.setattr(Axes, "set_yticks", capture_ticks)
    plan_timeline_png(run(fitzpatrick=5))
    footer = " ".join(" ".join(texts).split())
    assert "back to work" in footer and "does not lift the aftercare" in footer
    assert "Test patch, healing check" in labels
