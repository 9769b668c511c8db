"""A minimal ACPI table set, so a kernel finds the PM timer (to calibrate
against), a way to power off and the devices of the PC: RSDP, RSDT, FADT
(revision 1, ACPI 1.0b), FACS and a DSDT. The fixed hardware they describe
is in the kernel component (kernel/acpi_pm.pxi: PM1a event and control
blocks at 0x600/0x604, the PM timer at 0x608).

The DSDT holds the \\_S5 sleep package and, as an i440FX PC's does, the
PCI host bridge \\_SB.PCI0 (PNP0A03: without it an ACPI kernel finds no
PCI bus) with the PIIX3's ISA bridge below it and, under that, the ISA
devices the kernel component models (PIC, PIT, speaker, RTC, 8042 with
its keyboard and mouse, COM1, the x87's port F0h), each with the ports
and IRQ it really decodes, so a kernel's PnP drivers bind to them. There
is no _PRT: the chipset's functions use no PCI interrupt pin, the PIIX3's
PIRQ routers stay off (80h), and a Python PCI device drives a fixed ISA
IRQ, the one in its interrupt line register, which Linux falls back to
(after a "can't derive routing for PCI INT A" warning) when a function
has no _PRT entry.

There is no MADT: hvmm has no local APIC or I/O APIC, and a MADT would
send the kernel to them; without one it keeps the 8259 PICs. SCI is IRQ 9.

    from hvmm.firmware.acpi import build_tables, install
    install(cpu)            # writes the tables at TABLES_BASE (0xE0000)

The tables sit at 0xE0000, below the BIOS ROM, in RAM the E820 map does
not report (so the kernel leaves it alone); the RSDP is found there by the
kernel's scan of 0xE0000-0xFFFFF on 16-byte boundaries.
"""

from __future__ import annotations

import struct

from hvmm.firmware.aml import (bus_numbers, device, dword, eisa_id, integer, io, io_window, irq,
                               memory_window, name, package, resources, scope)

TABLES_BASE = 0xE0000
OEM_ID = b"HVMM  "
OEM_TABLE_ID = b"HVMMPC  "
CREATOR = b"HVMM"
SCI_IRQ = 9
PM1A_EVT, PM1A_CNT, PM_TMR = 0x600, 0x604, 0x608
SLP_TYP_S5 = 5          # in PM1a_CNT's SLP_TYP, as kernel/acpi_pm.pxi expects

# FADT flags
WBINVD, PROC_C1, PWR_BUTTON, SLP_BUTTON = 1 << 0, 1 << 2, 1 << 4, 1 << 5

PCI_MMIO_LAST = 0xFEBFFFFF   # the PCI memory window: RAM's top to here (as QEMU's)


def checksum(data: bytes) -> int:
    """The byte that makes `data` sum to 0 mod 256."""
    return -sum(data) & 0xFF


def table(signature: bytes, revision: int, body: bytes) -> bytes:
    """An ACPI table: the 36-byte header (with its checksum) and `body`."""
    header = struct.pack("<4sIBB6s8sI4sI", signature, 36 + len(body), revision, 0,
                         OEM_ID, OEM_TABLE_ID, 1, CREATOR, 1)
    data = bytearray(header + body)
    data[9] = checksum(data)
    return bytes(data)


# The ISA devices the kernel component models (core/bus.pxi maps their
# ports), as ACPI names them: name, PnP id, I/O ranges (first port,
# count), IRQ or None, _UID or None. No DMA controller, floppy controller,
# parallel port or second UART: hvmm has none.
ISA_DEVICES = (
    ("PIC", "PNP0000", ((0x20, 2), (0xA0, 2), (0x4D0, 2)), 2, None),   # and the ELCR
    ("TMR", "PNP0100", ((0x40, 4),), 0, None),
    ("SPKR", "PNP0800", ((0x61, 1),), None, None),
    ("RTC", "PNP0B00", ((0x70, 2),), 8, None),
    ("KBD", "PNP0303", ((0x60, 1), (0x64, 1)), 1, None),
    ("MOU", "PNP0F13", (), 12, None),                   # the 8042's aux port
    ("COM1", "PNP0501", ((0x3F8, 8),), 4, 1),
    ("FPU", "PNP0C04", ((0xF0, 1),), 13, None),         # F0h clears FERR#
)


def isa_device(seg: str, hid: str, ports, irq_number, uid) -> bytes:
    """An ISA device: its PnP id, present and enabled (_STA 0Fh), and its
    current resources."""
    terms = [name("_HID", dword(eisa_id(hid)))]
    if uid is not None:
        terms.append(name("_UID", integer(uid)))
    crs = [io(first, count) for first, count in ports]
    if irq_number is not None:
        crs.append(irq(irq_number))
    return device(seg, *terms, name("_STA", integer(0x0F)), name("_CRS", resources(*crs)))


def dsdt_body(ram_top: int) -> bytes:
    """The DSDT's AML: \\_S5 and \\_SB.PCI0 with the ISA devices."""
    # Name (_S5, Package (4) { 5, 5, 0, 0 }): SLP_TYPa, SLP_TYPb (ACPI 1.0b 7.5.2)
    s5 = name("_S5", package(integer(SLP_TYP_S5), integer(SLP_TYP_S5), integer(0), integer(0)))
    windows = [bus_numbers(0, 0xFF), io(0xCF8, 8),          # the bridge's own ports
               io_window(0x0000, 0xCF7), io_window(0xD00, 0xFFFF),
               memory_window(0xA0000, 0xBFFFF, cacheable=True)]
    if ram_top <= PCI_MMIO_LAST:
        windows.append(memory_window(ram_top, PCI_MMIO_LAST, cacheable=False))
    isa = device("ISA", name("_ADR", integer(0x00010000)),     # PIIX3 function 00:01.0
                 *(isa_device(*entry) for entry in ISA_DEVICES))
    pci0 = device("PCI0", name("_HID", dword(eisa_id("PNP0A03"))), name("_UID", integer(0)),
                  name("_CRS", resources(*windows)), isa)
    return s5 + scope("\\_SB", pci0)


def fadt(facs: int, dsdt: int) -> bytes:
    body = struct.pack(
        "<IIBBHIBBBB" "IIIIIIII" "BBBBBBBB" "HHHHBBBBB" "HBI",
        facs, dsdt, 0, 0, SCI_IRQ, 0, 0, 0, 0, 0,      # no SMI_CMD: always in ACPI mode
        PM1A_EVT, 0, PM1A_CNT, 0, 0, PM_TMR, 0, 0,
        4, 2, 0, 4, 0, 0, 0, 0,                          # block lengths
        101, 1001, 0, 0, 0, 0, 0, 0, 0x32,              # no C2/C3; RTC century at 32h
        0, 0, WBINVD | PROC_C1 | PWR_BUTTON | SLP_BUTTON)
    return table(b"FACP", 1, body)


def build_tables(base: int = TABLES_BASE, ram_top: int = 16 << 20) -> bytes:
    """The table block to place at `base`: RSDP first, then FACS (64-byte
    aligned), DSDT, FADT and RSDT. PCI memory goes from `ram_top` (the
    end of RAM) up."""
    rsdp_at, facs_at = base, base + 0x40
    dsdt_at = facs_at + 0x40
    dsdt = table(b"DSDT", 1, dsdt_body(ram_top))
    fadt_at = (dsdt_at + len(dsdt) + 15) & ~15
    fadt_table = fadt(facs_at, dsdt_at)
    rsdt_at = (fadt_at + len(fadt_table) + 15) & ~15
    rsdt = table(b"RSDT", 1, struct.pack("<I", fadt_at))
    facs = struct.pack("<4sIIIII", b"FACS", 64, 0, 0, 0, 0).ljust(64, b"\0")
    rsdp = bytearray(struct.pack("<8sB6sBI", b"RSD PTR ", 0, OEM_ID, 0, rsdt_at))
    rsdp[8] = checksum(rsdp)
    out = bytearray(rsdt_at + len(rsdt) - base)
    for at, data in ((rsdp_at, rsdp), (facs_at, facs), (dsdt_at, dsdt), (fadt_at, fadt_table),
                     (rsdt_at, rsdt)):
        out[at - base:at - base + len(data)] = data
    return bytes(out)


def install(cpu, base: int = TABLES_BASE) -> None:
    """Write the tables into the guest's memory at `base`."""
    data = build_tables(base, ram_top=len(cpu.memory))
    cpu.memory[base:base + len(data)] = data
