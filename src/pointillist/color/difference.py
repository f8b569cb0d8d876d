"""Colour difference: CIEDE2000 on colour-science."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def delta_e00(lab1: Sequence[float], lab2: Sequence[float]) -> float:
    """CIEDE2000 colour difference between two CIELAB colours (kL = kC = kH = 1).

    Implements Sharma, Wu & Dalal 2005 (Color Res Appl 30:21) through
    ``colour.difference.delta_E_CIE2000``; about 1 is a just-noticeable difference.

    Parameters
    ----------
    lab1, lab2
        CIELAB (L*, a*, b*) triples.
    """
    from colour.difference import delta_E_CIE2000

    a = np.asarray(lab1, dtype=float)
    b = np.asarray(lab2, dtype=float)
    if a.shape != (3,) or b.shape != (3,) or not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("delta_e00 takes two finite (L*, a*, b*) triples")
    return float(delta_E_CIE2000(a, b))
