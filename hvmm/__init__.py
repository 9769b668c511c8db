"""hvmm: a hybrid virtual machine monitor for x86 PCs.

Guest code runs in a compiled interpreter, ``hvmm._core`` (Cython); devices,
firmware glue and front ends are Python.  For now the package is the CPU core:
``Cpu`` (8086 and 386 real-mode models) and its exit record ``Exit``.
"""

__version__ = "0.1.0"

try:
    from hvmm._core import Cpu, Exit
except ImportError as exc:  # pragma: no cover - depends on the build
    raise ImportError(
        "hvmm's compiled core (hvmm._core) is missing or failed to load: "
        f"{exc}. Install hvmm with `pip install .` (or `pip install -e .`), "
        "or build it in place with `python setup.py build_ext --inplace`."
    ) from exc

__all__ = ["Cpu", "Exit", "__version__", "guest_image"]


def guest_image(name: str) -> bytes:
    """The bytes of a bundled guest image, e.g. ``guest_image("bench")``.

    Images are ``hvmm/guests/<name>.bin``, assembled from ``guests/<name>.asm``.
    """
    from importlib.resources import files

    return (files("hvmm") / "guests" / f"{name}.bin").read_bytes()
