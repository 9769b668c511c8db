"""One runner for every way hvmm runs a machine: ``exec``, headless
``boot``, ``run``, the console and the Python API.

    from hvmm.runner import Runner
    result = Runner(pc, steps=[("wait", "A:\\\\>"), ("type", "ver\\r"),
                               ("wait", "A:\\\\>")], timeout=60).run()
    result.status, result.reason, result.message

The runner owns a run in slices (:meth:`Machine.run` calls of a bounded
number of instructions and, in realtime mode, of virtual time).  Between
slices it checks the wall-clock ``timeout`` and the instruction limit,
drains COM1 (kept for ``--wait`` and handed to ``on_slice``), reports
``progress`` and works through the script:

* ``("type", KEYS)`` queues KEYS as key presses (:meth:`Machine.type`);
* ``("sleep", SECONDS)`` runs for SECONDS of virtual time;
* ``("wait", TEXT)`` runs until TEXT is *new* output: on the text screen
  where it was not when keys were last typed (or when the run began),
  allowing for the screen having scrolled since, or in what the guest sent
  to COM1 since then.  So ``wait 'A:\\>'; type 'ver\\r'; wait 'A:\\>'``
  waits for the prompt after ``ver``'s output, not the one ``ver`` was
  typed at.  (As with ``expect``, the echo of typed keys is output too.)

With no script the run goes on until the guest stops.  Every run ends in a
:class:`RunResult`: an exit status from the one table
(:mod:`hvmm.status`), a reason and one line that says why.  Limits are
counted in retired instructions and virtual time except ``timeout``, so
two runs of a script retire the same instructions unless the timeout ends
one of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hvmm.display import read_screen
from hvmm.errors import DeviceError
from hvmm.runloop import Stop, fmt_addr
from hvmm.status import ExitStatus

#: Instructions per slice while a --wait polls the screen or a --sleep runs:
#: 1 ms of virtual time at the default 100 MIPS. (Each poll costs tens of
#: microseconds of Python; at 20,000 that was a third of a Linux boot.) A
#: wait doubles its slice, up to RUN_SLICE, while neither the screen nor
#: COM1 changes.
POLL_SLICE = 100_000
#: Instructions per slice otherwise.
RUN_SLICE = 1_000_000
#: Virtual time per slice in realtime mode (an idle guest retires almost nothing).
REALTIME_SLICE_NS = 10_000_000
#: COM1 output kept for matching.
SERIAL_KEEP = 1 << 16
IF_FLAG = 0x200


@dataclass
class RunResult:
    """How a run ended.  ``status``: the exit status; ``reason``: ``"done"``
    (the script finished), ``"quit"`` (Ctrl-] or the front end's request),
    ``"timeout"``, ``"limit"``, ``"wait"`` (the guest stopped before a
    --wait text appeared), ``"device_error"``, or a :class:`Stop` reason;
    ``message``: one line for stderr, or None."""

    status: int
    reason: str
    message: str | None
    instructions: int
    seconds: float
    stop: Stop | None = None


def describe_stop(cpu, stop: Stop, instructions: int | None = None) -> str:
    """One line for a run the guest ended (a :class:`Stop`)."""
    after = "" if instructions is None else f" after {instructions} instructions"
    where = fmt_addr(cpu.cs, cpu.eip)
    if stop.reason == "debug_exit":
        return (f"guest wrote 0x{stop.value:02X} to the exit port 0xF4{after}: "
                f"exit status {stop.status}")
    if stop.reason == "hlt":
        at = fmt_addr(stop.exit.cs, stop.exit.eip) if stop.exit is not None else where
        if cpu.eflags & IF_FLAG:
            return f"HLT with interrupts enabled at {at}{after} and nothing to wake the CPU, stopping"
        return f"guest halted with interrupts off at {at}{after}"
    if stop.reason == "reset":
        return f"guest asked for a reset at {where}{after}, stopping"
    if stop.reason == "power_off":
        return f"guest powered off (ACPI S5){after}"
    if stop.reason == "interrupted":
        return f"interrupted at {where}{after}"
    if stop.reason == "limit":
        return f"instruction limit reached: {instructions} instructions, stopped at {where}"
    return stop.error or f"stopped: {stop.reason}"


def _scroll(old: list[str], new: list[str]) -> int:
    """How many rows the screen most likely scrolled up from ``old`` to
    ``new``: the shift that lines up the most non-blank rows (the smallest
    on a tie).  One lined-up row alone is no evidence of a scroll when the
    rows a scroll would have brought in are all blank: that is a cleared
    screen (``cls``) showing one old line (the prompt) again at the top."""
    best, best_k = 0, 0
    rows = min(len(old), len(new))
    for k in range(rows):
        score = sum(1 for r in range(rows - k) if new[r] == old[r + k] and new[r].strip())
        if k and score < 2 and not any(row.strip() for row in new[rows - k : rows]):
            continue
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


class _End(Exception):
    """Raised inside the runner to end the run with a result."""

    def __init__(self, result: RunResult):
        self.result = result


class Runner:
    """Runs ``machine`` (a :class:`hvmm.machine.Machine` or PC) in slices.

    ``steps``: the script (see the module docstring), keys already
    decoded.  ``timeout``: wall seconds.  ``max_instructions``: retired
    instructions.  ``progress(n)``: after each slice, with the instructions
    retired so far.  ``on_slice(serial_out)``: after each slice, with what
    the guest sent to COM1 in it (b"" if nothing); returning True ends the
    run (status 0, reason ``"quit"``): a serial line or a console reads its
    input here.  ``slice_instructions``/``slice_ns``: the slice when no
    script step sets one (default :data:`RUN_SLICE`, and in realtime mode
    :data:`REALTIME_SLICE_NS` of virtual time).  ``debugger``: a
    :class:`hvmm.gdbstub.GdbStub` that the run waits for before the first
    instruction and that decides each slice while it is attached.
    """

    def __init__(self, machine, *, steps=(), timeout: float | None = None,
                 max_instructions: int | None = None, progress=None, on_slice=None,
                 slice_instructions: int = RUN_SLICE, slice_ns: int | None = None,
                 debugger=None):
        self.machine = machine
        self.steps = list(steps)
        self.timeout = timeout
        self.max_instructions = max_instructions
        self.progress = progress
        self.on_slice = on_slice
        self.slice_instructions = slice_instructions
        self.debugger = debugger
        self.slice_ns = slice_ns if slice_ns is not None else (
            REALTIME_SLICE_NS if machine.realtime else None)
        self._serial = ""           # COM1 output since keys were last typed
        self._serial_in = b""       # --send bytes COM1 has not taken yet
        self._waiting = None        # the text of the current --wait

    # ---- the run --------------------------------------------------------------

    def run(self) -> RunResult:
        cpu = self.machine.cpu
        self._start = cpu.instructions
        self._t0 = time.monotonic()
        self._deadline = None if self.timeout is None else self._t0 + self.timeout
        self._limit = (None if self.max_instructions is None
                       else self._start + self.max_instructions)
        try:
            if self.debugger is not None and not self.debugger.wait(self._deadline):
                self._end_timeout(" waiting for the debugger")
            if not self.steps:
                while True:
                    self._slice(self.slice_instructions)
            baseline: list[str] = []
            for kind, arg in self.steps:
                if kind == "type":
                    baseline = read_screen(cpu).lines()
                    self._serial = ""
                    self.machine.type(arg)
                elif kind == "send":
                    baseline = read_screen(cpu).lines()
                    self._serial = ""
                    self._serial_in += arg
                elif kind == "sleep":
                    self._sleep(float(arg))
                elif kind == "wait":
                    self._wait(arg, baseline)
                else:
                    raise ValueError(f"unknown script step {kind!r}")
            while self.machine.typing or self._serial_in:   # deliver what is still typed or sent
                self._slice(POLL_SLICE)
            return self._result(ExitStatus.OK, "done", None)
        except _End as end:
            return end.result
        except DeviceError as exc:
            return self._result(ExitStatus.DEVICE_ERROR, "device_error", str(exc))

    def _sleep(self, seconds: float) -> None:
        # Virtual time, so the run stays deterministic (a wall-clock sleep
        # would retire a different count on every host).
        cpu = self.machine.cpu
        until = cpu.time_ns + int(seconds * 1e9)
        while cpu.time_ns < until:
            self._slice(POLL_SLICE, until - cpu.time_ns)

    def _wait(self, text: str, baseline: list[str]) -> None:
        cpu = self.machine.cpu
        self._waiting = text
        last_raw = None
        last_serial = self._serial
        new = False
        poll = POLL_SLICE
        while True:
            screen = read_screen(cpu)
            changed = screen.cells != last_raw
            if changed or self._serial != last_serial:
                poll = POLL_SLICE
                last_serial = self._serial
            else:
                # Nothing changed: poll less often, up to RUN_SLICE (each
                # poll costs tens of microseconds; Linux's self-tests keep
                # the screen still for billions of instructions).
                poll = min(2 * poll, RUN_SLICE)
            if changed:
                last_raw = screen.cells
                was_new, new = new, new_on_screen(text, baseline, screen.lines())
                # Taken in the middle of a scroll, a screen can show an old
                # line where the alignment with the baseline calls it new:
                # the text must still be new one slice later.
                if new and was_new:
                    break
            elif new:
                break
            if text in self._serial:
                break
            self._slice(poll)
        self._waiting = None

    def _slice(self, instructions: int, ns: int | None = None) -> None:
        """Run one slice, or end the run (raise _End)."""
        machine, cpu = self.machine, self.machine.cpu
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self._end_timeout()
        budget = instructions
        if self._limit is not None:
            budget = min(budget, self._limit - cpu.instructions)
            if budget <= 0:
                self._end_limit()
        if self.debugger is not None:
            budget = self.debugger.before_slice(budget, self._deadline)
            if budget is None:
                raise _End(self._result(ExitStatus.OK, "quit", self._say("killed by the debugger")))
            if budget == 0:
                self._end_timeout(" in the debugger")
        bounds = [x for x in (ns, self.slice_ns) if x]
        stop = machine.run(budget, max_ns=min(bounds)) if bounds else machine.run(budget)
        if self.debugger is not None:
            stop = self.debugger.after_slice(stop)
        if self._serial_in:             # as fast as COM1's receiver takes it
            self._serial_in = self._serial_in[cpu.serial_feed(self._serial_in):]
        out = cpu.serial_drain()
        if out:
            self._serial = (self._serial + out.decode("latin-1"))[-SERIAL_KEEP:]
        if self.progress is not None:
            self.progress(cpu.instructions - self._start)
        quit_ = self.on_slice is not None and self.on_slice(out)
        if stop.reason != "limit":
            self._end_stop(stop)
        if quit_:
            raise _End(self._result(ExitStatus.OK, "quit", self._say(
                f"left with Ctrl-] at {fmt_addr(cpu.cs, cpu.eip)}")))

    # ---- how it ended ------------------------------------------------------------

    def _result(self, status, reason, message, stop=None) -> RunResult:
        return RunResult(status, reason, message,
                         self.machine.cpu.instructions - self._start,
                         time.monotonic() - self._t0, stop)

    def _say(self, what: str) -> str:
        return f"{what} after {self.machine.cpu.instructions - self._start} instructions"

    def _end_timeout(self, where: str = ""):
        msg = f"timed out after {self.timeout:g} s{where}"
        if self._waiting is not None:
            msg += f" waiting for {self._waiting!r}"
        raise _End(self._result(ExitStatus.TIMEOUT, "timeout", msg))

    def _end_limit(self):
        if self._waiting is not None:
            msg = f"{self._waiting!r} did not appear within {self.max_instructions} instructions"
        else:
            cpu = self.machine.cpu
            msg = (f"instruction limit reached: {self.max_instructions} instructions, "
                   f"stopped at {fmt_addr(cpu.cs, cpu.eip)}")
        raise _End(self._result(ExitStatus.LIMIT, "limit", msg))

    def _end_stop(self, stop: Stop):
        cpu = self.machine.cpu
        status, reason = stop.status, stop.reason
        msg = describe_stop(cpu, stop, cpu.instructions - self._start)
        if self._waiting is not None:
            msg += f" before {self._waiting!r} appeared"
            if status == ExitStatus.OK:
                status, reason = ExitStatus.WAIT_FAILED, "wait"
        raise _End(self._result(status, reason, msg, stop))
