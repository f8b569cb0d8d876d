"""Compile the kernels ahead of time into the C extension ``_kernels_aot``.

``make install`` runs this (through ``python -m pointillist.imaging.warmup``), so that a
preview does not pay for importing numba and loading its cached code in every process
(see :mod:`pointillist.imaging.kernels`). numba's ``pycc`` compiles the same Python
source the JIT build runs, for the argument types below: exactly those a simulation
passes (``tests/imaging/test_kernels.py`` checks both builds give the same pixels).
``pycc`` builds single-threaded code, so the ``prange`` loops run in order, which every
kernel allows (none depends on the order of its strips or rows).

Needs numba (``pycc``) and a C compiler; without them the JIT build is used.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

# numba ships no type hints for these.
types: Any = importlib.import_module("numba.core.types")

MODULE = "_kernels_aot"


def _array(dtype: Any, ndim: int, *, readonly: bool = False) -> Any:
    return types.Array(dtype, ndim, "C", readonly=readonly)


def _signatures() -> dict[str, object]:
    f4, f8, i8, u1, i2 = types.float32, types.float64, types.int64, types.uint8, types.int16
    tiles = types.Tuple([f8, f8, f8, _array(f8, 2), _array(f8, 2)])
    measure = tiles(_array(f4, 2), _array(f4, 3), f8, f8)
    return {
        "_measure_flat": measure,
        "_measure_field": measure,
        "blue_noise": _array(f8, 2)(
            _array(f4, 2),
            _array(f4, 3),
            _array(f8, 2),
            i8,
            i8,
            f8,
            f8,
            f8,
            _array(f8, 2),
            _array(f8, 2),
            f8,
            i8,
        ),
        "assign_layers": _array(i2, 1)(
            _array(f8, 2),
            _array(f4, 2),
            _array(f4, 3),
            _array(f8, 1),
            _array(i8, 1),
            f8,
            f8,
            f8,
        ),
        "prepare_dots": types.Tuple([_array(f4, 2), _array(i8, 2)])(
            _array(f8, 2),
            _array(f4, 2),
            _array(f4, 1),
            _array(f4, 1),
            _array(f4, 1),
            _array(f4, 1),
            _array(f4, 1),
            f8,
            f8,
            f8,
            f8,
            f8,
            i8,
            i8,
        ),
        "strip_index": types.Tuple([_array(i8, 1), _array(f4, 2)])(
            _array(f4, 2), _array(i8, 2), i8, i8
        ),
        # The photo arrives read-only (decoded from a file; render makes it so).
        "composite_layers": types.none(
            _array(u1, 3, readonly=True),
            _array(u1, 4),
            _array(i8, 1),
            _array(f4, 2),
            i8,
            i8,
            f8,
            _array(u1, 3),
            i8,
        ),
    }


def build(output_dir: Path | None = None) -> Path:
    """Compile the extension into the package (or ``output_dir``); returns its path.

    Compiled in a scratch folder and moved into place at once, so a process starting
    meanwhile finds either the old build or the new one, never half a file.
    """
    from numba.core.errors import NumbaPendingDeprecationWarning

    with warnings.catch_warnings():
        # pycc is marked for a future removal; the JIT build stays the fallback.
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
        pycc: Any = importlib.import_module("numba.pycc")

    from llvmlite import binding as llvm

    from pointillist.imaging import _kernels
    from pointillist.imaging.kernels import source_stamp

    target = Path(output_dir) if output_dir is not None else Path(__file__).parent
    stamp = source_stamp()

    def stamp_of_build() -> int:
        return stamp

    with tempfile.TemporaryDirectory(prefix="pointillist-kernels-") as scratch:
        cc = pycc.CC(MODULE)
        cc.output_dir = scratch
        cc.verbose = False
        # This machine's processor, as the JIT build compiles for: the default, a generic
        # x86-64, has no fused multiply-add, so sums round differently and a point of
        # the pattern can land elsewhere (the builds would not draw the same pixels).
        cc.target_cpu = llvm.get_host_cpu_name()
        for name, signature in _signatures().items():
            cc.export(name, signature)(getattr(_kernels, name).py_func)
        cc.export("source_stamp", types.int64())(stamp_of_build)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
            cc.compile()
        (built,) = Path(scratch).glob(f"{MODULE}*")
        destination = target / built.name
        staged = target / f".{built.name}.partial"
        shutil.copyfile(built, staged)
        os.replace(staged, destination)
    return destination


def main() -> int:
    print("compiling the kernels ahead of time (once after an install; under a minute) ...")
    start = time.perf_counter()
    try:
        path = build()
    except Exception as exc:  # no C compiler, no pycc: the JIT build does the work
        print(
            f"warning: the ahead-of-time kernels were not built ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else exc!r}); previews "
            "use numba's JIT build, which adds about half a second to each run",
            file=sys.stderr,
        )
        return 1
    print(f"built {path.name} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
