"""Headless runs of the PC: what ``hvmm boot --headless`` adds to the runner.

    from hvmm.pc import PC
    from hvmm.headless import run_script, decode_keys
    pc = PC("dos.img")
    result = run_script(pc, [("wait", "A:\\>"), ("type", decode_keys(r"ver\\r")),
                             ("wait", "A:\\>")], timeout=60)
    result.status, result.reason, result.message

The script's steps (``wait``, ``type``, ``sleep``) and how a run ends are
:mod:`hvmm.runner`'s; this module decodes ``--type`` text and prints the
final screen.
"""

from __future__ import annotations

import re

from hvmm.keyboard import key_bytes
from hvmm.runner import RunResult, Runner, describe_stop, new_on_screen  # noqa: F401

_ESCAPES = {"r": "\r", "e": "\x1b", "t": "\t", "n": "\r", "b": "\b", "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)", re.S)


def decode_keys(text: str, keyboard: bool = True) -> str:
    """Decode ``--type`` (and ``--send``) escapes: ``\\r`` (and ``\\n``) Enter, ``\\e`` Esc,
    ``\\t`` Tab, ``\\b`` Backspace, ``\\\\`` a backslash, ``\\xNN`` the
    character NN (hex).  Any other backslash stays as it is, so ``A:\\>`` or
    ``cd \\dos`` need no doubling.  Raises ValueError (one line) if a
    character has no key on a US keyboard (with ``keyboard``; COM1 takes
    any byte)."""

    def sub(m: re.Match) -> str:
        s = m.group(1)
        if len(s) == 3:
            return chr(int(s[1:], 16))
        return _ESCAPES.get(s, m.group(0))

    keys = _ESCAPE_RE.sub(sub, text)
    for ch in keys if keyboard else ():
        key_bytes(ch)  # raises ValueError for a character with no key
    return keys


def run_script(pc, steps, *, timeout: float | None = None,
               max_instructions: int | None = None, progress=None,
               serial_io=None) -> RunResult:
    """Run ``pc`` through ``steps`` (``("wait", text)``, ``("type", keys)``
    with keys decoded, ``("sleep", seconds)``) and stop; with no steps, run
    until the guest stops.  ``serial_io(data)``: called after every slice
    with what the guest sent to COM1; returning True ends the run.  A
    :class:`hvmm.runner.Runner` does the work."""
    return Runner(pc, steps=steps, timeout=timeout, max_instructions=max_instructions,
                  progress=progress, on_slice=serial_io).run()


def format_screen(pc) -> str:
    """The 80x25 text screen: trailing blanks and blank lines dropped."""
    return pc.screen_text().rstrip("\n")
