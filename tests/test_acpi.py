"""ACPI: the tables (hvmm/firmware/acpi.py) as a kernel parses them, the PM
timer on the virtual clock and power-off through PM1a_CNT
(hvmm/kernel/acpi_pm.pxi)."""

import io
import struct

from hvmm._core import Cpu
from hvmm.firmware.acpi import TABLES_BASE, build_tables
from hvmm.machine import Machine
from hvmm.pc import PC


def find_rsdp(mem):
    """The kernel's search: "RSD PTR " on a 16-byte boundary in E0000-FFFFF."""
    for at in range(0xE0000, 0x100000, 16):
        if mem[at:at + 8] == b"RSD PTR " and sum(mem[at:at + 20]) & 0xFF == 0:
            return at
    return None


def read_table(mem, at):
    sig, length = struct.unpack_from("<4sI", mem, at)
    data = bytes(mem[at:at + length])
    assert sum(data) & 0xFF == 0, f"{sig} checksum"
    return sig, data


def test_tables_checksums_and_layout():
    mem = bytearray(1 << 20)
    blob = build_tables()
    mem[TABLES_BASE:TABLES_BASE + len(blob)] = blob
    rsdp = find_rsdp(mem)
    assert rsdp == TABLES_BASE and mem[rsdp + 15] == 0        # ACPI 1.0 RSDP
    rsdt_at = struct.unpack_from("<I", mem, rsdp + 16)[0]
    sig, rsdt = read_table(mem, rsdt_at)
    assert sig == b"RSDT" and len(rsdt) == 40                 # one entry: the FADT, no MADT
    sig, fadt = read_table(mem, struct.unpack_from("<I", rsdt, 36)[0])
    assert sig == b"FACP" and len(fadt) == 116 and fadt[8] == 1
    facs_at, dsdt_at, _, _, sci, smi_cmd = struct.unpack_from("<IIBBHI", fadt, 36)
    assert sci == 9 and smi_cmd == 0                          # always in ACPI mode
    assert struct.unpack_from("<IIIIIIII", fadt, 56) == (0x600, 0, 0x604, 0, 0, 0x608, 0, 0)
    assert tuple(fadt[88:92]) == (4, 2, 0, 4)                 # PM1 EVT/CNT, PM2, timer lengths
    assert not struct.unpack_from("<I", fadt, 112)[0] & (1 << 8)   # 24-bit timer
    assert mem[facs_at:facs_at + 4] == b"FACS" and facs_at % 64 == 0
    sig, dsdt = read_table(mem, dsdt_at)
    assert sig == b"DSDT" and b"_S5_\x12" in dsdt
    s5 = dsdt[dsdt.index(b"_S5_"):]
    assert s5[7:11] == bytes([0x0A, 5, 0x0A, 5])             # SLP_TYPa = SLP_TYPb = 5


def test_pc_installs_the_tables_unless_told_not_to():
    assert find_rsdp(PC(debug_stream=io.BytesIO()).cpu.memory) == TABLES_BASE
    assert find_rsdp(PC(acpi=False, debug_stream=io.BytesIO()).cpu.memory) is None
    # another ROM brings its own tables (a 128 KiB one covers E0000h)
    assert find_rsdp(PC(bios=bytes(0x20000), debug_stream=io.BytesIO()).cpu.memory) is None


def test_pm_timer_counts_on_the_virtual_clock():
    cpu = Cpu()
    t0 = cpu.io_read(0x608, 4)
    cpu.advance_time(1_000_000_000)                           # one second
    t1 = cpu.io_read(0x608, 4)
    assert (t1 - t0) & 0xFFFFFF == 3579545              # exactly, on the virtual clock
    assert t1 <= 0xFFFFFF                                     # 24 bits
    cpu.advance_time(1_000_000)                               # 1 ms: 3579.545 ticks
    assert ((cpu.io_read(0x608, 4) - t1) & 0xFFFFFF) in (3579, 3580)
    assert cpu.io_read(0x604, 2) & 1                          # SCI_EN


# mov dx, 0x604 ; mov ax, 0x3400 (SLP_EN | SLP_TYP 5) ; out dx, ax ; jmp $
POWER_OFF = bytes.fromhex("BA0406" "B80034" "EF" "EBFE")
# mov dx, 0x604 ; mov ax, 0x2400 (SLP_EN | SLP_TYP 1: not offered) ; out dx, ax ; hlt
SLEEP_S1 = bytes.fromhex("BA0406" "B80024" "EF" "F4")


def test_power_off_ends_the_run():
    m = Machine(cpu="386", memory_mb=1, debug_stream=io.BytesIO())
    m.load_image(POWER_OFF)
    stop = m.run(max_instructions=1000)
    assert stop.reason == "power_off" and stop.ok and stop.status == 0
    assert stop.instructions == 3
    m = Machine(cpu="386", memory_mb=1, debug_stream=io.BytesIO())
    m.load_image(SLEEP_S1)
    assert m.run(max_instructions=1000).reason == "hlt"


def test_kernel_stats_count_pm_timer_reads_in_kernel():
    cpu = Cpu()
    for _ in range(5):
        cpu.io_read(0x608, 4)
    assert cpu.kernel_stats()["acpi-pm"]["in_kernel"] == 5
