"""SMBIOS 2.8 tables (DMTF DSP0134), so a kernel knows what machine it runs
on (Linux: `DMI: hvmm PC ...` instead of `DMI not present or invalid`):
BIOS information (type 0), system information (type 1) and the end of
table (type 127). The rest of what the specification requires of a full
PC (chassis, processor, memory arrays) no kernel needs to boot; hvmm does
not write it.

The structure table is in RAM at 0xE1000, beside the ACPI tables (memory
the E820 map does not report). The 31-byte entry point has to be in the
BIOS segment (a kernel scans F0000-FFFFF on 16-byte boundaries for
"_SM_"), so it goes into our ROM image before it is mapped, in the 0xFF
padding just below the reset vector.

    from hvmm.firmware.smbios import install
    rom = install(cpu, rom)     # the tables in RAM; the ROM with the entry point
"""

from __future__ import annotations

import struct

from hvmm.firmware.acpi import checksum

TABLE_BASE = 0xE1000
ENTRY_OFFSET = 0xFFD0       # in the 64 KiB ROM (F000:FFD0), 32 bytes of padding
ENTRY_LENGTH = 0x1F
VERSION = (2, 8)
BIOS_DATE = "01/01/2026"    # as the ROM's own date at F000:FFF5 (01/01/26)

# BIOS characteristics (type 0): ISA and PCI; extension byte 1: ACPI
CHAR_ISA, CHAR_PCI, EXT1_ACPI = 1 << 4, 1 << 7, 1 << 0
WAKE_POWER_SWITCH = 6


def structure(kind: int, handle: int, formatted: bytes, strings: tuple[str, ...] = ()) -> bytes:
    """A structure: header, formatted area, then its strings (numbered from
    1 in the formatted area), the set ending in a double NUL."""
    header = struct.pack("<BBH", kind, 4 + len(formatted), handle)
    text = b"".join(s.encode("ascii") + b"\0" for s in strings) or b"\0"
    return header + formatted + text + b"\0"


def structures() -> list[bytes]:
    bios = struct.pack("<BBHBBQBBBBBB",
                       1, 2, 0xF000, 3, 0,                  # vendor, version, segment, date, 64 KiB
                       CHAR_ISA | CHAR_PCI, EXT1_ACPI, 0,
                       0, 1, 0xFF, 0xFF)                     # BIOS release 0.1; no EC firmware
    system = struct.pack("<BBBB16sBBB", 1, 2, 3, 0,           # no serial number
                         bytes(16), WAKE_POWER_SWITCH, 0, 0)  # UUID not set; no SKU, family
    return [structure(0, 0, bios, ("hvmm", "hvmm BIOS", BIOS_DATE)),
            structure(1, 1, system, ("hvmm", "hvmm PC (i440FX + PIIX3)", "1")),
            structure(127, 2, b"")]


def entry_point(table: list[bytes], address: int) -> bytes:
    """The SMBIOS 2.x entry point for the structures `table` at `address`."""
    length = sum(map(len, table))
    dmi = bytearray(struct.pack("<5sBHIHB", b"_DMI_", 0, length, address, len(table),
                                VERSION[0] << 4 | VERSION[1]))
    dmi[5] = checksum(dmi)
    eps = bytearray(struct.pack("<4sBBBBHB5s", b"_SM_", 0, ENTRY_LENGTH, *VERSION,
                                max(map(len, table)), 0, bytes(5)) + dmi)
    eps[4] = checksum(eps)
    return bytes(eps)


def install(cpu, rom: bytes) -> bytes:
    """Write the structure table into the guest's RAM and return `rom` (our
    64 KiB BIOS) with the entry point in its padding."""
    table = structures()
    data = b"".join(table)
    cpu.memory[TABLE_BASE:TABLE_BASE + len(data)] = data
    slot = rom[ENTRY_OFFSET:ENTRY_OFFSET + 32]
    if len(rom) != 0x10000 or slot != b"\xff" * 32:
        raise ValueError("the BIOS ROM has no free slot for the SMBIOS entry point")
    eps = entry_point(table, TABLE_BASE)
    return rom[:ENTRY_OFFSET] + eps + rom[ENTRY_OFFSET + len(eps):]
