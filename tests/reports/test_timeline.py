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
