"""Python devices: the slow, flexible half of hvmm's hybrid device model.

The compiled in-kernel devices (PIC, PIT, 8042, RTC, UART, text video, the
debug ports) handle their ports without leaving C.  Anything else a guest
touches can be a Python device, built from the classes here and plugged in
with ``Machine(devices=[...])`` or ``hvmm exec --device ...``.
See docs/devices.md.
"""

from hvmm.devices.base import (
    NO_DEADLINE,
    Device,
    IrqLine,
    MmioDevice,
    PortDevice,
    Timer,
    VirtualClock,
    normalize_ports,
)
from hvmm.devices.pci import PciDevice

__all__ = [
    "NO_DEADLINE",
    "Device",
    "IrqLine",
    "MmioDevice",
    "PciDevice",
    "PortDevice",
    "Timer",
    "VirtualClock",
    "normalize_ports",
]
