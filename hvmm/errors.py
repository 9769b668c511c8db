"""hvmm's exception types.

Every message is one line, written to be shown as ``hvmm: <message>`` by the
command line, which never prints a traceback for these.
"""

from __future__ import annotations


class HvmmError(Exception):
    """Base class of hvmm's own errors."""


class ConfigError(HvmmError):
    """A machine that cannot be built as asked: an unknown or unloadable
    device, a bad ``--device`` option, two devices claiming one port or
    address range, an IRQ that is not free."""


class DeviceError(HvmmError):
    """A Python device failed while the guest was running (it raised, or
    returned something that is not an answer).  ``device`` is its name and
    ``__cause__`` the original exception, if any."""

    def __init__(self, message: str, device: str | None = None):
        super().__init__(message)
        self.device = device


def exc_line(exc: BaseException) -> str:
    """``ValueError: message (file.py:42 in fn)``: an exception as one line,
    with where it was raised (the innermost frame)."""
    import os

    text = " ".join(str(exc).split())
    out = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    tb = exc.__traceback__
    if tb is not None:
        while tb.tb_next is not None:
            tb = tb.tb_next
        code = tb.tb_frame.f_code
        out += f" ({os.path.basename(code.co_filename)}:{tb.tb_lineno} in {code.co_name})"
    return out
