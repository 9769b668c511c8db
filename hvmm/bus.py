"""The Python side of the I/O bus: which Python device answers which ports
and which physical address ranges, and the one path an access takes to it.

Modelled on rust-vmm's ``vm-device`` ``IoManager``: devices register port
ranges and MMIO ranges, an overlap with another device is refused (one
line naming both), and an access is dispatched to the device that owns the
address.  The compiled core owns the fast half of the bus (the in-kernel
devices); it hands a port access to Python (exit ``'io'``) only for a port
claimed here, and calls :class:`MmioHandler` synchronously for an access to
a page mapped here.  See docs/architecture.md.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from time import perf_counter_ns

from hvmm.devices.base import ALL_ONES, Device, MmioDevice, PortDevice, normalize_ports
from hvmm.errors import ConfigError, DeviceError, exc_line
from hvmm.stats import DeviceCounters

#: The core maps memory-mapped I/O by whole pages.
PAGE = 0x1000


@dataclass
class MmioRange:
    base: int
    size: int
    device: Device

    @property
    def end(self) -> int:
        return self.base + self.size


class MmioHandler:
    """The core's MMIO handler: it calls this synchronously, inside the
    instruction, for an access to a Python device's pages.  The core parks
    an exception it raises in ``error`` (it cannot raise through the
    instruction); the run loop raises it when the core returns."""

    __slots__ = ("bus", "error")

    def __init__(self, bus):
        self.bus = bus
        self.error = None

    def __call__(self, address, size, is_write, value):
        if is_write:
            self.bus.mmio_write(address, size, value)
            return 0
        return self.bus.mmio_read(address, size)


class IoBus:
    """Python devices' ports and MMIO ranges on one machine's core.

    ``timing``: time each device call for the statistics (two
    ``perf_counter_ns`` calls per access)."""

    def __init__(self, cpu, timing: bool = True):
        self.cpu = cpu
        self.timing = timing
        self._owner: dict[int, Device] = {}          # port -> device
        # port -> (io_read, io_write, counters, device): what dispatch needs
        self._entries: dict[int, tuple] = {}
        self._spans: dict[int, list[tuple[int, int]]] = {}   # id(device) -> port spans
        self._behind: dict[int, set[str]] = {}      # id(device) -> in-kernel devices in front
        self._mmio: list[MmioRange] = []
        self._counters: dict[int, DeviceCounters] = {}
        self.stray = 0      # 'io' exits for ports no Python device claims (a core bug)
        self.mmio_handler = MmioHandler(self)

    # ---- registration -----------------------------------------------------------

    def register(self, device: Device) -> None:
        """Claim ``device``'s ports and MMIO range, or raise ConfigError
        (one line, naming both devices on a conflict) and claim nothing."""
        name = device.name
        spans = []
        if isinstance(device, PortDevice) or getattr(device, "ports", None):
            try:
                spans = normalize_ports(getattr(device, "ports", ()))
            except ConfigError as exc:
                raise ConfigError(f"device '{name}': {exc}") from None
            for first, last in spans:
                for port in range(first, last + 1):
                    other = self._owner.get(port)
                    if other is not None:
                        raise ConfigError(
                            f"devices '{other.name}' and '{name}' both claim port 0x{port:04X}")
        mmio = self._check_mmio(device) if isinstance(device, MmioDevice) else None

        counters = self._counters[id(device)] = DeviceCounters()
        if spans:
            self._spans[id(device)] = spans
            entry = (device.io_read, device.io_write, counters, device)
            behind = set()
            for first, last in spans:
                for port in range(first, last + 1):
                    self._owner[port] = device
                    self._entries[port] = entry
                    kernel = self.cpu.kernel_device_at(port)
                    if kernel:
                        behind.add(kernel)
                self.cpu.claim_ports(first, last)
            if behind:
                self._behind[id(device)] = behind
        if mmio is not None:
            self._mmio.append(mmio)
            self._mmio.sort(key=lambda r: r.base)
            self.cpu.map_mmio(mmio.base, mmio.size, self.mmio_handler)

    def _check_mmio(self, device: MmioDevice) -> MmioRange:
        name = device.name
        base, size = device.mmio_base, device.mmio_size
        if not isinstance(base, int) or not isinstance(size, int) or base < 0 or size <= 0:
            raise ConfigError(
                f"device '{name}': needs mmio_base >= 0 and mmio_size > 0 (got {base!r}, {size!r})")
        if base % PAGE or size % PAGE:
            raise ConfigError(
                f"device '{name}': MMIO range 0x{base:X}+0x{size:X} is not page-aligned "
                "(mmio_base and mmio_size must be multiples of 4096: the core maps whole pages)")
        if base + size > 1 << 32:
            raise ConfigError(f"device '{name}': MMIO range 0x{base:X}+0x{size:X} is past 4 GiB")
        for r in self._mmio:
            if base < r.end and r.base < base + size:
                raise ConfigError(f"devices '{r.device.name}' and '{name}' both claim memory "
                                  f"at 0x{max(base, r.base):08X}")
        return MmioRange(base, size, device)

    # ---- what is where -----------------------------------------------------------

    def port_owner(self, port: int) -> Device | None:
        return self._owner.get(port)

    def counters_of(self, device) -> DeviceCounters | None:
        return None if device is None else self._counters.get(id(device))

    def port_spans(self, device) -> list[tuple[int, int]]:
        return self._spans.get(id(device), [])

    def behind(self, device) -> set[str]:
        """The in-kernel devices in front of ``device`` on its ports."""
        return self._behind.get(id(device), set())

    def mmio_device_at(self, address: int):
        """``(device, offset)`` for a physical address in a Python MMIO
        range, else ``(None, None)``."""
        for r in self._mmio:
            if r.base <= address < r.end:
                return r.device, address - r.base
        return None, None

    # ---- port I/O: the one path --------------------------------------------------

    def dispatch(self, ex) -> None:
        """Carry out an ``'io'`` exit: one IN or OUT, or a REP INS/OUTS
        block of ``ex.count`` elements, on the device that claimed the port;
        an IN is answered with ``cpu.complete_io``.  A device that raises or
        answers wrongly becomes a :class:`DeviceError` naming it."""
        port = ex.port
        entry = self._entries.get(port)
        if entry is None:
            self._stray_access(ex)
            return
        read, write, counters, device = entry
        size, count = ex.size, ex.count
        timing = self.timing
        if timing:
            t = perf_counter_ns()
        try:
            if ex.direction == "out":
                counters.writes += 1
                if count == 1:
                    write(port, size, ex.value)
                else:
                    counters.blocks += 1
                    counters.block_elements += count
                    device.io_write_block(port, size, ex.data)
            else:
                counters.reads += 1
                if count == 1:
                    value = read(port, size)
                    if value.__class__ is not int:
                        value = _int_answer(value)
                    self.cpu.complete_io(value & ALL_ONES[size])
                else:
                    counters.blocks += 1
                    counters.block_elements += count
                    data = device.io_read_block(port, size, count)
                    if data.__class__ is not bytes or len(data) != size * count:
                        data = _block_answer(data, size * count)
                    self.cpu.complete_io(data)
        except Exception as exc:
            raise self._failure(exc, ex, device) from exc
        finally:
            if timing:
                counters.io_ns += perf_counter_ns() - t

    def _stray_access(self, ex) -> None:
        self.stray += 1
        if ex.direction == "in":
            self.cpu.complete_io(ALL_ONES[ex.size] if ex.count == 1
                                 else b"\xff" * (ex.size * ex.count))

    @staticmethod
    def _failure(exc: Exception, ex, device) -> DeviceError:
        if isinstance(exc, DeviceError):
            return exc
        count = ex.count or 1
        op = ("IN" if ex.direction == "in" else "OUT") + ("S" if count > 1 else "")
        return DeviceError(
            f"device '{device.name}' failed on {op} port 0x{ex.port:04X} "
            f"(size {ex.size}{f', {count} elements' if count > 1 else ''}): {exc_line(exc)}",
            device.name)

    # ---- MMIO ------------------------------------------------------------------------

    def mmio_read(self, address: int, size: int) -> int:
        """A guest read of ``size`` bytes at physical ``address`` from a
        Python MMIO device (all ones if none is there), counted and timed
        like a port access."""
        device, offset = self.mmio_device_at(address)
        if device is None:
            return ALL_ONES[size]
        counters = self._counters[id(device)]
        t = perf_counter_ns()
        try:
            value = device.mmio_read(offset, size)
            if value.__class__ is not int:
                value = _int_answer(value, "mmio_read")
        except Exception as exc:
            raise DeviceError(f"device '{device.name}' failed on an MMIO read at "
                              f"0x{address:08X}: {exc_line(exc)}", device.name) from exc
        finally:
            counters.mmio += 1
            counters.mmio_ns += perf_counter_ns() - t
        return value & ALL_ONES[size]

    def mmio_write(self, address: int, size: int, value: int) -> None:
        device, offset = self.mmio_device_at(address)
        if device is None:
            return
        counters = self._counters[id(device)]
        t = perf_counter_ns()
        try:
            device.mmio_write(offset, size, value & ALL_ONES[size])
        except Exception as exc:
            raise DeviceError(f"device '{device.name}' failed on an MMIO write at "
                              f"0x{address:08X}: {exc_line(exc)}", device.name) from exc
        finally:
            counters.mmio += 1
            counters.mmio_ns += perf_counter_ns() - t

    def take_mmio_error(self):
        """The exception an MMIO access raised inside the last run, if any."""
        error, self.mmio_handler.error = self.mmio_handler.error, None
        return error


def _int_answer(value, what: str = "io_read") -> int:
    if not isinstance(value, bool):
        try:
            return operator.index(value)  # an int subclass, numpy integer...
        except TypeError:
            pass
    raise TypeError(f"{what} returned {type(value).__name__} {value!r:.40}, not an int")


def _block_answer(data, want: int) -> bytes:
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"io_read_block returned {type(data).__name__}, not bytes")
    if len(data) != want:
        raise ValueError(f"io_read_block returned {len(data)} bytes, expected {want}")
    return data
