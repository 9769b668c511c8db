"""hvmm: a hybrid virtual machine monitor for x86 PCs.

Guest code runs in a compiled interpreter, ``hvmm._core`` (Cython); devices,
firmware glue and front ends are Python.

    import hvmm
    pc = hvmm.PC(floppy="dos.img")      # a PC: our BIOS, disks, devices
    pc.wait_for_text("A:\\>")
    pc.type("dir\\r")
    pc.screenshot("dir.png")

``PC`` is a ``Machine`` (hvmm.machine: the core plus Python devices, the
virtual clock, run/stats, and the scripting methods ``wait_for_text``,
``type``, ``screen_text``, ``screenshot``) with our BIOS and disk drives;
``Cpu`` is the compiled core (8086 and 386 models) and ``Exit`` its exit
record.
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

from hvmm.machine import Machine  # noqa: E402  (needs the core above)
from hvmm.pc import PC  # noqa: E402

__all__ = ["Cpu", "Exit", "Machine", "PC", "__version__", "guest_image"]


def guest_image(name: str) -> bytes:
    """The bytes of a bundled guest image, e.g. ``guest_image("bench")``.

    Images are ``hvmm/guests/<name>.bin``, assembled from ``guests/<name>.asm``.
    """
    from importlib.resources import files

    return (files("hvmm") / "guests" / f"{name}.bin").read_bytes()
