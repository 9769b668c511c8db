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

from hvmm.keyboard import KEY_NAMES, key_bytes, named_key_char
from hvmm.runner import RunResult, Runner, describe_stop, new_on_screen  # noqa: F401

_ESCAPES = {"r": "\r", "e": "\x1b", "t": "\t", "n": "\r", "b": "\b", "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(x[0-9A-Fa-f]{2}|\{[A-Za-z0-9]*\}|.)", re.S)
# A named key sent to COM1: what a VT100-style terminal sends for it.
_SERIAL_KEYS = {"up": "\x1b[A", "down": "\x1b[B", "right": "\x1b[C", "left": "\x1b[D",
                "home": "\x1b[H", "end": "\x1b[F", "insert": "\x1b[2~", "delete": "\x1b[3~",
                "pageup": "\x1b[5~", "pagedown": "\x1b[6~", "f1": "\x1bOP", "f2": "\x1bOQ",
                "f3": "\x1bOR", "f4": "\x1bOS", "f5": "\x1b[15~", "f6": "\x1b[17~",
                "f7": "\x1b[18~", "f8": "\x1b[19~", "f9": "\x1b[20~", "f10": "\x1b[21~",
                "f11": "\x1b[23~", "f12": "\x1b[24~"}


def decode_keys(text: str, keyboard: bool = True) -> str:
    """Decode ``--type`` (and ``--send``) escapes: ``\\r`` (and ``\\n``) Enter, ``\\e`` Esc,
    ``\\t`` Tab, ``\\b`` Backspace, ``\\\\`` a backslash, ``\\xNN`` the
    character NN (hex; on the keyboard \\x01-\\x1a are Ctrl with a letter:
    ``\\x0e`` is Ctrl-N), ``\\{name}`` a named key (up down left right home
    end insert delete pageup pagedown f1-f12; on COM1 what a VT100-style
    terminal sends for it).  Any other backslash stays as it is, so
    ``A:\\>`` or ``cd \\dos`` need no doubling.  Raises ValueError (one
    line) for an unknown key name or a character with no key on a US
    keyboard (with ``keyboard``; COM1 takes any byte)."""

    def sub(m: re.Match) -> str:
        s = m.group(1)
        if s.startswith("{"):
            name = s[1:-1].lower()
            if name not in KEY_NAMES:
                raise ValueError(f"unknown key \\{s}: the names are {' '.join(KEY_NAMES)}")
            return named_key_char(name) if keyboard else _SERIAL_KEYS[name]
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
