"""SMBIOS (hvmm/firmware/smbios.py): found as a kernel finds it, an entry
point in F0000-FFFFF pointing at a structure table, read back by the
specification (DSP0134 2.8)."""

import io
import struct

from hvmm.firmware.acpi import TABLES_BASE, build_tables
from hvmm.firmware.smbios import TABLE_BASE
from hvmm.pc import PC


def find_entry(mem):
    """Linux's scan (dmi_scan_machine): "_SM_" on a 16-byte boundary in
    F0000-FFFFF, its checksum over its length, "_DMI_" 16 bytes in with its
    own checksum over 15 bytes."""
    for at in range(0xF0000, 0x100000, 16):
        if mem[at:at + 4] == b"_SM_":
            length = mem[at + 5]
            assert sum(mem[at:at + length]) & 0xFF == 0
            assert mem[at + 16:at + 21] == b"_DMI_" and sum(mem[at + 16:at + 31]) & 0xFF == 0
            return at
    return None


def read_structures(mem, address, length, count):
    """[(type, handle, formatted area, [strings])] of a structure table."""
    out, at, end = [], address, address + length
    while at < end:
        kind, size, handle = struct.unpack_from("<BBH", mem, at)
        strings_end = bytes(mem[at + size:end]).index(b"\0\0")
        text = bytes(mem[at + size:at + size + strings_end])
        out.append((kind, handle, bytes(mem[at + 4:at + size]),
                    text.decode("ascii").split("\0") if text else []))
        at += size + strings_end + 2
    assert at == end and len(out) == count
    return out


def test_entry_point_and_structures_as_a_kernel_reads_them():
    mem = PC(cpu="686", memory_mb=16, debug_stream=io.BytesIO()).cpu.memory
    at = find_entry(mem)
    assert at is not None and 0xF0000 <= at < 0xFFFF0          # below the reset vector
    major, minor, max_size = struct.unpack_from("<BBH", mem, at + 6)
    length, address, count, bcd = struct.unpack_from("<HIHB", mem, at + 22)
    assert (major, minor, bcd) == (2, 8, 0x28) and address == TABLE_BASE
    table = read_structures(mem, address, length, count)
    assert [t[0] for t in table] == [0, 1, 127]
    assert len({t[1] for t in table}) == 3                       # unique handles
    kind, _, bios, strings = table[0]
    assert len(bios) + 4 == 0x18                                  # the 2.4+ type 0 length
    vendor, version, segment, date = struct.unpack_from("<BBHB", bios)
    assert segment == 0xF000 and strings[date - 1] == "01/01/2026"
    assert strings[vendor - 1] == "hvmm"
    characteristics, ext1 = struct.unpack_from("<QB", bios, 6)
    assert characteristics & (1 << 7) and ext1 & 1                # PCI; ACPI
    _, _, system, strings = table[1]
    assert len(system) + 4 == 0x1B
    assert [strings[i - 1] for i in system[:2]] == ["hvmm", "hvmm PC (i440FX + PIIX3)"]
    assert max_size == max(len(t[2]) + 4 + sum(len(s) + 1 for s in t[3]) + (1 if t[3] else 2)
                           for t in table)


def test_tables_leave_room_for_each_other():
    assert TABLES_BASE + len(build_tables(ram_top=128 << 20)) <= TABLE_BASE


def test_no_smbios_without_our_firmware_tables():
    for pc in (PC(acpi=False, debug_stream=io.BytesIO()),
               PC(bios=bytes(0x10000), debug_stream=io.BytesIO()),
               PC(cpu="8086", debug_stream=io.BytesIO())):
        assert find_entry(pc.cpu.memory) is None
