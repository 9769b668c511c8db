"""The machine: a CPU core with its in-kernel devices, plus Python devices.

    from hvmm.machine import Machine
    m = Machine(cpu="386", devices=[MyDevice()])
    m.load_image(open("guest.bin", "rb").read())      # at 0000:7C00
    stop = m.run()                                     # until it stops
    print(stop.reason, stop.status)
    print(m.format_stats())

The compiled core (``hvmm._core.Cpu``, see :mod:`hvmm.core_api`) runs the
guest and handles the in-kernel devices' ports without leaving C.  The
machine puts the Python parts around it, one module per job:

* :mod:`hvmm.bus`: which Python device answers which ports and MMIO range,
  and the one path an access takes to it;
* :mod:`hvmm.timers`: the virtual clock and its Python timers;
* :mod:`hvmm.runloop`: :meth:`Machine.run` and why a run stopped (:class:`Stop`);
* :mod:`hvmm.stats`: the statistics (:meth:`Machine.stats`, ``--stats``);
* :mod:`hvmm.scripting`: wait_for_text, type, screen_text, screenshot.

Whole runs with timeouts, scripts and serial lines are :mod:`hvmm.runner`'s.
See docs/architecture.md, docs/devices.md and docs/core-api.md.
"""

from __future__ import annotations

import sys
from collections import Counter

from hvmm import runloop, stats as _stats
from hvmm.bus import IoBus
from hvmm.core_api import missing_members
from hvmm.devices.base import Device, IrqLine
from hvmm.errors import ConfigError, exc_line
from hvmm.runloop import CHUNK, Stop, disassemble_at, fmt_addr  # noqa: F401  (re-exported)
from hvmm.scripting import Scripting
from hvmm.stats import calibrate_kernel_access_ns  # noqa: F401  (re-exported)
from hvmm.status import ExitStatus
from hvmm.timers import VirtualClock

#: IRQ inputs the in-kernel devices drive; a Python device cannot take them.
KERNEL_IRQS = {
    0: "PIT (8254 channel 0)",
    1: "keyboard (8042)",
    2: "cascade to the slave PIC",
    4: "COM1 UART",
    8: "RTC",
    12: "PS/2 mouse (8042)",
}

#: ``debug_stream`` default: the process's stdout (looked up when written).
_DEFAULT = object()


def default_memory_mib(cpu_model: str) -> int:
    return 1 if cpu_model == "8086" else 16


def _make_core(model: str, memory_mb, ips, realtime):
    from hvmm._core import Cpu

    if memory_mb is None:
        memory_mb = default_memory_mib(model)
    kwargs = {} if ips is None else {"ips": ips}
    if realtime:
        import time

        kwargs["epoch"] = int(time.time())  # the RTC shows the host's time
    try:
        return Cpu(memory_size=int(memory_mb) << 20, model=model, **kwargs)
    except (MemoryError, ValueError, OverflowError, TypeError) as exc:
        raise ConfigError(f"cannot create a {model} CPU with {memory_mb} MiB: {exc}") from None


class Machine(Scripting):
    """A PC: ``hvmm._core.Cpu`` (CPU, RAM, in-kernel devices) plus Python
    devices.

    ``cpu``: the model, ``"8086"``, ``"286"``, ``"386"`` or ``"686"``, or a
    ready core (anything implementing :class:`hvmm.core_api.CoreProtocol`).
    ``memory_mb``: RAM in MiB (default 1 for the 8086, 16 for the others).  ``devices``: Python
    devices to attach, in order.  ``ips``: virtual instructions per second
    of the deterministic clock (None: the core's default).
    ``debug_stream``: where the guest's port 0xE9 output goes (default
    ``sys.stdout``, as bytes; None discards it).  ``time_devices``: time
    each Python device call for :meth:`stats` (two ``perf_counter_ns``
    calls per exit); False counts only.  ``realtime``: virtual time keeps
    in step with the host clock (interactive use) instead of the
    deterministic instructions/ips.
    """

    def __init__(self, cpu="386", memory_mb: int | None = None, devices=(),
                 ips: int | None = None, debug_stream=_DEFAULT,
                 time_devices: bool = True, realtime: bool = False):
        if ips is not None and (isinstance(ips, bool) or not isinstance(ips, int) or ips <= 0):
            raise ConfigError(f"bad ips {ips!r}: a positive number of instructions per second")
        if isinstance(cpu, str):
            cpu = _make_core(cpu, memory_mb, ips, realtime)
        else:
            missing = missing_members(cpu)
            if missing:
                raise ConfigError(f"{type(cpu).__name__} is not an hvmm core: it has no "
                                  + ", ".join(missing))
            if ips is not None and cpu.ips != ips:
                raise ConfigError("ips is set when the CPU is made: pass Cpu(..., ips=N) "
                                  "or cpu=MODEL")
        self.cpu = cpu
        self.debug_stream = debug_stream
        self.realtime = realtime
        self.rt_origin = None           # realtime: host ns at virtual time 0
        self.clock = VirtualClock(cpu)
        self.bus = IoBus(cpu, timing=time_devices)
        self.devices: list[Device] = []
        self._names: dict[str, Device] = {}
        self._irq_wires: dict[int, set] = {}
        self.irq_lines: list[IrqLine] = []
        self.exits: Counter = Counter()  # exits to Python by reason (io counted by the bus)
        self.instructions_run = 0
        self.wall_ns = 0
        self.running = False
        self.stop: Stop | None = None   # why the last run() returned
        self._keys: list[bytes] = []    # typed keys not yet delivered
        self.tracer = None              # an hvmm.trace.Tracer (--trace, --trace-int)
        for device in devices:
            self.add_device(device)

    @property
    def time_devices(self) -> bool:
        return self.bus.timing

    # ---- configuration --------------------------------------------------------

    def add_device(self, device: Device) -> Device:
        """Attach a Python device and claim its ports / MMIO range.

        Raises :class:`ConfigError` (one line, naming both devices) if a
        port or address is already claimed by another Python device.  A
        port owned by an in-kernel device may be claimed: the Python device
        then receives only the accesses the in-kernel device declines.
        """
        if self.running:
            raise ConfigError("devices cannot be added while the machine runs")
        if not isinstance(device, Device):
            raise ConfigError(
                f"{device!r} is not a device (subclass hvmm.devices.PortDevice or MmioDevice)")
        if any(d is device for d in self.devices):
            raise ConfigError(f"device '{device.name}' was added twice")
        name = device.name or type(device).__name__
        if name in self._names:
            n = 2
            while f"{name}#{n}" in self._names:
                n += 1
            name = f"{name}#{n}"
        device.name = name
        device.machine = self
        try:
            device.attach(self)
        except ConfigError as exc:
            msg = str(exc)
            raise ConfigError(msg if msg.startswith("device '") else f"device '{name}': {msg}") from None
        except Exception as exc:
            raise ConfigError(f"device '{name}': attach failed: {exc_line(exc)}") from exc
        self.bus.register(device)       # all its claims, or none
        self.devices.append(device)
        self._names[name] = device
        return device

    def device(self, name: str) -> Device:
        """The attached Python device called ``name``."""
        return self._names[name]

    def irq_line(self, irq: int, owner: Device | None = None) -> IrqLine:
        """A new :class:`IrqLine` on ISA IRQ ``irq`` (wired-OR with other
        Python devices' lines on it).  IRQs the in-kernel devices drive
        (0, 1, 2, 4, 8, 12) are refused."""
        who = f"device '{owner.name}': " if owner is not None and owner.name else ""
        if not isinstance(irq, int) or isinstance(irq, bool) or not 0 <= irq <= 15:
            raise ConfigError(f"{who}bad IRQ {irq!r}: ISA IRQs are 0-15")
        if irq in KERNEL_IRQS:
            raise ConfigError(f"{who}IRQ {irq} is taken by the in-kernel {KERNEL_IRQS[irq]}")
        line = IrqLine(self.cpu, irq, self._irq_wires.setdefault(irq, set()), owner)
        self.irq_lines.append(line)
        return line

    def load_image(self, image: bytes, load=(0x0000, 0x7C00)) -> None:
        """Copy a raw real-mode binary to SEG:OFF and point the CPU at it:
        CS:IP = SEG:OFF, DS = ES = SS = SEG, SP = OFF (what ``hvmm exec``
        does; the stack grows down below the image)."""
        seg, off = load
        linear = (seg << 4) + off
        cpu = self.cpu
        if linear + len(image) > len(cpu.memory):
            raise ConfigError(f"image of {len(image)} bytes does not fit at linear 0x{linear:X}")
        cpu.memory[linear : linear + len(image)] = image
        cpu.cs = seg
        cpu.ds = cpu.es = cpu.ss = seg
        cpu.ip = off
        cpu.sp = off

    def save_state(self, path) -> None:
        """Write the machine's whole state to ``path`` (see :mod:`hvmm.snapshot`)."""
        from hvmm.snapshot import save_state

        save_state(self, path)

    def load_state(self, path) -> None:
        """Restore a :meth:`save_state` file into this machine, built the
        same way (one-line ConfigError otherwise)."""
        from hvmm.snapshot import load_state

        load_state(self, path)

    def close(self) -> None:
        """Close every device (release their host resources)."""
        for device in self.devices:
            device.close()

    # ---- running --------------------------------------------------------------

    def run(self, max_instructions: int | None = None, progress=None,
            max_ns: int | None = None) -> Stop:
        """Run the guest until it stops; return a :class:`Stop`.

        ``max_instructions``: stop (reason ``'limit'``) after that many.
        ``max_ns``: stop (reason ``'limit'``) once that much virtual time has
        passed, however few instructions retired (an idle guest retires
        almost none: the console's slices need this bound).
        ``progress(n)``: called about every :data:`CHUNK` instructions with
        the number retired so far in this call.

        A Python device that raises stops the run with :class:`DeviceError`
        (its message is one line naming the device; the original exception
        is its ``__cause__``).
        """
        return runloop.run(self, max_instructions, progress, max_ns)

    def halt_stop(self, ex) -> Stop:
        """The :class:`Stop` for a HLT nothing will wake (a PC overrides it
        to tell its BIOS giving up from a guest's halt)."""
        return Stop("hlt", ExitStatus.OK, ex)

    def drain_debug(self) -> None:
        """Write what the guest sent to port 0xE9 to ``debug_stream``."""
        data = self.cpu.debug_output()
        if not data:
            return
        stream = sys.stdout if self.debug_stream is _DEFAULT else self.debug_stream
        if stream is not None:
            write_bytes(stream, bytes(data))

    # ---- MMIO at the Python level (the core reaches the bus directly) ----------

    def mmio_device_at(self, address: int):
        return self.bus.mmio_device_at(address)

    def mmio_read(self, address: int, size: int) -> int:
        return self.bus.mmio_read(address, size)

    def mmio_write(self, address: int, size: int, value: int) -> None:
        self.bus.mmio_write(address, size, value)

    # ---- statistics -------------------------------------------------------------

    def stats(self, estimate_kernel_time: bool = True) -> dict:
        """Exit statistics, like kvm_stat, since the machine was built.

        Returns a dict:

        * ``instructions``, ``wall_seconds``, ``mips``: retired instructions
          and wall time of :meth:`run` calls;
        * ``virtual_ns``: the virtual clock; ``post_code``: last byte
          written to port 0x80 (None if never written);
        * ``exits``: exits to Python by reason (``io``, ``timer``, ...);
        * ``rows``: one dict per device and path, ``{"device", "path",
          "count", "time_ns", "estimated", "ports", "behind"}`` with path
          ``"in-kernel"`` (handled in C), ``"python"`` (a Python device's
          port or MMIO accesses: exits, a REP block counting once),
          ``"timer"`` (a Python device's timer callbacks) or
          ``"unclaimed"`` (the empty bus);
        * ``paths``: totals per path, ``{"count", "time_ns"}``;
        * ``exceptions`` (taken, by vector), ``mode_switches`` (CR0.PE
          changes), ``tlb`` (``{"misses", "flushes"}`` of the software TLB).

        Python time is measured (``perf_counter_ns`` around each device
        call).  In-kernel time is measured by the core when
        ``cpu.io_timing`` is on, else *estimated* as count x
        ``kernel_ns_per_access`` (see :func:`calibrate_kernel_access_ns`),
        or None if ``estimate_kernel_time`` is false or it cannot be
        measured; unclaimed accesses have no time.  See :mod:`hvmm.stats`.
        """
        return _stats.collect(self, estimate_kernel_time)

    def format_stats(self, stats: dict | None = None) -> str:
        """The statistics as a kvm_stat-like table (several lines, no
        trailing newline).  The first line is the summary: ``hvmm stats: N
        instructions retired in S s wall: M MIPS (...)``."""
        return _stats.format_stats(self.stats() if stats is None else stats)


def write_bytes(stream, data: bytes) -> None:
    """Write guest bytes to ``stream``: through its binary buffer if it is a
    text stream with one (stdout), as bytes if it is binary, else decoded
    as Latin-1 (one character per byte)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(data)
        buffer.flush()
        return
    try:
        stream.write(data)
    except TypeError:
        stream.write(data.decode("latin-1"))
    flush = getattr(stream, "flush", None)
    if flush is not None:
        flush()
