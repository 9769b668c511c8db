"""The MTRRs our BIOS programs in POST (guests/bios/mtrr.asm), read back by
the mtrr_dump boot sector (guests/mtrr_dump.asm) after POST: on the 686
model the fixed ranges as SeaBIOS sets them, the RAM write-back through the
variable ranges, everything else uncachable; on the models without CPUID
MTRRs, nothing changed and the same BIOS still boots."""
import io
import re
import shutil
import subprocess
from importlib.resources import files

import pytest

from hvmm.disks import FloppyImage
from hvmm.pc import PC

MiB = 1 << 20
UC, WP, WB = 0, 5, 6
FIXED = {0x250: 0x0606060606060606, 0x258: 0x0606060606060606, 0x259: 0,
         **{0x268 + i: 0x0505050505050505 for i in range(8)}}
LINE = re.compile(rb"MSR ([0-9A-F]{3}) ([0-9A-F]{8}):([0-9A-F]{8})")


def dump_image() -> bytes:
    return files("hvmm").joinpath("guests/mtrr_dump.bin").read_bytes()


def parse(out: bytes):
    """{msr: value} from mtrr_dump's lines, or None for `no MTRRs`."""
    assert out.endswith(b"END\n"), out
    if out == b"no MTRRs\nEND\n":
        return None
    return {int(m[1], 16): int(m[2], 16) << 32 | int(m[3], 16) for m in LINE.finditer(out)}


def boot_dump(cpu, memory_mb):
    out = io.BytesIO()
    pc = PC(floppy=FloppyImage.from_bytes(dump_image().ljust(1_474_560, b"\0")),
            cpu=cpu, memory_mb=memory_mb, debug_stream=out)
    stop = pc.run(5_000_000)
    assert (stop.reason, stop.value) == ("debug_exit", 0), (stop, out.getvalue())
    return parse(out.getvalue())


def memory_type(msrs, addr):
    """The type the MTRRs give a physical address (SDM Vol. 3A 11.11.4.1)."""
    default = msrs[0x2FF]
    if not default & 0x800:
        return UC
    if default & 0x400 and addr < MiB:
        if addr < 0x80000:
            msr, index = 0x250, addr >> 16
        elif addr < 0xC0000:
            msr, index = 0x258 + (addr >= 0xA0000), (addr & 0x1FFFF) >> 14
        else:
            msr, index = 0x268 + ((addr - 0xC0000) >> 15), (addr & 0x7FFF) >> 12
        return msrs[msr] >> (8 * index) & 0xFF
    types = set()
    for n in range(msrs[0xFE] & 0xFF):
        base, mask = msrs[0x200 + 2 * n], msrs[0x201 + 2 * n]
        if mask & 0x800 and (addr & mask & ~0xFFF) == (base & mask & ~0xFFF):
            types.add(base & 0xFF)
    if not types:
        return default & 0xFF
    return UC if UC in types else types.pop() if len(types) == 1 else None


def check_ram_is_write_back(msrs, top):
    """0-9FFFF WB, A0000-BFFFF UC, C0000-FFFFF WP; [1 MiB, top) WB."""
    assert {n: msrs[n] for n in FIXED} == FIXED
    for addr in range(0, MiB, 0x1000):
        assert memory_type(msrs, addr) == (WB if addr < 0xA0000 else UC if addr < 0xC0000 else WP)
    for mib in range(1, top // MiB):
        assert memory_type(msrs, mib * MiB) == WB, hex(mib * MiB)
        assert memory_type(msrs, (mib + 1) * MiB - 0x1000) == WB


def test_686_post_programs_the_mtrrs_128_mib():
    msrs = boot_dump("686", 128)
    assert msrs[0xFE] == 0x508                      # 8 variable ranges, fixed, WC
    assert msrs[0x2FF] == 0xC00                     # on, fixed on, default UC
    assert {n: msrs[n] for n in FIXED} == FIXED
    # One range: 0-128 MiB write-back (36-bit physical addresses).
    assert (msrs[0x200], msrs[0x201]) == (0x6, 0xF_F800_0800)
    assert all(msrs[n] == 0 for n in range(0x202, 0x210))
    check_ram_is_write_back(msrs, 128 * MiB)
    for addr in (128 * MiB, 0xE0000000, 0xFFFF0000):  # above the RAM: uncachable
        assert memory_type(msrs, addr) == UC


@pytest.mark.parametrize("memory_mb, ranges", [(1, 1), (16, 1), (24, 2), (100, 3), (1023, 2)])
def test_686_ram_write_back_anything_else_uncachable(memory_mb, ranges):
    """RAM sizes that are no power of two take several ranges: 100 MiB is
    64 + 32 + 4 MiB; 1023 MiB is 1 GiB write-back minus 1 MiB uncachable."""
    msrs = boot_dump("686", memory_mb)
    assert msrs[0x2FF] == 0xC00
    used = [n for n in range(8) if msrs[0x201 + 2 * n] & 0x800]
    assert used == list(range(ranges))
    assert all(msrs[0x201 + 2 * n] >> 32 == 0xF for n in used)      # 36-bit masks
    check_ram_is_write_back(msrs, memory_mb * MiB)
    for mib in range(memory_mb, 4096, 7):
        assert memory_type(msrs, mib * MiB) == UC, mib


@pytest.mark.parametrize("cpu, memory_mb", [("386", 16), ("286", 16), ("8086", 1)])
def test_models_without_cpuid_mtrrs_boot_the_same_bios(cpu, memory_mb):
    # The 386 model's CPUID (family 4) has no MSRs; the 286 and 8086 none.
    assert boot_dump(cpu, memory_mb) is None


QEMU = shutil.which("qemu-system-i386")


@pytest.mark.skipif(QEMU is None, reason="qemu-system-i386 not installed")
def test_same_fixed_ranges_and_ram_types_as_seabios_on_qemu(tmp_path):
    """SeaBIOS (src/fw/mtrr.c) on a Pentium II: the same fixed ranges; it
    makes the default write-back and the PCI hole (2-4 GiB at 128 MiB)
    uncachable, where we make the default uncachable and the RAM write-back,
    so the RAM gets the same types either way."""
    image = tmp_path / "mtrr_dump.img"
    image.write_bytes(dump_image())
    proc = subprocess.run(
        [QEMU, "-cpu", "pentium2", "-m", "128", "-accel", "tcg",
         "-drive", f"file={image},format=raw,if=floppy",
         "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
         "-debugcon", "stdio", "-display", "none", "-nodefaults"],
        capture_output=True, timeout=60)
    assert proc.returncode == 1, proc.stderr         # (0 << 1) | 1
    seabios = parse(proc.stdout)
    ours = boot_dump("686", 128)
    assert seabios[0xFE] == ours[0xFE] == 0x508
    assert seabios[0x2FF] & 0xC00 == 0xC00
    check_ram_is_write_back(seabios, 128 * MiB)
    check_ram_is_write_back(ours, 128 * MiB)
