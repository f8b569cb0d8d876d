"""What the docs' screenshot scripts share: copying the end-to-end tests' screenshots
into docs/images/<folder>/, each stored small.

The browser tests save a screenshot of every step under ``test-artefacts/e2e/<test>/``.
Pages of flat colours and text are stored as PNG with a 256-colour palette (sharp, a
third of the size); pages showing photos (a ``.jpg`` target) as JPEG, which keeps the
photos' tones.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "test-artefacts" / "e2e"


def copy_screenshots(shots: Mapping[str, str], folder: str) -> int:
    """Copy ``shots`` (target name -> path under ``SOURCE``) into docs/images/``folder``/;
    return the exit code (2, naming them, when a test has not saved some)."""
    missing = [name for name in shots.values() if not (SOURCE / name).is_file()]
    if missing:
        print(f"run the browser tests first; missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    target_dir = ROOT / "docs" / "images" / folder
    target_dir.mkdir(parents=True, exist_ok=True)
    for target, source in shots.items():
        image = Image.open(SOURCE / source).convert("RGB")
        if target.endswith(".jpg"):
            image.save(target_dir / target, quality=85, optimize=True)
        else:
            image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
                target_dir / target, optimize=True
            )
        print(f"docs/images/{folder}/{target}")
    return 0
