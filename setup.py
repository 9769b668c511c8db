"""Builds hvmm._core, the compiled kernel component (CPU, memory, I/O bus).

The opcode switch is generated first, from the instruction table
(hvmm/isa/table.py -> hvmm/core/execute_gen.pxi, not committed).

The CPU interpreter depends on gcc inlining its small helpers into the run
loop (see ../shared/design/fast-cython-core.md): Cython declares them
`static CYTHON_INLINE`, and gcc declines to inline the larger ones unless
told to, so CYTHON_INLINE is redefined to force it.
"""
import importlib.util
import os
import sys
from pathlib import Path
import time

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from Cython.Build import cythonize

HERE = Path(__file__).resolve().parent


def generate_opcode_switch():
    # hvmm/isa is loaded from the source tree by path, as a package of its
    # own: importing hvmm would need the core this build makes.
    spec = importlib.util.spec_from_file_location(
        "_hvmm_isa", HERE / "hvmm" / "isa" / "__init__.py",
        submodule_search_locations=[str(HERE / "hvmm" / "isa")])
    package = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = package
    spec.loader.exec_module(package)
    from _hvmm_isa import generate
    generate.write(HERE / "hvmm" / "core" / "execute_gen.pxi")


generate_opcode_switch()

extra_compile_args = []
if sys.platform != "win32":
    extra_compile_args = [
        "-O2",
        '-DCYTHON_INLINE=__inline__ __attribute__((always_inline))',
        "-Wno-unused-function",
        "-Wno-unused-variable",
        "-fno-strict-aliasing",
    ]


class build_ext_with_progress(build_ext):
    """Says that the compile (about a minute) has started and how long it
    took: pip shows it with -v (it hides a build's output otherwise)."""

    def build_extension(self, ext):
        print(f"hvmm: building {ext.name} (compiling the CPU core, one large C "
              "file, takes about a minute)...", file=sys.stderr, flush=True)
        start = time.monotonic()
        super().build_extension(ext)
        print(f"hvmm: {ext.name} built in {time.monotonic() - start:.0f} s",
              file=sys.stderr, flush=True)


extensions = [
    Extension(
        "hvmm._core",
        ["hvmm/_core.pyx"],
        extra_compile_args=extra_compile_args,
    )
]

setup(
    cmdclass={"build_ext": build_ext_with_progress},
    ext_modules=cythonize(
        extensions,
        language_level=3,
        annotate=bool(os.environ.get("HVMM_ANNOTATE")),
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "nonecheck": False,
        },
    ),
)
