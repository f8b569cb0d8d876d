"""Treatment area: which zones of the scalp get impressions, and how many cm2 each.

Areas come from ``data/zones.toml`` (built from scalp geometry: no published per-stage
areas exist) and scale with the square of the client's head circumference. Alopecia
patches and scars are sized from the client's own measurements.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pointillist.domain.client import ClientProfile


@dataclass(frozen=True)
class Zone:
    """One zone of the treatment area. ``key`` is stable; ``name`` is for people."""

    key: str
    name: str
    cm2: float


@dataclass(frozen=True)
class TreatmentArea:
    """The zones to treat and their total, in cm2 of scalp surface.

    ``assumptions`` says, in words, every size taken from the data file's defaults
    because the client's own measurement was not given.
    """

    zones: tuple[Zone, ...]
    head_circumference_cm: float
    assumptions: tuple[str, ...] = ()

    @property
    def total_cm2(self) -> float:
        return sum(zone.cm2 for zone in self.zones)


def head_circumference_cm(client: ClientProfile, zones_table: Mapping[str, Any]) -> float:
    """The client's measured circumference, else the default for their sex."""
    if client.head_circumference_cm is not None:
        return client.head_circumference_cm
    return float(zones_table["head"]["default_circumference_cm"][client.sex])


def treatment_area(client: ClientProfile, zones_table: Mapping[str, Any]) -> TreatmentArea:
    """Zones and cm2 to treat for ``client``, scaled to their head circumference."""
    circumference = head_circumference_cm(client, zones_table)
    scale = (circumference / float(zones_table["head"]["reference_circumference_cm"])) ** 2
    names: Mapping[str, str] = zones_table["zone_names"]
    assumptions: list[str] = []
    if client.pattern == "alopecia-areata":
        raw = _alopecia_zones(client, zones_table["alopecia_areata"], assumptions)
    elif client.pattern == "scar":
        raw = _scar_zones(client, zones_table["scar"], assumptions)
    else:
        raw = {k: float(v) for k, v in zones_table["patterns"][client.pattern].items()}
        raw = {k: v * scale for k, v in raw.items()}
    zones = tuple(Zone(key, names.get(key, key), round(cm2, 1)) for key, cm2 in raw.items())
    return TreatmentArea(zones, circumference, tuple(assumptions))


def _alopecia_zones(
    client: ClientProfile, table: Mapping[str, Any], assumptions: list[str]
) -> dict[str, float]:
    count = client.patch_count or int(table["default_patch_count"])
    patch = client.largest_patch_cm2 or float(table["default_largest_patch_cm2"])
    if client.patch_count is None or client.largest_patch_cm2 is None:
        assumptions.append(
            f"Patches not measured: the area assumes {count} patch{'' if count == 1 else 'es'} "
            f"of {patch:g} cm² "
            "(data/zones.toml); measure them and give patch_count and largest_patch_cm2 "
            "(--patch-count, --largest-patch-cm2) for a real area and price."
        )
    ring = float(table["blending_ring_cm"])
    return {"alopecia_patches": count * patch, "blending_margin": count * _ring(patch, ring)}


def _scar_zones(
    client: ClientProfile, table: Mapping[str, Any], assumptions: list[str]
) -> dict[str, float]:
    ring = float(table["blending_ring_cm"])
    if client.scar_area_cm2 is None and client.scar_length_cm is not None:
        # A linear scar: a strip as wide as the cover, blended on every side.
        width = float(table["cover_width_cm"])
        scar = client.scar_length_cm * width
        margin = (client.scar_length_cm + 2 * ring) * (width + 2 * ring) - scar
        return {"scar": scar, "blending_margin": margin}
    scar = client.scar_area_cm2 or float(table["default_area_cm2"])
    if client.scar_area_cm2 is None:
        assumptions.append(
            f"Scar not measured: the area assumes {scar:g} cm² (data/zones.toml); measure "
            "it and give scar_length_cm or scar_area_cm2 (--scar-length-cm, "
            "--scar-area-cm2) for a real area and price."
        )
    return {"scar": scar, "blending_margin": _ring(scar, ring)}


def _ring(area_cm2: float, width_cm: float) -> float:
    """Area of a ring ``width_cm`` wide around a disc of ``area_cm2``."""
    radius = math.sqrt(area_cm2 / math.pi)
    return math.pi * ((radius + width_cm) ** 2 - radius**2)
