#!/usr/bin/env bash
# Render the client handout as docs/images/handout_pages.png (its pages side by side) and
# docs/images/handout_page1.png (the first page, larger): the handout of
# the sample client (src/pointillist/data/sample_client.toml), with a preview simulated on
# a demo portrait (public domain, src/pointillist/data/demo/CREDITS.md) and two pigment
# lots, printed on A4.
#
# Run from the repository root after `make install`: `bash docs/make_handout_figure.sh`.
# Needs pdftoppm (poppler-utils, installed by .ci/run).
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
.venv/bin/pointillist plan --client src/pointillist/data/sample_client.toml \
    --consultation-date 2026-12-01 --format pdf -o "$out/handout.pdf" \
    --clinic-name "Demo SMP Studio" --licence-number DEMO-0001 \
    --licence-authority "Demo city health department" \
    --photo src/pointillist/data/demo/front-bald-n6-light.jpg \
    --ink "2026-12-29, Perma Blend, Midnight 1:4, PB2401, 2028-06-30" \
    --ink "2026-12-29, Perma Blend, Midnight 1:6, PB2417, 2028-09-30"
pdftoppm -png -r 72 "$out/handout.pdf" "$out/page"
pdftoppm -png -r 110 -f 1 -l 1 "$out/handout.pdf" "$out/first"
.venv/bin/python - "$out" <<'PY'
import sys
from pathlib import Path

from PIL import Image

pages = [Image.open(p).convert("RGB") for p in sorted(Path(sys.argv[1]).glob("page-*.png"))]
gap = 16
sheet = Image.new(
    "RGB", (sum(p.width for p in pages) + gap * (len(pages) + 1), pages[0].height + 2 * gap),
    (214, 220, 222),
)
x = gap
for page in pages:
    sheet.paste(page, (x, gap))
    x += page.width + gap
sheet.quantize(colors=256).save("docs/images/handout_pages.png", optimize=True)
first = Image.open(next(Path(sys.argv[1]).glob("first-*.png"))).convert("RGB")
first.quantize(colors=256).save("docs/images/handout_page1.png", optimize=True)
PY
echo "wrote docs/images/handout_pages.png and docs/images/handout_page1.png"
