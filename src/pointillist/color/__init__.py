"""Skin colour, pigment optics and shade choice for SMP.

- :mod:`~pointillist.color.skin`: measure skin from a photo region (CIELAB, ITA,
  category, Fitzpatrick estimate).
- :mod:`~pointillist.color.optics`: layered Kubelka-Munk reflectance of skin and pigment.
- :mod:`~pointillist.color.dot`: pigment catalogue, fading, predicted healed dot.
- :mod:`~pointillist.color.recommend`: shade and depth recommendation.
- :mod:`~pointillist.color.look`: the look the simulator draws, calibrated by the area
  (:func:`dot_look`).
- :mod:`~pointillist.color.difference`: CIEDE2000.
"""

from __future__ import annotations

from pointillist.color.difference import delta_e00
from pointillist.color.dot import DotPrediction, Shade, catalogue, find_shade, predict_dot
from pointillist.color.look import DotLook, dot_look
from pointillist.color.recommend import Recommendation, recommend
from pointillist.color.skin import (
    SkinMeasurement,
    measure_skin,
    skin_from_fitzpatrick,
    skin_from_ita,
    skin_from_lab,
)

__all__ = [
    "DotLook",
    "DotPrediction",
    "Recommendation",
    "Shade",
    "SkinMeasurement",
    "catalogue",
    "delta_e00",
    "dot_look",
    "find_shade",
    "measure_skin",
    "predict_dot",
    "recommend",
    "skin_from_fitzpatrick",
    "skin_from_ita",
    "skin_from_lab",
]
