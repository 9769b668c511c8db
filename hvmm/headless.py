"""Headless runs of the PC under a script: what ``hvmm boot --headless`` does.

    from hvmm.pc import PC
    from hvmm.headless import run_script, decode_keys
    pc = PC("dos.img")
    result = run_script(pc, [("wait", "A:\\>"), ("type", decode_keys(r"ver\\r")),
                             ("wait", "A:\\>")], timeout=60)
    result.status, result.reason, result.message

Steps run in order.  ``("type", TEXT)`` queues TEXT as key presses (see
:meth:`hvmm.pc.PC.type`).  ``("sleep", SECONDS)`` runs the machine for
SECONDS of virtual time (e.g. to let a game draw its title screen).
``("wait", TEXT)`` runs the machine in short slices until TEXT is *new* output: on the text screen somewhere it was not
when keys were last typed (or when the run began), allowing for the
screen having scrolled since; or in what the guest sent to COM1 since then.
So ``--wait 'A:\\>' --type 'ver\\r' --wait 'A:\\>'`` waits for the prompt
that follows the output of ``ver``, not the one ``ver`` was typed at.  (As
with ``expect``, the echo of typed keys is output too: waiting for a word
that was just typed matches its echo.)

Every limit is counted in retired instructions except ``timeout`` (wall
seconds), so two runs with the same script retire the same number of
instructions unless the timeout ends one of them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from hvmm.display import read_screen
from hvmm.keyboard import key_bytes

#: Instructions per slice while a --wait polls the screen.
POLL_SLICE = 20_000
#: Instructions per slice otherwise (only the wall-clock timeout is checked).
RUN_SLICE = 1_000_000
#: Virtual time per slice in realtime mode.
REALTIME_SLICE_NS = 10_000_000
#: COM1 output kept for matching.
SERIAL_KEEP = 1 << 16

# Exit statuses (the guest's own: 0 halt, (v << 1) | 1 port 0xF4, 1 error).
EXIT_LIMIT = 3
EXIT_TIMEOUT = 4

_ESCAPES = {"r": "\r", "e": "\x1b", "t": "\t", "n": "\r", "b": "\b", "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)", re.S)


def decode_keys(text: str) -> str:
    """Decode ``--type`` escapes: ``\\r`` (and ``\\n``) Enter, ``\\e`` Esc,
    ``\\t`` Tab, ``\\b`` Backspace, ``\\\\`` a backslash, ``\\xNN`` the
    character NN (hex).  Any other backslash stays as it is, so ``A:\\>`` or
    ``cd \\dos`` need no doubling.  Raises ValueError (one line) if a
    character has no key on a US keyboard."""

    def sub(m: re.Match) -> str:
        s = m.group(1)
        if len(s) == 3:
            return chr(int(s[1:], 16))
        return _ESCAPES.get(s, m.group(0))

    keys = _ESCAPE_RE.sub(sub, text)
    for ch in keys:
        key_bytes(ch)  # raises ValueError for a character with no key
    return keys


def _scroll(old: list[str], new: list[str]) -> int:
    """How many rows the screen most likely scrolled up from ``old`` to
    ``new``: the shift that lines up the most non-blank rows (the smallest
    on a tie)."""
    best, best_k = 0, 0
    rows = min(len(old), len(new))
    for k in range(rows):
        score = sum(1 for r in range(rows - k) if new[r] == old[r + k] and new[r].strip())
        if score > best:
            best, best_k = score, k
    return best_k


def new_on_screen(text: str, old: list[str], new: list[str]) -> bool:
    """True if ``text`` is in ``new`` (rows of the screen, searched as one
    line per row) at a place where ``old`` (scrolled like ``new``) did not
    have it."""
    if not any(text in row for row in new):
        return False
    k = _scroll(old, new)
    n = len(text)
    for r, row in enumerate(new):
        start = row.find(text)
        while start >= 0:
            was = old[r + k][start : start + n] if r + k < len(old) else ""
            if was != text:
                return True
            start = row.find(text, start + 1)
    return False


def describe_stop(cpu, stop) -> tuple[int, str]:
    """The exit status and the one-line message for a run the guest ended
    (a :class:`hvmm.machine.Stop` other than ``'limit'``)."""
    if stop.reason == "debug_exit":
        msg = (f"guest wrote 0x{stop.value:02X} to the exit port 0xF4: "
               f"exit status {stop.status}")
    elif stop.reason == "hlt":
        if cpu.eflags & 0x200:
            msg = "guest halted with interrupts on and nothing to wake it"
        else:
            msg = "guest halted with interrupts off"
    elif stop.reason == "reset":
        msg = "guest asked for a reset, stopping"
    elif stop.reason == "interrupted":
        msg = "interrupted"
    else:
        msg = stop.error or f"stopped: {stop.reason}"
    return stop.status, msg


@dataclass
class ScriptResult:
    status: int
    reason: str  # "done", "timeout", "limit", "wait" (a wait unmatched), or a Stop reason
    message: str | None  # one line for stderr, or None
    instructions: int
    seconds: float
    stop: object = None


def _quote(text: str) -> str:
    return repr(text)


def run_script(pc, steps, *, timeout: float | None = None,
               max_instructions: int | None = None, progress=None,
               serial_io=None) -> ScriptResult:
    """Run ``pc`` through ``steps`` (``("wait", text)`` / ``("type", keys)``,
    keys already decoded) and then stop; with no steps, run until the guest
    stops.  See the module docstring.

    Called after every slice: ``progress(n)`` with the instructions retired
    so far; ``serial_io(data)`` with what the guest sent to COM1 in it
    (b"" if nothing), which ends the run (status 0, reason ``"quit"``) by
    returning True."""
    cpu = pc.cpu
    start_insns = cpu.instructions
    t0 = time.monotonic()
    deadline = None if timeout is None else t0 + timeout
    limit = None if max_instructions is None else start_insns + max_instructions
    # In realtime mode an idle guest retires almost nothing while virtual
    # time keeps to the host's: slices are bounded in virtual time too.
    slice_ns = REALTIME_SLICE_NS if pc.realtime else None
    baseline: list[str] = []  # the screen's rows when keys were last typed
    serial = ""  # COM1 output since then

    def result(status, reason, message, stop=None):
        return ScriptResult(status, reason, message, cpu.instructions - start_insns,
                            time.monotonic() - t0, stop)

    def step(slice_, ns=None):
        """Run one slice (``slice_`` instructions, at most ``ns`` of virtual
        time): None to go on, or a ScriptResult that ends the run."""
        nonlocal serial
        if deadline is not None and time.monotonic() >= deadline:
            return "timeout"
        budget = slice_
        if limit is not None:
            budget = min(budget, limit - cpu.instructions)
            if budget <= 0:
                return "limit"
        ns = min(x for x in (ns, slice_ns) if x) if ns or slice_ns else None
        stop = pc.run(budget, max_ns=ns) if ns else pc.run(budget)
        out = cpu.serial_drain()
        if out:
            serial = (serial + out.decode("latin-1"))[-SERIAL_KEEP:]
        if progress is not None:
            progress(cpu.instructions - start_insns)
        if serial_io is not None and serial_io(out) and stop.reason == "limit":
            return "quit"
        if stop.reason == "limit":
            return None
        return stop

    def ended(what, waiting=None):
        """A ScriptResult for a run that ended before the script was done."""
        if what == "timeout":
            msg = f"timed out after {timeout:g} s"
            if waiting is not None:
                msg += f" waiting for {_quote(waiting)}"
            return result(EXIT_TIMEOUT, "timeout" if waiting is None else "wait", msg)
        if what == "limit":
            if waiting is not None:
                return result(EXIT_TIMEOUT, "wait",
                              f"{_quote(waiting)} did not appear within "
                              f"{max_instructions} instructions")
            return result(EXIT_LIMIT, "limit",
                          f"instruction limit reached: {max_instructions} instructions")
        if what == "quit":
            return result(0, "quit", "left with Ctrl-]")
        stop = what
        status, msg = describe_stop(cpu, stop)
        if waiting is not None:
            msg += f" before {_quote(waiting)} appeared"
            if status == 0:
                status = EXIT_TIMEOUT
        return result(status, stop.reason, msg, stop)

    for kind, text in steps:
        if kind == "type":
            baseline = read_screen(cpu).lines()
            serial = ""
            pc.type(text)
            continue
        if kind == "sleep":
            # Virtual time, so the run stays deterministic (a wall-clock
            # sleep would retire a different count on every host).
            until = cpu.time_ns + int(float(text) * 1e9)
            while cpu.time_ns < until:
                what = step(POLL_SLICE, until - cpu.time_ns)
                if what is not None:
                    return ended(what)
            continue
        if kind != "wait":
            raise ValueError(f"unknown script step {kind!r}")
        last_raw = None
        new = False
        while True:
            screen = read_screen(cpu)
            if screen.cells != last_raw:
                last_raw = screen.cells
                was_new, new = new, new_on_screen(text, baseline, screen.lines())
                # Taken in the middle of a scroll, a screen can show an old
                # line where the alignment with the baseline calls it new:
                # the text must still be new one slice later.
                if new and was_new:
                    break
            elif new:
                break
            if text in serial:
                break
            what = step(POLL_SLICE)
            if what is not None:
                return ended(what, text)
    if steps:
        # Deliver what is still being typed, then stop.
        while pc.typing:
            what = step(POLL_SLICE)
            if what is not None:
                return ended(what)
        return result(0, "done", None)
    while True:
        what = step(RUN_SLICE)
        if what is not None:
            return ended(what)


def format_screen(pc) -> str:
    """The 80x25 text screen: trailing blanks and blank lines dropped."""
    return pc.screen_text().rstrip("\n")
