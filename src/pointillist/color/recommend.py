"""Choose the pigment shade and depth for a client's skin.

Every catalogue shade is tried at every depth of the working range
(``data/pigments.toml``). A choice is scored on two things:

- how far its contrast misses the goal, healed and ``horizon_years`` later: either the
  soft contrast of one-day stubble (a CIEDE2000 target) or, with a measured hair colour,
  the CIEDE2000 distance to the hair;
- how far it drifts toward blue by the horizon, against the same shade placed shallow.

The lowest score wins; the best choice of each other shade are the alternatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pointillist.color.difference import delta_e00
from pointillist.color.dot import (
    RGB,
    DotPrediction,
    Lab,
    Shade,
    catalogue,
    check_lab,
    find_shade,
    predict_dot,
)
from pointillist.data import load_table


@dataclass(frozen=True)
class Choice:
    """One shade at one depth: the healed dot, the dot at the horizon, and its score."""

    healed: DotPrediction
    later: DotPrediction
    score: float


@dataclass(frozen=True)
class Recommendation:
    """The recommended shade and depth, its alternatives and why.

    Attributes
    ----------
    best
        The chosen shade and depth.
    alternatives
        The best choice of each other shade, best first.
    goal
        ``"stubble"`` (contrast target) or ``"hair"`` (match a measured hair colour).
    target_delta_e00
        The stubble contrast target (CIEDE2000).
    hair_lab
        The hair colour matched, if any.
    horizon_years
        How many years on the choice was also judged.
    """

    best: Choice
    alternatives: tuple[Choice, ...]
    goal: str
    target_delta_e00: float
    hair_lab: Lab | None
    horizon_years: float

    def explanation(self) -> list[str]:
        """Why this choice, and its risk, in sentences with numbers."""
        b, later = self.best.healed, self.best.later
        lines = []
        if self.goal == "hair":
            assert self.hair_lab is not None
            lines.append(
                f"{b.shade.name} at {b.depth_mm:.2f} mm heals to L* {b.lab[0]:.0f}, "
                f"{delta_e00(b.lab, self.hair_lab):.1f} CIEDE2000 from the hair colour "
                f"(L* {self.hair_lab[0]:.0f}): the closest match the catalogue offers."
            )
        else:
            lines.append(
                f"{b.shade.name} at {b.depth_mm:.2f} mm heals to L* {b.lab[0]:.0f}, a contrast "
                f"of {b.delta_e00_to_skin:.1f} CIEDE2000 against this skin; one-day stubble "
                f"reads at about {self.target_delta_e00:.0f}."
            )
            if b.delta_e00_to_skin < self.target_delta_e00 - 2.0 and b.shade.dilution == 0:
                lines.append(
                    "Even undiluted pigment cannot reach the stubble contrast on this skin "
                    "(dermal pigment shows less under more melanin): expect a subtle result."
                )
        lines.append(
            f"After {self.horizon_years:g} years the model expects a contrast of "
            f"{later.delta_e00_to_skin:.1f} and a blue drift of {later.blue_shift_deg:+.1f} "
            "degrees against the same pigment placed shallow: "
            f"{_risk_words(later.blue_shift_deg)} blue-shift risk."
        )
        if self.alternatives:
            alt = self.alternatives[0].healed
            lines.append(
                f"Next best: {alt.shade.name} at {alt.depth_mm:.2f} mm "
                f"(contrast {alt.delta_e00_to_skin:.1f})."
            )
        return lines


def _risk_words(blue_shift_deg: float) -> str:
    if blue_shift_deg < 3.0:
        return "low"
    if blue_shift_deg < 8.0:
        return "moderate"
    return "high"


def _policy(override: str | Path | None) -> dict[str, Any]:
    policy: dict[str, Any] = load_table("pigments", override)["recommendation"]
    return policy


def candidate_depths(override: str | Path | None = None) -> tuple[float, ...]:
    """The depths the recommendation tries, mm."""
    p = _policy(override)
    n = round((p["depth_max_mm"] - p["depth_min_mm"]) / p["depth_step_mm"])
    return tuple(round(p["depth_min_mm"] + i * p["depth_step_mm"], 4) for i in range(n + 1))


def recommend(
    skin_lab: Sequence[float],
    *,
    depth_mm: float | None = None,
    hair_lab: Sequence[float] | None = None,
    shade: str | None = None,
    override: str | Path | None = None,
) -> Recommendation:
    """Recommend a shade and depth for a skin, with alternatives.

    Parameters
    ----------
    skin_lab
        The client's skin, CIELAB D65.
    depth_mm
        Fix the depth (mm) instead of choosing it.
    hair_lab
        A measured hair colour (CIELAB D65) to match instead of the stubble contrast.
    shade
        Fix the shade (catalogue id) and choose only the depth.
    override
        A clinic's ``pigments.toml``.
    """
    skin = check_lab(skin_lab)
    hair = check_lab(hair_lab, "hair") if hair_lab is not None else None
    policy = _policy(override)
    horizon = float(policy["horizon_years"])
    shades = (find_shade(shade, override),) if shade is not None else catalogue(override)
    depths = (float(depth_mm),) if depth_mm is not None else candidate_depths(override)
    per_shade: list[Choice] = []
    for s in shades:
        choices = [_choice(skin, s, d, horizon, hair, policy) for d in depths]
        per_shade.append(min(choices, key=lambda c: c.score))
    per_shade.sort(key=lambda c: c.score)
    return Recommendation(
        best=per_shade[0],
        alternatives=tuple(per_shade[1 : 1 + int(policy["alternatives"])]),
        goal="hair" if hair is not None else "stubble",
        target_delta_e00=float(policy["stubble_contrast_delta_e00"]),
        hair_lab=hair,
        horizon_years=horizon,
    )


def _choice(
    skin: Lab, shade: Shade, depth: float, horizon: float, hair: Lab | None, p: dict[str, Any]
) -> Choice:
    healed = predict_dot(skin, shade, depth, 0.0)
    later = predict_dot(skin, shade, depth, horizon)
    if hair is not None:
        miss = (delta_e00(healed.lab, hair) + delta_e00(later.lab, hair)) / 2.0
        miss /= p["hair_match_tolerance_delta_e00"]
    else:
        target = p["stubble_contrast_delta_e00"]
        miss = (abs(healed.delta_e00_to_skin - target) + abs(later.delta_e00_to_skin - target)) / 2
        miss /= p["contrast_tolerance_delta_e00"]
    blue = max(0.0, later.blue_shift_deg) / p["blue_shift_tolerance_deg"]
    return Choice(healed=healed, later=later, score=float(miss + blue))


__all__ = [
    "RGB",
    "Choice",
    "Recommendation",
    "candidate_depths",
    "recommend",
]
