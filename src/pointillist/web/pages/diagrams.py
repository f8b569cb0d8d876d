"""Pictures of the hair-loss patterns (Norwood, Ludwig and the others), drawn as SVG.

A head seen from above, face at the top, ears at the sides: hair in dark brown, scalp
in skin colour where the pattern has lost it. The shapes follow the usual drawings of
the scales (Norwood 1975, Ludwig 1977): temples recede first, then the crown opens, then
the bridge between them goes; the 'a' variants recede from the front as one line; Ludwig
thins diffusely behind a kept frontal hairline. They are schematic, to help choose the
stage with the client, not measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

HAIR = "#3a2a22"
SCALP = "#efcfb4"
OUTLINE = "#6b5346"

# Bald shapes as (cx, cy, rx, ry) ellipses in the 100 x 120 drawing, face at the top.
Ellipse = tuple[float, float, float, float]


@dataclass(frozen=True)
class Look:
    """How a pattern is drawn: bald ellipses, a diffuse thinning, or no hair at all."""

    bald: tuple[Ellipse, ...] = ()
    thinning: Ellipse | None = None
    thinning_opacity: float = 0.0
    scar: bool = False
    no_hair: bool = False


def _temples(depth: float, middle: float) -> tuple[Ellipse, ...]:
    """Receding temples ``depth`` deep, and the middle of the hairline ``middle`` back."""
    shapes: list[Ellipse] = [(30, 10, 8 + depth * 0.3, depth), (70, 10, 8 + depth * 0.3, depth)]
    if middle:
        shapes.append((50, 12, 16, middle))
    return tuple(shapes)


LOOKS: dict[str, Look] = {
    "norwood-1": Look(bald=_temples(7, 0)),
    "norwood-2": Look(bald=_temples(15, 3)),
    "norwood-2a": Look(bald=((50, 12, 26, 12),)),
    "norwood-3": Look(bald=_temples(23, 6)),
    "norwood-3a": Look(bald=((50, 12, 28, 20),)),
    "norwood-3v": Look(bald=(*_temples(23, 6), (50, 82, 9, 9))),
    "norwood-4": Look(bald=(*_temples(27, 12), (50, 80, 13, 13))),
    "norwood-4a": Look(bald=((50, 14, 29, 30),)),
    "norwood-5": Look(bald=(*_temples(30, 20), (50, 76, 17, 17))),
    "norwood-5a": Look(bald=((50, 20, 30, 40),)),
    "norwood-6": Look(bald=(*_temples(28, 22), (50, 52, 26, 38))),
    "norwood-7": Look(bald=(*_temples(30, 24), (50, 56, 31, 46))),
    "ludwig-1": Look(thinning=(50, 55, 15, 26), thinning_opacity=0.45),
    "ludwig-2": Look(thinning=(50, 56, 22, 33), thinning_opacity=0.65),
    "ludwig-3": Look(thinning=(50, 54, 29, 42), thinning_opacity=0.85),
    "alopecia-areata": Look(bald=((36, 46, 7, 6), (64, 70, 9, 8), (44, 92, 5, 5))),
    "diffuse-thinning": Look(thinning=(50, 60, 34, 48), thinning_opacity=0.5),
    "scar": Look(scar=True),
    "chemotherapy": Look(no_hair=True),
}

LABELS: dict[str, str] = {
    **{f"norwood-{n}": f"Norwood {n}" for n in range(1, 8)},
    **{f"norwood-{n}a": f"Norwood {n}A" for n in range(2, 6)},
    "norwood-3v": "Norwood 3 vertex",
    **{f"ludwig-{n}": f"Ludwig {'I' * n}" for n in range(1, 4)},
    "alopecia-areata": "Alopecia areata (patches)",
    "diffuse-thinning": "Diffuse thinning",
    "scar": "Scar",
    "chemotherapy": "After chemotherapy",
}


def _ellipse(shape: Ellipse, fill: str, extra: str = "") -> str:
    cx, cy, rx, ry = shape
    return f'<ellipse cx="{cx:g}" cy="{cy:g}" rx="{rx:g}" ry="{ry:g}" fill="{fill}"{extra}/>'


def pattern_svg(code: str, *, size: int = 96, decorative: bool = False) -> Markup:
    """An SVG picture of the pattern ``code`` (a key of :data:`LOOKS`), ``size`` px wide.

    ``decorative``: hidden from screen readers, for a picture beside its own label text.
    """
    look = LOOKS[code]
    label = escape(LABELS.get(code, code))
    head = (50, 62, 38, 50)
    mask_id = f"bald-{code}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 124" width="{size}" '
        f'height="{round(size * 1.24)}" '
        + (
            'aria-hidden="true">'
            if decorative
            else f'role="img" aria-label="{label}, seen from above">'
        ),
        "" if decorative else f"<title>{label}</title>",
        # Nose and ears: which way the head faces.
        f'<path d="M46 13 L50 4 L54 13 Z" fill="{SCALP}" stroke="{OUTLINE}" stroke-width="1"/>',
        _ellipse((12, 64, 4, 9), SCALP, f' stroke="{OUTLINE}" stroke-width="1"'),
        _ellipse((88, 64, 4, 9), SCALP, f' stroke="{OUTLINE}" stroke-width="1"'),
        _ellipse(head, SCALP, f' stroke="{OUTLINE}" stroke-width="1.5"'),
    ]
    if not look.no_hair:
        # Hair is the head minus the bald shapes: a mask, white where hair may grow.
        parts.append(f'<mask id="{mask_id}">')
        parts.append(_ellipse(head, "#fff"))
        parts.extend(_ellipse(shape, "#000") for shape in look.bald)
        parts.append("</mask>")
        parts.append(_ellipse((50, 62, 37, 49), HAIR, f' mask="url(#{mask_id})"'))
    if look.thinning is not None:
        parts.append(_ellipse(look.thinning, SCALP, f' fill-opacity="{look.thinning_opacity}"'))
        cx, cy, _, ry = look.thinning
        parts.append(
            f'<line x1="{cx:g}" y1="{cy - ry:g}" x2="{cx:g}" y2="{cy + ry:g}" '
            f'stroke="{SCALP}" stroke-width="2"/>'
        )
    if look.scar:
        parts.append(
            '<path d="M24 100 Q50 110 76 100" fill="none" stroke="#c98a7a" stroke-width="4" '
            'stroke-linecap="round"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
