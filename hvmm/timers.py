"""The virtual clock and its Python timers, and how the machine fires them.

:class:`VirtualClock` keeps device timers on virtual time (``cpu.time_ns``);
the earliest deadline sits in ``cpu.python_deadline``, so the core stops
with exit ``'timer'`` exactly when one falls due and no timer costs anything
per instruction.  :func:`fire_timers` and :func:`wake_from_hlt` are the
machine's side: statistics per device, and errors naming the device.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Callable

from hvmm.errors import DeviceError, exc_line

#: ``cpu.python_deadline`` value meaning "no Python timer pending".
NO_DEADLINE = (1 << 64) - 1

IF_FLAG = 0x200


class Timer:
    """A callback scheduled on the :class:`VirtualClock`; see
    :meth:`VirtualClock.schedule`.  ``cancel()`` it to stop it."""

    __slots__ = ("when", "fn", "args", "owner", "period", "active", "overruns", "_clock", "_seq")

    def __init__(self, clock, when, fn, args, owner, period, seq):
        self._clock = clock
        self.when = when
        self.fn = fn
        self.args = args
        self.owner = owner
        self.period = period
        self.active = True
        self.overruns = 0  # periods skipped because time jumped past them
        self._seq = seq

    def __lt__(self, other: "Timer") -> bool:
        return (self.when, self._seq) < (other.when, other._seq)

    def cancel(self) -> None:
        """Stop the timer (harmless if it already fired or was cancelled)."""
        if self.active:
            self.active = False
            self._clock._cancelled()

    def __repr__(self) -> str:
        state = "active" if self.active else "inactive"
        return f"<Timer at {self.when} ns, {state}{', every %d ns' % self.period if self.period else ''}>"


class VirtualClock:
    """The machine's clock: virtual nanoseconds (``cpu.time_ns``), which in
    deterministic mode advance with retired instructions, and a queue of
    Python timers on it.

    The earliest timer's deadline is kept in ``cpu.python_deadline``; when
    virtual time reaches it the core stops with exit ``'timer'`` and the
    machine calls :meth:`fire_due`.  No timer costs anything per instruction.
    """

    def __init__(self, cpu):
        self._cpu = cpu
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._dead = 0  # cancelled timers still in the heap
        self._deadline = None
        self._sync()

    @property
    def now(self) -> int:
        return self._cpu.time_ns

    def schedule(self, when_ns: int, fn: Callable, args=(), owner=None, period: int = 0) -> Timer:
        """Queue ``fn(*args)`` at virtual time ``when_ns`` (a time already
        past fires at the next exit); with ``period`` > 0, again every
        ``period`` ns after that.  Returns the :class:`Timer`."""
        if not callable(fn):
            raise TypeError(f"timer callback {fn!r} is not callable")
        if period < 0:
            raise ValueError("timer period must be >= 0")
        timer = Timer(self, int(when_ns), fn, tuple(args), owner, int(period), next(self._seq))
        heapq.heappush(self._heap, timer)
        if self._heap[0] is timer:
            self._sync()
        return timer

    def call_at(self, when_ns: int, fn: Callable, *args) -> Timer:
        return self.schedule(when_ns, fn, args)

    def call_after(self, delay_ns: int, fn: Callable, *args) -> Timer:
        return self.schedule(self.now + int(delay_ns), fn, args)

    def call_every(self, period_ns: int, fn: Callable, *args) -> Timer:
        return self.schedule(self.now + int(period_ns), fn, args, period=int(period_ns))

    @property
    def next_deadline(self) -> int | None:
        """Virtual time of the earliest active timer, or None."""
        self._drop_cancelled()
        return self._heap[0].when if self._heap else None

    def pending(self) -> int:
        """Number of active timers."""
        return sum(1 for t in self._heap if t.active)

    def fire_due(self, on_fired=None) -> int:
        """Run every timer whose time has come, earliest first; return how
        many ran.  ``on_fired(timer, elapsed_ns)`` is called after each (the
        machine's statistics).  If a callback raises, the exception
        propagates with ``exc.hvmm_timer`` set to the timer; the queue stays
        consistent."""
        from time import perf_counter_ns

        heap = self._heap
        fired = 0
        now = self._cpu.time_ns
        try:
            while heap:
                timer = heap[0]
                if not timer.active:
                    heapq.heappop(heap)
                    self._dead -= 1
                    continue
                if timer.when > now:
                    break
                if timer.period:
                    missed = (now - timer.when) // timer.period
                    timer.overruns += missed
                    timer.when += (missed + 1) * timer.period
                    heapq.heapreplace(heap, timer)
                else:
                    heapq.heappop(heap)
                    timer.active = False
                fired += 1
                started = perf_counter_ns()
                try:
                    timer.fn(*timer.args)
                except BaseException as exc:
                    if isinstance(exc, Exception):
                        exc.hvmm_timer = timer
                    raise
                if on_fired is not None:
                    on_fired(timer, perf_counter_ns() - started)
                now = self._cpu.time_ns
        finally:
            self._sync()
        return fired

    def resync(self) -> None:
        """Set ``cpu.python_deadline`` again (the CPU's clock was restored)."""
        self._deadline = None
        self._sync()

    # -- internals ----------------------------------------------------------

    def _drop_cancelled(self) -> None:
        heap = self._heap
        while heap and not heap[0].active:
            heapq.heappop(heap)
            self._dead -= 1

    def _cancelled(self) -> None:
        self._dead += 1
        if self._dead > 64 and self._dead * 2 > len(self._heap):
            # Many cancelled timers deep in the heap: rebuild it without them.
            self._heap[:] = [t for t in self._heap if t.active]
            heapq.heapify(self._heap)
            self._dead = 0
        self._sync()

    def _sync(self) -> None:
        self._drop_cancelled()
        deadline = self._heap[0].when if self._heap else NO_DEADLINE
        if deadline != self._deadline:
            self._deadline = deadline
            self._cpu.python_deadline = max(0, min(deadline, NO_DEADLINE))


def fire_timers(machine) -> int:
    """Fire the machine's due timers, counting each against its device;
    a callback that raises becomes a :class:`DeviceError` naming it."""

    def fired(timer, elapsed_ns):
        counters = machine.bus.counters_of(timer.owner)
        if counters is not None:
            counters.timers += 1
            counters.timer_ns += elapsed_ns

    try:
        return machine.clock.fire_due(fired)
    except (DeviceError, KeyboardInterrupt):
        raise
    except Exception as exc:
        timer = getattr(exc, "hvmm_timer", None)
        owner = getattr(timer, "owner", None)
        who = f"device '{owner.name}'" if owner is not None else "a timer"
        fn = getattr(getattr(timer, "fn", None), "__qualname__", "callback")
        fn = fn.rpartition("<locals>.")[2]
        raise DeviceError(f"{who} failed in timer {fn}: {exc_line(exc)}",
                          getattr(owner, "name", None)) from exc


def wake_from_hlt(machine) -> bool:
    """HLT with IF set and a Python timer pending: skip virtual time to the
    timer, fire it, and resume (True) if that left an interrupt pending.
    (A core that counts ``python_deadline`` as a wake-up source stops with
    ``'timer'`` instead and never gets here.)"""
    cpu, clock = machine.cpu, machine.clock
    if not cpu.eflags & IF_FLAG:
        return False
    while True:
        deadline = clock.next_deadline
        if deadline is None:
            return False
        now = cpu.time_ns
        if deadline > now:
            cpu.advance_time(deadline - now)
        machine.exits["timer"] += 1
        fire_timers(machine)
        if cpu.interrupt_pending():
            cpu.halted = False
            return True
