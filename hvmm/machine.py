"""The machine: a CPU core with its in-kernel devices, plus Python devices.

    from hvmm.machine import Machine
    m = Machine(cpu="386", devices=[MyDevice()])
    m.load_image(open("guest.bin", "rb").read())      # at 0000:7C00
    stop = m.run()                                     # until it stops
    print(stop.reason, stop.status)
    print(m.format_stats())

The compiled core (``hvmm._core.Cpu``) runs the guest and handles the
in-kernel devices' ports without leaving C.  It returns to :meth:`Machine.run`
only for what Python must do: a port access for a Python device (exit
``'io'``), a Python timer falling due (``'timer'``), or the end of the run.
See docs/devices.md and docs/core-api.md.
"""

from __future__ import annotations

import operator
import sys
import warnings
from collections import Counter
from dataclasses import dataclass
from time import perf_counter_ns

from hvmm.devices.base import (
    ALL_ONES,
    Device,
    IrqLine,
    MmioDevice,
    PortDevice,
    VirtualClock,
    normalize_ports,
)
from hvmm.display import read_screen
from hvmm.errors import ConfigError, DeviceError
from hvmm.keyboard import KEY_INTERVAL_NS, key_bytes

#: Instructions per ``cpu.run()`` call when nothing else stops the guest:
#: small enough for a responsive Ctrl-C and progress display, large enough
#: that the Python loop costs nothing measurable.
CHUNK = 1 << 20

#: Drain the 0xE9 debug console at least every this many I/O exits.
DEBUG_DRAIN_EXITS = 4096

IF_FLAG = 0x200
MAX_INSN_LEN = 15

#: IRQ inputs the in-kernel devices drive; a Python device cannot take them.
KERNEL_IRQS = {
    0: "PIT (8254 channel 0)",
    1: "keyboard (8042)",
    2: "cascade to the slave PIC",
    4: "COM1 UART",
    8: "RTC",
    12: "PS/2 mouse (8042)",
}

_ERROR_REASONS = {
    "invalid_opcode": "invalid opcode",
    "unimplemented": "unimplemented instruction",
    "triple_fault": "triple fault",
    "breakpoint": "breakpoint",
}

_DEFAULT = object()


def fmt_addr(cs: int, eip: int) -> str:
    """``CS:IP`` as ``0000:7C00`` (``0000:00012345`` past 64 KiB)."""
    return f"{cs:04X}:{eip:04X}" if eip <= 0xFFFF else f"{cs:04X}:{eip:08X}"


def disassemble_at(cpu, linear: int, eip: int) -> str:
    """``"0F 0B  ud2"``: the bytes of the instruction at ``linear`` and its
    NASM-syntax disassembly (16-bit), or ``"??"`` if memory is unreadable."""
    data = b""
    for length in (MAX_INSN_LEN, 8, 4, 2, 1):
        try:
            data = bytes(cpu.read_linear(linear, length))
            break
        except Exception:  # past the end of RAM, say
            continue
    if not data:
        return "??"
    try:
        from iced_x86 import Code, Decoder, Formatter, FormatterSyntax

        decoder = Decoder(16, data, ip=eip & 0xFFFF)
        instr = decoder.decode()
        length = max(1, min(instr.len, len(data)))
        text = "(bad)" if instr.code == Code.INVALID else Formatter(
            FormatterSyntax.NASM
        ).format(instr)
    except Exception:  # the disassembler must never hide the real error
        length, text = min(len(data), 4), "(no disassembly)"
    return " ".join(f"{b:02X}" for b in data[:length]) + "  " + text


def default_memory_mib(cpu_model: str) -> int:
    return 1 if cpu_model == "8086" else 16


@dataclass
class Stop:
    """Why :meth:`Machine.run` returned.

    ``reason``: ``'hlt'``, ``'debug_exit'`` (the guest wrote ``value`` to
    port 0xF4), ``'limit'`` (``max_instructions`` reached), ``'reset'``,
    ``'breakpoint'``, ``'invalid_opcode'``, ``'unimplemented'``,
    ``'triple_fault'`` or ``'interrupted'`` (Ctrl-C).
    ``status``: the process exit status ``hvmm exec`` gives it: 0 halt or
    reset, ``(value << 1) | 1`` (8 bits) for a debug exit, 1 a guest error
    or breakpoint, 3 the limit, 130 interrupted.
    ``error``: a one-line description for the error reasons.
    """

    reason: str
    status: int
    exit: object = None
    instructions: int = 0
    seconds: float = 0.0
    value: int | None = None
    error: str | None = None
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason in ("hlt", "debug_exit", "reset")


@dataclass(slots=True)
class _PyStats:
    """Per-device counters of the Python path."""

    reads: int = 0
    writes: int = 0
    blocks: int = 0  # REP INS/OUTS blocks (each also counts as one read or write)
    block_elements: int = 0  # their elements
    io_ns: int = 0
    timers: int = 0
    timer_ns: int = 0
    mmio: int = 0
    mmio_ns: int = 0


class _MmioUpcall:
    """The core's MMIO handler: it calls this synchronously, inside the
    instruction, for an access to a Python device's pages. An exception is
    parked in ``error`` by the core and raised by Machine.run after the run."""

    __slots__ = ("machine", "error")

    def __init__(self, machine):
        self.machine = machine
        self.error = None

    def __call__(self, address, size, is_write, value):
        if is_write:
            self.machine.mmio_write(address, size, value)
            return 0
        return self.machine.mmio_read(address, size)


@dataclass
class _MmioRange:
    base: int
    size: int
    device: Device

    @property
    def end(self) -> int:
        return self.base + self.size


_calibrated: dict[str, float | None] = {}


def calibrate_kernel_access_ns(model: str = "386") -> float | None:
    """Host nanoseconds one port access handled in-kernel costs, measured
    on a scratch CPU: a loop of ``OUT 0x80, AL`` (the POST port, an
    in-kernel device) against the same loop with a ``NOP``.  Cached per
    model; None if it cannot be measured."""
    if model in _calibrated:
        return _calibrated[model]
    result = None
    try:
        from hvmm._core import Cpu

        n = 0xFFFF
        # mov cx, 0xFFFF; <body>; loop <body>; cli; hlt
        out_loop = bytes([0xB9, 0xFF, 0xFF, 0xE6, 0x80, 0xE2, 0xFC, 0xFA, 0xF4])
        nop_loop = bytes([0xB9, 0xFF, 0xFF, 0x90, 0xE2, 0xFD, 0xFA, 0xF4])

        def timed(code: bytes) -> float | None:
            best = None
            for _ in range(3):
                cpu = Cpu(memory_size=64 << 10, model=model)
                if cpu.kernel_device_at(0x80) is None:
                    return None
                cpu.memory[0x1000 : 0x1000 + len(code)] = code
                cpu.cs, cpu.ip = 0, 0x1000
                t = perf_counter_ns()
                ex = cpu.run(4 * n)
                t = perf_counter_ns() - t
                if ex.reason != "hlt":
                    return None
                best = t if best is None else min(best, t)
            return best

        t_out, t_nop = timed(out_loop), timed(nop_loop)
        if t_out is not None and t_nop is not None:
            # Each iteration is 2 instructions; the NOP loop's body costs
            # about half an iteration.
            result = max(0.0, (t_out - t_nop) / n + t_nop / (2 * n))
    except Exception:
        result = None
    _calibrated[model] = result
    return result


class Machine:
    """A PC: ``hvmm._core.Cpu`` (CPU, RAM, in-kernel devices) plus Python
    devices.

    ``cpu``: the model, ``"386"`` or ``"8086"`` (or a ready ``Cpu``-like
    object, for tests).  ``memory_mb``: RAM in MiB (default 1 for the 8086,
    16 for the 386).  ``devices``: Python devices to attach, in order.
    ``ips``: virtual instructions per second of the deterministic clock
    (None: the core's default).  ``debug_stream``: where the guest's port
    0xE9 output goes (default ``sys.stdout``, as bytes; None discards it).
    ``time_devices``: time each Python device call for :meth:`stats`
    (two ``perf_counter_ns`` calls per exit, some 10-20% of the Python
    path's cost); False counts only.
    """

    def __init__(
        self,
        cpu="386",
        memory_mb: int | None = None,
        devices=(),
        ips: int | None = None,
        debug_stream=_DEFAULT,
        time_devices: bool = True,
        realtime: bool = False,
    ):
        if ips is not None and (isinstance(ips, bool) or not isinstance(ips, int) or ips <= 0):
            raise ConfigError(f"bad ips {ips!r}: a positive number of instructions per second")
        if isinstance(cpu, str):
            from hvmm._core import Cpu

            if memory_mb is None:
                memory_mb = default_memory_mib(cpu)
            kwargs = {} if ips is None else {"ips": ips}
            if realtime:
                import time

                kwargs["epoch"] = int(time.time())  # the RTC shows the host's time
            try:
                cpu = Cpu(memory_size=int(memory_mb) << 20, model=cpu, **kwargs)
            except (MemoryError, ValueError, OverflowError, TypeError) as exc:
                raise ConfigError(f"cannot create a {cpu} CPU with {memory_mb} MiB: {exc}") from None
        elif ips is not None and getattr(cpu, "ips", None) != ips:
            raise ConfigError("ips is set when the CPU is made: pass Cpu(..., ips=N) or cpu=MODEL")
        self.cpu = cpu
        self.debug_stream = debug_stream
        self.time_devices = time_devices
        # Realtime mode (interactive use): virtual time is kept in step with
        # the host clock; the default deterministic clock is instructions/ips.
        self.realtime = realtime
        self._rt_origin = None
        self.clock = VirtualClock(cpu)
        self.devices: list[Device] = []
        self._names: dict[str, Device] = {}
        self._port_owner: dict[int, PortDevice] = {}
        # port -> (device.io_read, device.io_write, its _PyStats): the hot path
        self._port_entry: dict[int, tuple] = {}
        self._port_spans: dict[int, list[tuple[int, int]]] = {}  # id(device) -> spans
        self._behind: dict[int, set[str]] = {}  # id(device) -> in-kernel devices in front
        self._mmio: list[_MmioRange] = []
        self._irq_wires: dict[int, set] = {}
        self._irq_lines: list[IrqLine] = []
        self._pystats: dict[int, _PyStats] = {}
        self._exits: Counter = Counter()
        self._stray = 0  # exits for ports no Python device claims (should not happen)
        self._instructions = 0
        self._wall_ns = 0
        self._running = False
        self.stop: Stop | None = None       # why the last run() returned
        self._keys: list[bytes] = []        # typed keys not yet delivered
        self._key_timer = None
        self.mmio_routed = hasattr(cpu, "map_mmio")
        self._mmio_upcall = _MmioUpcall(self)
        for device in devices:
            self.add_device(device)

    # ---- configuration --------------------------------------------------

    def add_device(self, device: Device) -> Device:
        """Attach a Python device and claim its ports / MMIO range.

        Raises :class:`ConfigError` (one line, naming both devices) if a
        port or address is already claimed by another Python device.  A
        port owned by an in-kernel device may be claimed: the Python device
        then receives only the accesses the in-kernel device declines.
        """
        if self._running:
            raise ConfigError("devices cannot be added while the machine runs")
        if not isinstance(device, Device):
            raise ConfigError(
                f"{device!r} is not a device (subclass hvmm.devices.PortDevice or MmioDevice)"
            )
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
            raise ConfigError(f"device '{name}': attach failed: {_exc_line(exc)}") from exc

        spans = []
        if isinstance(device, PortDevice) or getattr(device, "ports", None):
            try:
                spans = normalize_ports(getattr(device, "ports", ()))
            except ConfigError as exc:
                raise ConfigError(f"device '{name}': {exc}") from None
            for first, last in spans:
                for port in range(first, last + 1):
                    other = self._port_owner.get(port)
                    if other is not None:
                        raise ConfigError(
                            f"devices '{other.name}' and '{name}' both claim port 0x{port:04X}"
                        )
        mmio = None
        if isinstance(device, MmioDevice):
            mmio = self._check_mmio(device)

        # No conflict: commit.
        self.devices.append(device)
        self._names[name] = device
        self._pystats[id(device)] = _PyStats()
        if spans:
            self._port_spans[id(device)] = spans
            kernel = getattr(self.cpu, "kernel_device_at", None)
            behind = set()
            entry = (device.io_read, device.io_write, self._pystats[id(device)])
            for first, last in spans:
                for port in range(first, last + 1):
                    self._port_owner[port] = device
                    self._port_entry[port] = entry
                    if kernel is not None:
                        k = kernel(port)
                        if k:
                            behind.add(k)
                self.cpu.claim_ports(first, last)
            if behind:
                self._behind[id(device)] = behind
        if mmio is not None:
            self._mmio.append(mmio)
            self._mmio.sort(key=lambda r: r.base)
            if self.mmio_routed:
                # The core maps whole pages; _MmioUpcall routes by address.
                first = mmio.base & ~0xFFF
                self.cpu.map_mmio(first, ((mmio.end + 0xFFF) & ~0xFFF) - first, self._mmio_upcall)
            else:
                warnings.warn(
                    f"MMIO device '{name}' at 0x{mmio.base:X}: the core does not route "
                    "memory-mapped I/O to Python yet; only Machine.mmio_read/mmio_write reach it",
                    RuntimeWarning,
                    stacklevel=2,
                )
        return device

    def _check_mmio(self, device: MmioDevice) -> _MmioRange:
        name = device.name
        base, size = device.mmio_base, device.mmio_size
        if not isinstance(base, int) or not isinstance(size, int) or base < 0 or size <= 0:
            raise ConfigError(
                f"device '{name}': needs mmio_base >= 0 and mmio_size > 0 (got {base!r}, {size!r})"
            )
        if base + size > 1 << 32:
            raise ConfigError(f"device '{name}': MMIO range 0x{base:X}+0x{size:X} is past 4 GiB")
        for r in self._mmio:
            if base < r.end and r.base < base + size:
                first = max(base, r.base)
                raise ConfigError(
                    f"devices '{r.device.name}' and '{name}' both claim memory at 0x{first:08X}"
                )
        return _MmioRange(base, size, device)

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
        wire = self._irq_wires.setdefault(irq, set())
        line = IrqLine(self.cpu, irq, wire, owner)
        self._irq_lines.append(line)
        return line

    def load_image(self, image: bytes, load=(0x0000, 0x7C00)) -> None:
        """Copy a raw real-mode binary to SEG:OFF and point the CPU at it:
        CS:IP = SEG:OFF, DS = ES = SS = SEG, SP = OFF (what ``hvmm exec``
        does; the stack grows down below the image)."""
        seg, off = load
        linear = (seg << 4) + off
        cpu = self.cpu
        if linear + len(image) > len(cpu.memory):
            raise ConfigError(
                f"image of {len(image)} bytes does not fit at linear 0x{linear:X}"
            )
        cpu.memory[linear : linear + len(image)] = image
        cpu.cs = seg
        cpu.ds = cpu.es = cpu.ss = seg
        cpu.ip = off
        cpu.sp = off

    def screenshot(self, path=None):
        """The emulated screen as a Pillow RGB image (640x400 for every
        25-row text and graphics mode; see hvmm.frontends.screenshot), also
        written to ``path`` as PNG when given (ConfigError, one line, if it
        cannot be)."""
        from hvmm.frontends import screenshot

        if path is None:
            return screenshot.render(self.cpu)
        return screenshot.save(self.cpu, path)

    def close(self) -> None:
        """Close every device (release their host resources)."""
        for device in self.devices:
            device.close()

    # ---- scripting: running until, screen and keyboard ------------------------

    def run_until(self, predicate, max_instructions: int = 2_000_000_000,
                  chunk: int = 20_000) -> bool:
        """Run until ``predicate()`` is true (checked every ``chunk``
        instructions): True; False if the guest stopped first (``self.stop``
        says why) or ``max_instructions`` ran out."""
        done = 0
        while not predicate():
            if done >= max_instructions:
                return False
            # (realtime: an idle guest retires almost nothing, bound the time too)
            stop = self.run(min(chunk, max_instructions - done),
                            max_ns=10_000_000 if self.realtime else None)
            done += stop.instructions
            if stop.reason != "limit":
                return bool(predicate())
        return True

    def wait_for_text(self, text: str, max_instructions: int = 2_000_000_000) -> bool:
        """Run until ``text`` is on the text screen."""
        return self.run_until(lambda: text in self.screen_text(), max_instructions)

    # ---- screen and keyboard -------------------------------------------------

    def screen_text(self) -> str:
        """The text screen as the adapter shows it (characters only, code
        page 437; see :mod:`hvmm.display`), one line per row, trailing
        blanks removed; empty in a graphics mode."""
        return "\n".join(line.rstrip() for line in read_screen(self.cpu).lines())

    def type(self, text: str) -> None:
        """Type ``text`` on the keyboard (US layout; ``\\r`` is Enter).  The
        keys go in one every KEY_INTERVAL_NS of virtual time while the
        machine runs."""
        self.press(*[key_bytes(ch) for ch in text])  # all or nothing

    def press(self, *keys: bytes) -> None:
        """Queue keys given as set 2 scancodes (each one key's make and
        break codes, modifiers included), delivered like typed ones."""
        self._keys.extend(bytes(k) for k in keys)
        if self._key_timer is None or not self._key_timer.active:
            self._key_timer = self.clock.call_every(KEY_INTERVAL_NS, self._next_key)

    def _next_key(self) -> None:
        if self._keys:
            self.cpu.keyboard_input(self._keys.pop(0))
        if not self._keys and self._key_timer is not None:
            self._key_timer.cancel()

    @property
    def typing(self) -> bool:
        """Keys typed but not yet delivered to the keyboard."""
        return bool(self._keys)

    # ---- running ----------------------------------------------------------

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
        cpu = self.cpu
        run = cpu.run
        complete_io = getattr(cpu, "complete_io", None)
        handle_io = self._handle_io
        entry_at = self._port_entry.get
        clock = perf_counter_ns
        timing = self.time_devices
        start = cpu.instructions
        limit = None if max_instructions is None else start + int(max_instructions)
        budget = CHUNK
        drain_countdown = DEBUG_DRAIN_EXITS
        stop = None
        time_up = []
        time_limit = None
        if max_ns is not None:
            time_limit = self.clock.call_after(max(0, int(max_ns)), time_up.append, True)
        self._running = True
        t0 = perf_counter_ns()
        try:
            while True:
                if limit is not None:
                    budget = limit - cpu.instructions
                    if budget <= 0:
                        stop = Stop("limit", 3)
                        break
                    if budget > CHUNK:
                        budget = CHUNK
                if self.realtime:
                    budget = self._realtime_step(budget)
                ex = run(budget)
                if self._mmio_upcall.error is not None:
                    error, self._mmio_upcall.error = self._mmio_upcall.error, None
                    raise error
                reason = ex.reason
                if reason == "io":
                    # The hot path: one IN or OUT for a Python device. Blocks
                    # and ports without an entry go through _handle_io.
                    port = ex.port
                    entry = entry_at(port)
                    if entry is None or ex.count != 1:
                        handle_io(ex)
                    elif ex.direction == "out":
                        st = entry[2]
                        if timing:
                            t = clock()
                            try:
                                entry[1](port, ex.size, ex.value)
                            except Exception as exc:
                                self._io_failed(exc, ex)
                            st.io_ns += clock() - t
                        else:
                            try:
                                entry[1](port, ex.size, ex.value)
                            except Exception as exc:
                                self._io_failed(exc, ex)
                        st.writes += 1
                    else:
                        st = entry[2]
                        size = ex.size
                        if timing:
                            t = clock()
                            try:
                                value = entry[0](port, size)
                            except Exception as exc:
                                self._io_failed(exc, ex)
                            st.io_ns += clock() - t
                        else:
                            try:
                                value = entry[0](port, size)
                            except Exception as exc:
                                self._io_failed(exc, ex)
                        st.reads += 1
                        if value.__class__ is not int:
                            try:
                                value = self._bad_read_value(None, value)
                            except TypeError as exc:
                                self._io_failed(exc, ex)
                        complete_io(value & ALL_ONES[size])
                    drain_countdown -= 1
                    if not drain_countdown:
                        drain_countdown = DEBUG_DRAIN_EXITS
                        self._drain_debug()
                    continue
                self._exits[reason] += 1
                if reason == "budget":
                    self._drain_debug()
                    if progress is not None:
                        progress(cpu.instructions - start)
                    continue
                if reason == "timer":
                    self._fire_timers()
                    if time_up:
                        stop = Stop("limit", 3)
                        break
                    continue
                if reason == "hlt":
                    if self._wake_from_hlt() and not time_up:
                        continue
                    if time_up:
                        stop = Stop("limit", 3)
                        break
                    stop = Stop("hlt", 0, ex)
                elif reason == "debug_exit":
                    value = ex.value
                    stop = Stop("debug_exit", ((value << 1) | 1) & 0xFF, ex, value=value)
                elif reason == "reset":
                    stop = Stop("reset", 0, ex, note="the guest asked for a reset")
                else:
                    stop = Stop(reason, 1, ex, error=self._describe_error(ex))
                break
        except KeyboardInterrupt:
            stop = Stop("interrupted", 130)
        finally:
            if time_limit is not None:
                time_limit.cancel()
            self._running = False
            elapsed = perf_counter_ns() - t0
            self._wall_ns += elapsed
            done = cpu.instructions - start
            self._instructions += done
            self._drain_debug()
        stop.instructions = done
        stop.seconds = elapsed / 1e9
        self.stop = stop
        return stop

    def _realtime_step(self, budget: int) -> int:
        """Realtime mode: bring virtual time level with the host clock
        (skip forward when the guest fell behind, sleep when it ran ahead),
        and run at most about 2 ms of virtual time before looking again."""
        cpu = self.cpu
        now_host = perf_counter_ns()
        if self._rt_origin is None:
            self._rt_origin = now_host - cpu.time_ns
        host = now_host - self._rt_origin
        ahead = cpu.time_ns - host
        if ahead < 0:
            cpu.advance_time(-ahead)
        elif ahead > 2_000_000:
            import time

            time.sleep((ahead - 1_000_000) / 1e9)
        return max(1, min(budget, cpu.ips // 500))

    def _handle_io(self, ex) -> None:
        """An 'io' exit off the hot path: a REP INS/OUTS block, or a port no
        Python device claims (which the core should never send)."""
        port = ex.port
        device = self._port_owner.get(port)
        size = ex.size
        count = ex.count
        if device is None:
            self._stray += 1
            if ex.direction == "in":
                self.cpu.complete_io(
                    ALL_ONES[size] if count == 1 else b"\xff" * (size * count)
                )
            return
        if count == 1:  # a single access to a port added outside add_device
            entry = (device.io_read, device.io_write, self._pystats[id(device)])
            self._port_entry[port] = entry
            self._single_io(entry, ex)
            return
        st = self._pystats[id(device)]
        st.blocks += 1
        st.block_elements += count
        try:
            if ex.direction == "in":
                st.reads += 1
                t = perf_counter_ns()
                data = device.io_read_block(port, size, count)
                st.io_ns += perf_counter_ns() - t
                if not isinstance(data, (bytes, bytearray)) or len(data) != size * count:
                    data = self._bad_block(device, data, size * count)
                self.cpu.complete_io(bytes(data))
            else:
                st.writes += 1
                t = perf_counter_ns()
                device.io_write_block(port, size, ex.data)
                st.io_ns += perf_counter_ns() - t
        except (DeviceError, KeyboardInterrupt):
            raise
        except Exception as exc:
            self._io_failed(exc, ex)

    def _single_io(self, entry, ex) -> None:
        read, write, st = entry
        port, size = ex.port, ex.size
        t = perf_counter_ns()
        try:
            if ex.direction == "out":
                st.writes += 1
                write(port, size, ex.value)
            else:
                st.reads += 1
                value = read(port, size)
                if value.__class__ is not int:
                    value = self._bad_read_value(None, value)
                self.cpu.complete_io(value & ALL_ONES[size])
        except (DeviceError, KeyboardInterrupt):
            raise
        except Exception as exc:
            self._io_failed(exc, ex)
        finally:
            st.io_ns += perf_counter_ns() - t

    def _io_failed(self, exc: Exception, ex):
        """Raise the DeviceError for a device method that raised ``exc``."""
        if isinstance(exc, DeviceError):
            raise exc
        device = self._port_owner.get(ex.port)
        name = device.name if device is not None else "?"
        count = ex.count or 1
        op = ("IN" if ex.direction == "in" else "OUT") + ("S" if count > 1 else "")
        raise DeviceError(
            f"device '{name}' failed on {op} port 0x{ex.port:04X} "
            f"(size {ex.size}{f', {count} elements' if count > 1 else ''}): "
            f"{_exc_line(exc)}",
            name,
        ) from exc

    @staticmethod
    def _bad_read_value(device, value):
        if not isinstance(value, bool):
            try:
                return operator.index(value)  # an int subclass, numpy integer...
            except TypeError:
                pass
        raise TypeError(f"io_read returned {type(value).__name__} {value!r:.40}, not an int")

    @staticmethod
    def _bad_block(device, data, want):
        if isinstance(data, memoryview):
            data = data.tobytes()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"io_read_block returned {type(data).__name__}, not bytes")
        if len(data) != want:
            raise ValueError(f"io_read_block returned {len(data)} bytes, expected {want}")
        return data

    # -- MMIO: the core's upcall (_MmioUpcall) lands here -----------------------

    def mmio_device_at(self, address: int):
        """``(device, offset)`` for a physical address in a Python MMIO
        range, else ``(None, None)``."""
        for r in self._mmio:
            if r.base <= address < r.end:
                return r.device, address - r.base
        return None, None

    def mmio_read(self, address: int, size: int) -> int:
        """A guest read of ``size`` bytes at physical ``address`` from a
        Python MMIO device (all ones if none is there), counted and timed
        like a port access."""
        device, offset = self.mmio_device_at(address)
        if device is None:
            return ALL_ONES[size]
        st = self._pystats[id(device)]
        t = perf_counter_ns()
        try:
            value = device.mmio_read(offset, size)
        except Exception as exc:
            raise DeviceError(
                f"device '{device.name}' failed on an MMIO read at 0x{address:08X}: {_exc_line(exc)}",
                device.name,
            ) from exc
        finally:
            st.mmio += 1
            st.mmio_ns += perf_counter_ns() - t
        return int(value) & ALL_ONES[size]

    def mmio_write(self, address: int, size: int, value: int) -> None:
        device, offset = self.mmio_device_at(address)
        if device is None:
            return
        st = self._pystats[id(device)]
        t = perf_counter_ns()
        try:
            device.mmio_write(offset, size, value & ALL_ONES[size])
        except Exception as exc:
            raise DeviceError(
                f"device '{device.name}' failed on an MMIO write at 0x{address:08X}: {_exc_line(exc)}",
                device.name,
            ) from exc
        finally:
            st.mmio += 1
            st.mmio_ns += perf_counter_ns() - t

    # -- time -----------------------------------------------------------------

    def _timer_fired(self, timer, elapsed_ns: int) -> None:
        owner = timer.owner
        st = self._pystats.get(id(owner)) if owner is not None else None
        if st is not None:
            st.timers += 1
            st.timer_ns += elapsed_ns

    def _fire_timers(self) -> int:
        try:
            return self.clock.fire_due(self._timer_fired)
        except (DeviceError, KeyboardInterrupt):
            raise
        except Exception as exc:
            timer = getattr(exc, "hvmm_timer", None)
            owner = getattr(timer, "owner", None)
            who = f"device '{owner.name}'" if owner is not None else "a timer"
            fn = getattr(getattr(timer, "fn", None), "__qualname__", "callback")
            fn = fn.rpartition("<locals>.")[2]
            raise DeviceError(
                f"{who} failed in timer {fn}: {_exc_line(exc)}",
                getattr(owner, "name", None),
            ) from exc

    def _wake_from_hlt(self) -> bool:
        """HLT with IF set and a Python timer pending: skip virtual time to
        the timer, fire it, and resume if that left an interrupt pending.
        (A core that counts ``python_deadline`` as a wake-up source stops
        with ``'timer'`` instead and never gets here.)"""
        cpu = self.cpu
        if not cpu.eflags & IF_FLAG:
            return False
        clock = self.clock
        while True:
            deadline = clock.next_deadline
            if deadline is None:
                return False
            now = cpu.time_ns
            if deadline > now:
                cpu.advance_time(deadline - now)
            self._exits["timer"] += 1
            self._fire_timers()
            if cpu.interrupt_pending():
                cpu.halted = False
                return True

    # -- debug console --------------------------------------------------------

    def _drain_debug(self) -> None:
        drain = getattr(self.cpu, "debug_output", None)
        if drain is None:
            return
        data = drain()
        if not data:
            return
        stream = sys.stdout if self.debug_stream is _DEFAULT else self.debug_stream
        if stream is None:
            return
        write_bytes(stream, bytes(data))

    # ---- statistics ---------------------------------------------------------

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
        * ``paths``: totals per path, ``{"count", "time_ns"}``.

        Python time is measured (``perf_counter_ns`` around each device
        call).  In-kernel time is *estimated* as count x
        ``kernel_ns_per_access`` (see :func:`calibrate_kernel_access_ns`),
        or None if ``estimate_kernel_time`` is false or it cannot be
        measured; unclaimed accesses have no time.
        """
        cpu = self.cpu
        wall = self._wall_ns / 1e9
        rows = []

        kernel = {}
        ks = getattr(cpu, "kernel_stats", None)
        if ks is not None:
            kernel = ks() or {}
        per_access = None
        measured = bool(getattr(cpu, "io_timing", False))  # the core timed each access
        if (not measured and estimate_kernel_time
                and any(v.get("in_kernel", 0) for v in kernel.values())):
            per_access = calibrate_kernel_access_ns(getattr(cpu, "model", "386"))

        for device in self.devices:
            st = self._pystats[id(device)]
            spans = self._port_spans.get(id(device), [])
            ports = ",".join(
                f"0x{a:X}" if a == b else f"0x{a:X}-0x{b:X}" for a, b in spans
            )
            if isinstance(device, MmioDevice) and device.mmio_base is not None:
                mm = f"0x{device.mmio_base:X}+0x{device.mmio_size:X}"
                ports = f"{ports},{mm}" if ports else mm
            behind = self._behind.get(id(device))
            rows.append({
                "device": device.name,
                "path": "python",
                "count": st.reads + st.writes + st.mmio,
                "reads": st.reads,
                "writes": st.writes,
                "elements": st.reads + st.writes + st.block_elements - st.blocks,
                "mmio": st.mmio,
                "time_ns": st.io_ns + st.mmio_ns if self.time_devices else None,
                "estimated": False,
                "ports": ports,
                "behind": ",".join(sorted(behind)) if behind else None,
                "irq_edges": sum(l.edges for l in self._irq_lines if l.owner is device),
            })
            if st.timers:
                rows.append({
                    "device": device.name,
                    "path": "timer",
                    "count": st.timers,
                    "time_ns": st.timer_ns,
                    "estimated": False,
                    "ports": "",
                    "behind": None,
                })

        for name in sorted(kernel):
            counts = kernel[name] or {}
            n = int(counts.get("in_kernel", 0))
            if n:
                rows.append({
                    "device": name,
                    "path": "in-kernel",
                    "count": n,
                    "time_ns": (int(counts.get("in_kernel_ns", 0)) if measured
                                else None if per_access is None else n * per_access),
                    "estimated": not measured and per_access is not None,
                    "ports": "",
                    "behind": None,
                    "to_python": int(counts.get("to_python", 0)),
                })
            u = int(counts.get("unclaimed", 0))
            if u:
                rows.append({
                    "device": name,
                    "path": "unclaimed",
                    "count": u,
                    "time_ns": None,
                    "estimated": False,
                    "ports": "",
                    "behind": None,
                })
        io = getattr(cpu, "io_counts", None)
        if ks is None and io is not None:
            # A core without kernel_stats(): its empty-bus counter.
            counts = io() or {}
            rest = int(counts.get("in", 0)) + int(counts.get("out", 0))
            if rest > 0:
                rows.append({
                    "device": "(none)",
                    "path": "unclaimed",
                    "count": rest,
                    "time_ns": None,
                    "estimated": False,
                    "ports": "",
                    "behind": None,
                })
        if self._stray:
            rows.append({
                "device": "(no Python device)",
                "path": "unclaimed",
                "count": self._stray,
                "time_ns": None,
                "estimated": False,
                "ports": "",
                "behind": None,
            })

        paths = {}
        for path in ("in-kernel", "python", "timer", "unclaimed"):
            sel = [r for r in rows if r["path"] == path]
            times = [r["time_ns"] for r in sel if r["time_ns"] is not None]
            paths[path] = {
                "count": sum(r["count"] for r in sel),
                "time_ns": sum(times) if times and len(times) == len(sel) else (
                    None if sel else 0
                ),
            }

        post = getattr(cpu, "post_code", None)
        return {
            "model": getattr(cpu, "model", None),
            "instructions": self._instructions,
            "wall_seconds": wall,
            "mips": self._instructions / wall / 1e6 if wall > 0 else None,
            "virtual_ns": getattr(cpu, "time_ns", None),
            "post_code": post,
            "exits": self._exit_counts(),
            "rows": rows,
            "paths": paths,
            "kernel_time": ("measured" if measured else
                            "estimated" if per_access is not None else "unmeasured"),
            "kernel_ns_per_access": per_access,
        }

    def _exit_counts(self) -> dict:
        exits = dict(self._exits)
        io = self._stray + sum(st.reads + st.writes for st in self._pystats.values())
        if io:
            exits["io"] = io
        return exits

    def format_stats(self, stats: dict | None = None) -> str:
        """The statistics as a kvm_stat-like table (several lines, no
        trailing newline).  The first line is the summary: ``hvmm stats: N
        instructions retired in S s wall: M MIPS (...)``."""
        s = self.stats() if stats is None else stats
        mips = f"{s['mips']:.2f}" if s["mips"] is not None else "-"
        extra = []
        if s.get("model"):
            extra.append(f"{s['model']} model")
        if s["virtual_ns"] is not None:
            extra.append(f"virtual time {_fmt_ns(s['virtual_ns'])}")
        post = s["post_code"]
        extra.append("last POST code " + ("none" if post is None else f"0x{post:02X}"))
        lines = [
            f"hvmm stats: {s['instructions']} instructions retired in "
            f"{s['wall_seconds']:.3f} s wall: {mips} MIPS ({'; '.join(extra)})"
        ]
        header = ("device", "path", "ports", "count", "time ms", "avg ns")
        table = [header]
        for r in s["rows"]:
            path = r["path"]
            if r.get("behind"):
                path += f" (behind {r['behind']})"
            t = r["time_ns"]
            mark = "~" if r.get("estimated") else ""
            if t is None:
                t_ms = avg = "-"
            else:
                t_ms = f"{mark}{t / 1e6:.3f}"
                avg = f"{mark}{t / r['count']:.0f}" if r["count"] else "-"
            table.append((r["device"], path, r.get("ports") or "", str(r["count"]), t_ms, avg))
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            cells = [
                row[i].ljust(widths[i]) if i < 3 else row[i].rjust(widths[i])
                for i in range(len(header))
            ]
            lines.append("  ".join(cells).rstrip())
        totals = []
        for path, v in s["paths"].items():
            if not v["count"]:
                continue
            t = v["time_ns"]
            approx = path == "in-kernel" and s["kernel_time"] == "estimated"
            tt = "" if t is None else f" in {'~' if approx else ''}{t / 1e6:.3f} ms"
            totals.append(f"{path} {v['count']}{tt}")
        lines.append("paths: " + (", ".join(totals) if totals else "no port I/O"))
        if s["exits"]:
            lines.append(
                "exits to Python: "
                + ", ".join(f"{k} {v}" for k, v in sorted(s["exits"].items(), key=lambda kv: -kv[1]))
            )
        if s["kernel_ns_per_access"] is not None:
            lines.append(
                f"~ in-kernel time is estimated: count x {s['kernel_ns_per_access']:.0f} ns "
                "(one in-kernel OUT, calibrated on this host); Python time is measured "
                "around each device call"
            )
        elif s["kernel_time"] == "measured":
            lines.append("in-kernel time is measured in the core (TSC); Python time around each device call")
        elif s["paths"]["in-kernel"]["count"]:
            lines.append("in-kernel time is not measured (no calibration); Python time is measured")
        return "\n".join(lines)

    # ---- errors -----------------------------------------------------------

    def _describe_error(self, ex) -> str:
        cpu = self.cpu
        what = _ERROR_REASONS.get(ex.reason, ex.reason.replace("_", " "))
        line = (
            f"{what} at {fmt_addr(ex.cs, ex.eip)} (linear 0x{ex.linear:X}): "
            f"{disassemble_at(cpu, ex.linear, ex.eip)}"
        )
        detail = " ".join(str(getattr(ex, "detail", "") or "").split())
        if detail and ex.reason not in ("invalid_opcode",):
            line += f" [{detail}]"
        return line


def _fmt_ns(ns: int) -> str:
    if ns >= 1_000_000_000:
        return f"{ns / 1e9:.3f} s"
    if ns >= 1_000_000:
        return f"{ns / 1e6:.3f} ms"
    if ns >= 1_000:
        return f"{ns / 1e3:.3f} us"
    return f"{ns} ns"


def _exc_line(exc: BaseException) -> str:
    """``ValueError: message (file.py:42)``: an exception as one line, with
    where it was raised (the innermost frame)."""
    text = " ".join(str(exc).split())
    out = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    tb = exc.__traceback__
    if tb is not None:
        while tb.tb_next is not None:
            tb = tb.tb_next
        import os

        code = tb.tb_frame.f_code
        out += f" ({os.path.basename(code.co_filename)}:{tb.tb_lineno} in {code.co_name})"
    return out


def write_bytes(stream, data: bytes) -> None:
    """Write guest bytes to ``stream``: through its binary buffer if it is a
    text stream with one (stdout), as bytes if it is binary, else decoded
    as Latin-1 (one character per byte)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        try:
            stream.flush()
        except Exception:
            pass
        buffer.write(data)
        buffer.flush()
        return
    try:
        stream.write(data)
    except TypeError:
        stream.write(data.decode("latin-1"))
    try:
        stream.flush()
    except Exception:
        pass
