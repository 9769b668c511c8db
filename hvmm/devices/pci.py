"""PCI devices in Python: a function on bus 0 whose configuration space a
Python class answers, beside the chipset the kernel component models
(00:00.0 i440FX, 00:01.0 PIIX3 ISA, 00:01.1 PIIX3 IDE; kernel/pci.pxi).

    from hvmm.devices.pci import PciDevice

    class MyCard(PciDevice):
        name = "mycard"
        vendor_id, device_id = 0x1234, 0x5678
        class_code = 0x020000           # class, subclass, prog-if: Ethernet
        bars = [(0x20, "io"), (0x1000, "mem")]
        irq = 11                        # interrupt line (pin INTA#)

        def bar_written(self, index, address):
            ...                         # the guest moved BAR `index`

The core declines config accesses to the function (Cpu.pci_claim), so they
reach the one :class:`PciConfigPort` on the machine, behind the in-kernel
PCI device at 0xCFC-0xCFF, which routes them by CONFIG_ADDRESS. The device
may also be a port or MMIO device of its own (subclass both) for what its
BARs decode. See docs/devices.md.
"""

from __future__ import annotations

from hvmm.devices.base import Device, PortDevice
from hvmm.errors import ConfigError

COMMAND, STATUS, HEADER_TYPE, BAR0, INTERRUPT_LINE = 0x04, 0x06, 0x0E, 0x10, 0x3C
FIRST_FREE_SLOT = 2     # devices 0 and 1 are the chipset's


class PciDevice(Device):
    """One PCI function on bus 0 (header type 0).

    Class attributes (or instance attributes set before ``attach``):
    ``vendor_id``, ``device_id``, ``class_code`` (24 bits: class, subclass,
    programming interface), ``revision``, ``subsystem_vendor_id``,
    ``subsystem_id``, ``bars`` (up to six ``(size, "io" | "mem")``, sizes
    powers of two), ``irq`` (an ISA IRQ for INTA#, or None), ``slot``
    (device number 2-31; None: the first free one), ``function``.
    """

    vendor_id = 0xFFFF
    device_id = 0xFFFF
    class_code = 0xFF0000
    revision = 0
    subsystem_vendor_id = 0
    subsystem_id = 0
    bars: list = []
    irq: int | None = None
    slot: int | None = None
    function = 0

    def attach(self, machine) -> None:
        super().attach(machine)
        self.config = bytearray(256)
        self.bar_masks = [0] * 6
        c = self.config
        c[0:4] = (self.vendor_id | self.device_id << 16).to_bytes(4, "little")
        c[8:12] = (self.revision | self.class_code << 8).to_bytes(4, "little")
        c[0x2C:0x30] = (self.subsystem_vendor_id | self.subsystem_id << 16).to_bytes(4, "little")
        if len(self.bars) > 6:
            raise ConfigError("a PCI function has at most six BARs")
        for i, (size, kind) in enumerate(self.bars):
            if kind not in ("io", "mem") or size < (4 if kind == "io" else 16) or size & (size - 1):
                raise ConfigError(f"BAR{i}: {size:#x} {kind!r} is not a power-of-two "
                                  "'io' (>= 4) or 'mem' (>= 16) region")
            self.bar_masks[i] = (~(size - 1)) & 0xFFFFFFFF
            c[BAR0 + 4 * i] = 1 if kind == "io" else 0
        if self.irq is not None:
            self.irq_out = self.irq_line(self.irq)
            c[INTERRUPT_LINE], c[INTERRUPT_LINE + 1] = self.irq, 1     # INTA#
        PciConfigPort.of(machine).add_function(self)

    # ---- configuration space ------------------------------------------------

    def config_read(self, reg: int, size: int) -> int:
        """``size`` bytes (1, 2 or 4) of configuration space at ``reg``."""
        return int.from_bytes(self.config[reg:reg + size], "little")

    def config_write(self, reg: int, size: int, value: int) -> None:
        """A guest write: BARs keep their address bits (sizing by writing
        all ones reads back the size), command and interrupt line are
        writable, IDs and class codes are not; other registers from 0x40 up
        are plain storage. Override for device-specific registers."""
        for i in range(size):
            r, v = reg + i, (value >> (8 * i)) & 0xFF
            if BAR0 <= r < BAR0 + 24:
                bar, shift = (r - BAR0) >> 2, (r & 3) * 8
                mask = (self.bar_masks[bar] >> shift) & 0xFF
                self.config[r] = (v & mask) | (self.config[r] & ~mask & 0xFF)
                if r & 3 == 3 or i == size - 1:
                    self.bar_written(bar, self.bar_address(bar))
            elif r in (COMMAND, INTERRUPT_LINE) or r >= 0x40:
                self.config[r] = v
            elif r == COMMAND + 1:
                self.config[r] = v & 0x01

    def bar_address(self, index: int) -> int:
        raw = int.from_bytes(self.config[BAR0 + 4 * index:BAR0 + 4 * index + 4], "little")
        return raw & self.bar_masks[index]

    def bar_written(self, index: int, address: int) -> None:
        """The guest wrote BAR ``index`` (now at ``address``): move what it
        decodes. The default does nothing."""

    def get_state(self) -> dict:
        return {"config": self.config.hex()}

    def set_state(self, state: dict) -> None:
        self.config[:] = bytes.fromhex(state["config"])


class PciConfigPort(PortDevice):
    """0xCFC-0xCFF behind the in-kernel PCI device: the config accesses of
    the functions Python devices answer, routed by CONFIG_ADDRESS."""

    name = "pci-config"
    ports = [(0xCFC, 0xCFF)]

    def __init__(self):
        self.functions: dict[int, PciDevice] = {}

    @classmethod
    def of(cls, machine) -> "PciConfigPort":
        """The machine's one PciConfigPort, added on first use."""
        for device in machine.devices:
            if isinstance(device, cls):
                return device
        return machine.add_device(cls())

    def add_function(self, device: PciDevice) -> None:
        slots = [device.slot] if device.slot is not None else range(FIRST_FREE_SLOT, 32)
        for slot in slots:
            devfn = slot << 3 | device.function
            if not (FIRST_FREE_SLOT <= slot < 32 and 0 <= device.function < 8):
                raise ConfigError(f"PCI slot {slot}.{device.function}: devices 2-31, functions 0-7")
            if devfn not in self.functions:
                try:
                    self.machine.cpu.pci_claim(devfn)
                except ValueError as exc:
                    raise ConfigError(str(exc)) from None
                self.functions[devfn] = device
                device.devfn = devfn
                return
        raise ConfigError(f"PCI slot {slots[0]:02x}.{device.function} is taken"
                          if device.slot is not None else "no free PCI slot on bus 0")

    def _target(self, port):
        address = self.machine.cpu.pci_address
        device = self.functions.get((address >> 8) & 0xFF)
        return device, (address & 0xFC) + (port - 0xCFC)

    def io_read(self, port: int, size: int) -> int:
        device, reg = self._target(port)
        if device is None:
            return 0xFFFFFFFF
        return device.config_read(reg, min(size, 256 - reg))

    def io_write(self, port: int, size: int, value: int) -> None:
        device, reg = self._target(port)
        if device is not None:
            device.config_write(reg, min(size, 256 - reg), value)

    def get_state(self) -> dict:
        return {}

    def set_state(self, state: dict) -> None:
        pass
