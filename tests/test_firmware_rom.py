"""The firmware slot: our BIOS or another ROM (`--bios FILE`, 64 or 128 KiB)
ends at the top of the first megabyte and, on the 386, is decoded again at
the top of the 4 GiB space."""
import pytest

from hvmm import guest_image
from hvmm.errors import ConfigError
from hvmm.firmware.smbios import ENTRY_OFFSET
from hvmm.pc import PC


def test_test_rom_runs_from_cli(no_traceback, hvmm_cmd, tmp_path):
    rom = tmp_path / "rom.bin"
    rom.write_bytes(guest_image("testrom"))
    proc = hvmm_cmd("boot", "--bios", rom, "--headless", cwd=tmp_path)
    no_traceback(proc)
    # 0x21 to port 0xF4: the ROM found its first half at E0000 and its
    # model byte at F000:FFFE, with no disk image given.
    assert proc.returncode == (0x21 << 1) | 1, proc.stderr
    assert proc.stdout.splitlines() == [
        "hvmm test ROM: running at E000:0000 of a 128 KiB image",
        "hvmm test ROM: F000:FFFE reads the model byte FCh",
    ]


@pytest.mark.parametrize("size", [0x10000, 0x20000])
def test_rom_at_top_of_1mib_and_4gib(size):
    rom = bytes((i * 7 + (i >> 12)) & 0xFF for i in range(size))
    pc = PC(bios=rom)
    cpu = pc.cpu
    assert cpu.read_linear((1 << 20) - size, size) == rom
    assert cpu.read_linear((1 << 32) - size, size) == rom
    # Below the alias and below the ROM: no ROM bytes (empty bus / RAM).
    assert cpu.read_linear((1 << 32) - size - 16, 16) == b"\xff" * 16
    # Writes to either view are dropped.
    cpu.write_linear(0xFFFFFFF0, b"\0" * 16)
    cpu.write_linear(0xFFFF0, b"\0" * 16)
    assert cpu.read_linear(0xFFFFFFF0, 16) == rom[-16:] == cpu.read_linear(0xFFFF0, 16)
    # The CPU starts in the ROM's last 16 bytes.
    assert (cpu.cs, cpu.ip) == (0xF000, 0xFFF0)


def test_our_bios_is_aliased_on_386_not_8086():
    bios = guest_image("bios")
    pc = PC()
    rom = pc.cpu.read_linear(0xF0000, 0x10000)
    assert pc.cpu.read_linear(0xFFFF0000, 0x10000) == rom
    # our BIOS, with the SMBIOS entry point in the padding below the reset
    # vector (hvmm/firmware/smbios.py)
    slot = slice(ENTRY_OFFSET, ENTRY_OFFSET + 32)
    assert rom[slot].startswith(b"_SM_") and bios[slot] == b"\xff" * 32
    assert rom[:slot.start] + rom[slot.stop:] == bios[:slot.start] + bios[slot.stop:]
    pc8086 = PC(cpu="8086")
    assert pc8086.cpu.read_linear(0xF0000, 0x10000) == bios


def test_bad_rom_size():
    with pytest.raises(ConfigError, match="64 or 128 KiB"):
        PC(bios=b"\xff" * 0x8000)


@pytest.mark.parametrize("content, message", [
    (None, "cannot read BIOS image"),
    (b"\xea" * 1000, "a BIOS image is 64 or 128 KiB, this one is 1000 bytes"),
])
def test_bad_bios_file_is_one_line(no_traceback, hvmm_cmd, tmp_path, content, message):
    path = tmp_path / "rom.bin"
    if content is not None:
        path.write_bytes(content)
    proc = hvmm_cmd("boot", "--bios", path, "--headless", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
