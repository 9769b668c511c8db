"""Base classes of Python devices, IRQ lines and the virtual clock's timers.

A device is an object the :class:`hvmm.machine.Machine` attaches to itself:

* :class:`PortDevice` answers port I/O (``IN``/``OUT``/``INS``/``OUTS``) on the
  ports listed in its ``ports`` attribute;
* :class:`MmioDevice` answers memory-mapped I/O in ``[mmio_base,
  mmio_base + mmio_size)``;
* both get ``attach(machine)`` once, before the guest runs, where they create
  their :class:`IrqLine` (``self.irq_line(5)``) and timers
  (``self.call_after(ns, fn)``) on the machine's :class:`VirtualClock`.

Everything here is plain Python; the machine turns the core's exits into
these calls.  See docs/devices.md.
"""

from __future__ import annotations

from typing import Callable, Iterable

from hvmm.errors import ConfigError
from hvmm.timers import NO_DEADLINE, Timer, VirtualClock  # noqa: F401  (re-exported)

#: What an empty ISA bus returns for a read of 1, 2 or 4 bytes.
ALL_ONES = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF}

MAX_PORT = 0xFFFF


def normalize_ports(ports) -> list[tuple[int, int]]:
    """``ports`` as a sorted list of disjoint inclusive ``(first, last)``
    ranges.  Accepts ints, ``(first, last)`` pairs (inclusive) and ``range``
    objects of step 1, in any order; overlapping entries are merged.

    >>> normalize_ports([0x511, (0x510, 0x510), range(0x60, 0x62)])
    [(96, 97), (1296, 1297)]
    """
    if ports is None:
        return []
    if isinstance(ports, (int, range)) or (
        isinstance(ports, tuple) and len(ports) == 2 and all(isinstance(p, int) for p in ports)
    ):
        raise ConfigError(
            f"ports must be a list of ports or (first, last) ranges, not {ports!r}"
        )
    spans = []
    for entry in ports:
        if isinstance(entry, bool):
            raise ConfigError(f"bad port {entry!r}")
        if isinstance(entry, int):
            first = last = entry
        elif isinstance(entry, range):
            if entry.step != 1 or len(entry) == 0:
                raise ConfigError(f"bad port range {entry!r}: need a non-empty range of step 1")
            first, last = entry.start, entry.stop - 1
        elif (
            isinstance(entry, (tuple, list))
            and len(entry) == 2
            and all(isinstance(p, int) and not isinstance(p, bool) for p in entry)
        ):
            first, last = entry
        else:
            raise ConfigError(
                f"bad port entry {entry!r}: expected a port number or a (first, last) pair"
            )
        if not (0 <= first <= last <= MAX_PORT):
            raise ConfigError(
                f"bad port range 0x{first:X}-0x{last:X}: ports are 0x0000-0xFFFF, first <= last"
                if first >= 0 and last >= 0
                else f"bad port range {entry!r}"
            )
        spans.append((first, last))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


class Device:
    """Base of every Python device.

    ``name`` (class or instance attribute) is what errors and statistics
    call the device; it defaults to the class name.  The machine sets
    ``self.machine`` and then calls :meth:`attach`; override it (calling
    ``super().attach(machine)``) to create IRQ lines and timers.
    """

    name: str | None = None
    machine = None

    def attach(self, machine) -> None:
        """Called once by the machine, before the guest runs."""
        self.machine = machine

    def close(self) -> None:
        """Called by :meth:`Machine.close`: release host resources."""

    # -- helpers for subclasses -------------------------------------------

    @property
    def now_ns(self) -> int:
        """The machine's virtual time in nanoseconds."""
        return self.machine.clock.now

    def irq_line(self, irq: int) -> "IrqLine":
        """An :class:`IrqLine` on ISA IRQ ``irq`` of the in-kernel PIC."""
        return self.machine.irq_line(irq, owner=self)

    def call_at(self, when_ns: int, fn: Callable, *args) -> "Timer":
        """Run ``fn(*args)`` when virtual time reaches ``when_ns``."""
        return self.machine.clock.schedule(when_ns, fn, args, owner=self)

    def call_after(self, delay_ns: int, fn: Callable, *args) -> "Timer":
        """Run ``fn(*args)`` ``delay_ns`` nanoseconds of virtual time from now."""
        clock = self.machine.clock
        return clock.schedule(clock.now + int(delay_ns), fn, args, owner=self)

    def call_every(self, period_ns: int, fn: Callable, *args) -> "Timer":
        """Run ``fn(*args)`` every ``period_ns`` of virtual time, first one
        period from now, until the timer is cancelled."""
        clock = self.machine.clock
        return clock.schedule(
            clock.now + int(period_ns), fn, args, owner=self, period=int(period_ns)
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name or ''}>".replace(" >", ">")


class PortDevice(Device):
    """A device on the I/O port bus.

    ``ports``: a list of port numbers and ``(first, last)`` inclusive ranges
    (class or instance attribute; read after :meth:`attach`).

    A port the device lists but does not decode behaves as the defaults
    below: reads float to all ones, writes are dropped.  A device listed on
    a port an in-kernel device also owns stands behind it and only sees the
    accesses the in-kernel device declines.
    """

    ports: Iterable = ()

    def io_read(self, port: int, size: int) -> int:
        """An ``IN`` of ``size`` bytes (1, 2 or 4): return the value."""
        return ALL_ONES[size]

    def io_write(self, port: int, size: int, value: int) -> None:
        """An ``OUT`` of ``size`` bytes (1, 2 or 4) of ``value``."""

    def io_read_block(self, port: int, size: int, count: int) -> bytes:
        """A ``REP INS`` block: ``count`` elements of ``size`` bytes, little
        endian, ``count * size`` bytes in all.  The default makes ``count``
        :meth:`io_read` calls; override it for a faster or atomic block."""
        read = self.io_read
        mask = ALL_ONES[size]
        return b"".join(
            (read(port, size) & mask).to_bytes(size, "little") for _ in range(count)
        )

    def io_write_block(self, port: int, size: int, data: bytes) -> None:
        """A ``REP OUTS`` block: ``data`` holds ``len(data) // size``
        elements of ``size`` bytes, little endian.  The default makes one
        :meth:`io_write` call per element."""
        write = self.io_write
        for i in range(0, len(data) - size + 1, size):
            write(port, size, int.from_bytes(data[i : i + size], "little"))


class MmioDevice(Device):
    """A memory-mapped device: ``[mmio_base, mmio_base + mmio_size)`` in the
    guest's physical address space; ``offset`` is relative to ``mmio_base``.

    The core maps memory page by page (4 KiB), so ``mmio_base`` and
    ``mmio_size`` should be multiples of 4096.
    """

    mmio_base: int | None = None
    mmio_size: int = 0

    def mmio_read(self, offset: int, size: int) -> int:
        """A read of ``size`` bytes (1, 2 or 4) at ``mmio_base + offset``."""
        return ALL_ONES[size]

    def mmio_write(self, offset: int, size: int, value: int) -> None:
        """A write of ``size`` bytes (1, 2 or 4) at ``mmio_base + offset``."""


class IrqLine:
    """One device's output wired to an ISA IRQ input of the in-kernel PIC.

    Lines of several Python devices on one IRQ are wired-OR: the PIC input
    is high while any of them is raised.  The 8259A is edge-triggered
    unless the guest sets the IRQ's ELCR bit, so an interrupt is an edge:
    :meth:`pulse` (raise then lower), or :meth:`raise_` now and
    :meth:`lower` when the guest acknowledges the device.
    """

    __slots__ = ("irq", "owner", "level", "edges", "_cpu", "_wire")

    def __init__(self, cpu, irq: int, wire: set | None = None, owner=None):
        if not (isinstance(irq, int) and 0 <= irq <= 15):
            raise ConfigError(f"bad IRQ {irq!r}: ISA IRQs are 0-15")
        self._cpu = cpu
        self.irq = irq
        self.owner = owner
        self.level = False
        self.edges = 0  # rising edges this line drove (for statistics)
        self._wire = wire if wire is not None else set()

    def set(self, level) -> None:
        """Drive the line high (true) or low (false)."""
        level = bool(level)
        if level == self.level:
            return
        self.level = level
        wire = self._wire
        was_high = bool(wire)
        if level:
            wire.add(self)
        else:
            wire.discard(self)
        if bool(wire) != was_high:
            self._cpu.set_irq(self.irq, 1 if level else 0)
            if level:
                self.edges += 1

    def raise_(self) -> None:
        self.set(True)

    def lower(self) -> None:
        self.set(False)

    def pulse(self) -> None:
        """An edge: raise, then lower (one interrupt on an edge-triggered input)."""
        self.set(True)
        self.set(False)

    def __repr__(self) -> str:
        return f"<IrqLine {self.irq} {'high' if self.level else 'low'}>"
