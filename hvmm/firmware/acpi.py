"""A minimal ACPI table set, so a kernel finds the PM timer (to calibrate
against) and a way to power off: RSDP, RSDT, FADT (revision 1, ACPI 1.0b),
FACS and a DSDT whose only object is the \\_S5 sleep package. The fixed
hardware they describe is in the kernel component (kernel/acpi_pm.pxi:
PM1a event and control blocks at 0x600/0x604, the PM timer at 0x608).

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

TABLES_BASE = 0xE0000
OEM_ID = b"HVMM  "
OEM_TABLE_ID = b"HVMMPC  "
CREATOR = b"HVMM"
SCI_IRQ = 9
PM1A_EVT, PM1A_CNT, PM_TMR = 0x600, 0x604, 0x608
SLP_TYP_S5 = 5          # in PM1a_CNT's SLP_TYP, as kernel/acpi_pm.pxi expects

# FADT flags
WBINVD, PROC_C1, PWR_BUTTON, SLP_BUTTON = 1 << 0, 1 << 2, 1 << 4, 1 << 5

# Name (_S5_, Package (4) { 5, 5, 0, 0 }): SLP_TYPa, SLP_TYPb (ACPI 1.0b 7.5.2)
S5_AML = bytes([0x08]) + b"_S5_" + bytes([0x12, 0x08, 0x04, 0x0A, SLP_TYP_S5,
                                          0x0A, SLP_TYP_S5, 0x00, 0x00])


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


def fadt(facs: int, dsdt: int) -> bytes:
    body = struct.pack(
        "<IIBBHIBBBB" "IIIIIIII" "BBBBBBBB" "HHHHBBBBB" "HBI",
        facs, dsdt, 0, 0, SCI_IRQ, 0, 0, 0, 0, 0,      # no SMI_CMD: always in ACPI mode
        PM1A_EVT, 0, PM1A_CNT, 0, 0, PM_TMR, 0, 0,
        4, 2, 0, 4, 0, 0, 0, 0,                          # block lengths
        101, 1001, 0, 0, 0, 0, 0, 0, 0x32,              # no C2/C3; RTC century at 32h
        0, 0, WBINVD | PROC_C1 | PWR_BUTTON | SLP_BUTTON)
    return table(b"FACP", 1, body)


def build_tables(base: int = TABLES_BASE) -> bytes:
    """The table block to place at `base`: RSDP first, then FACS (64-byte
    aligned), DSDT, FADT and RSDT."""
    rsdp_at, facs_at = base, base + 0x40
    dsdt_at = facs_at + 0x40
    dsdt = table(b"DSDT", 1, S5_AML)
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
    data = build_tables(base)
    cpu.memory[base:base + len(data)] = data
