"""The in-kernel ATA/IDE controller (hvmm/kernel/ide.pxi): the task file
through ports, and guests/ide_test.asm booted from a hard disk, driving
the primary channel by PIO with IRQ 14 and by polling."""

import io
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from hvmm._core import Cpu
from hvmm.disks import HardDiskImage
from hvmm.pc import PC

ROOT = Path(__file__).resolve().parent.parent
GUEST = ROOT / "hvmm" / "guests" / "ide_test.bin"
SECTORS = 200


def disk_bytes(seed=1):
    data = bytearray(random.Random(seed).randbytes(512 * SECTORS))
    data[:512] = GUEST.read_bytes()
    return data


def run_guest(hda):
    pc = PC(hda=hda, debug_stream=io.BytesIO())
    stop = pc.run(max_instructions=2_000_000)
    assert stop.reason == "debug_exit", stop.error
    return pc, stop


def words(buf, first, count):
    return [int.from_bytes(buf[2 * i:2 * i + 2], "little") for i in range(first, first + count)]


def ata_string(buf, first, count):
    return b"".join(bytes([w >> 8, w & 0xFF]) for w in words(buf, first, count)).decode().strip()


def test_guest_reads_writes_and_identifies():
    data = disk_bytes()
    image = HardDiskImage.from_bytes(bytes(data))
    pc, stop = run_guest(image)
    m = pc.cpu.memory
    # 12 interrupts: the polled READ's INTRQ, left pending under nIEN, shows
    # when nIEN clears; 2 READ SECTORS, SET MULTIPLE, 2 READ MULTIPLE blocks,
    # READ EXT, the IDNF abort, WRITE, WRITE MULTIPLE EXT, INITIALIZE, CHS read.
    assert stop.value == 12 and m[0x500] == 12
    ident = bytes(m[0x1000:0x1200])
    assert ata_string(ident, 27, 20) == "HVMM HARDDISK"
    assert ata_string(ident, 10, 10) == "HVMM0000000000000000"
    assert words(ident, 0, 1) == [0x0040]
    assert words(ident, 47, 1) == [0x8010]                 # multiple: up to 16
    assert words(ident, 60, 2) == [SECTORS, 0]             # LBA28 sectors
    assert words(ident, 100, 4) == [SECTORS, 0, 0, 0]      # LBA48 sectors
    assert words(ident, 83, 1)[0] & 0x0400                 # 48-bit feature set
    assert not words(ident, 49, 1)[0] & 0x0100             # no DMA: PIO only
    assert m[0x502] & 0x01 and m[0x503] == 0x04            # IDENTIFY PACKET: ERR, ABRT
    assert m[0x506] & 0x01 and m[0x507] == 0x10            # past the end: ERR, IDNF
    assert bytes(m[0x2000:0x2400]) == data[5 * 512:7 * 512]
    assert bytes(m[0x3000:0x4000]) == data[10 * 512:18 * 512]
    assert bytes(m[0x4000:0x4200]) == data[20 * 512:21 * 512]
    assert bytes(m[0x4200:0x4400]) == data[40 * 512:41 * 512]   # polled
    assert bytes(m[0x6000:0x6200]) == data[((1 * 4 + 2) * 17 + 2) * 512:][:512]   # CHS 1/2/3
    pattern = bytes(m[0x5000:0x5800])
    assert image.read(30, 1) == pattern[:512]
    assert image.read(31, 4) == pattern
    # the writes are in the image's overlay, as the BIOS path's are
    assert sorted(image.overlay()) == [30, 31, 32, 33, 34]
    ide = pc.cpu.kernel_stats()["ide"]
    # every data word moved in-kernel: IDENTIFY, 13 sectors in, 5 out
    assert ide["to_python"] == 0 and ide["unclaimed"] == 0 and ide["in_kernel"] > 19 * 256


def test_copy_on_write_and_write_through(tmp_path):
    path = tmp_path / "disk.img"
    data = disk_bytes(2)
    path.write_bytes(bytes(data))
    image = HardDiskImage(path)
    pc, _ = run_guest(image)
    pattern = bytes(pc.cpu.memory[0x5000:0x5200])
    assert image.read(30, 1) == pattern          # the guest sees its write
    image.close()
    assert path.read_bytes() == bytes(data)      # the file does not
    image = HardDiskImage(path, write=True)
    pc, _ = run_guest(image)
    image.close()
    on_disk = path.read_bytes()
    assert on_disk[30 * 512:31 * 512] == pattern
    assert on_disk[:30 * 512] == bytes(data[:30 * 512])


def test_snapshot_restores_ide_writes(tmp_path):
    path = tmp_path / "disk.img"
    data = disk_bytes(3)
    path.write_bytes(bytes(data))
    image = HardDiskImage(path)
    image.restore_overlay({})
    pc, _ = run_guest(image)
    overlay = image.overlay()
    assert set(overlay) == {30, 31, 32, 33, 34}
    image.restore_overlay({})                    # undo the guest's writes
    assert image.read(30, 5) == bytes(data[30 * 512:35 * 512])
    image.close()


def ata(cpu, reg, value=None, base=0x1F0):
    if value is None:
        return cpu.io_read(base + reg, 1)
    cpu.io_write(base + reg, 1, value)


def test_task_file_reset_hob_and_absent_drives():
    cpu = Cpu()
    assert cpu.io_read(0x1F7, 1) == 0xFF         # no drive on the cable: floating
    cpu.ide_attach(2, bytearray(512 * 8))        # secondary master only
    assert cpu.io_read(0x1F7, 1) == 0xFF
    assert ata(cpu, 7, base=0x170) == 0x50       # DRDY DSC
    ata(cpu, 6, 0xB0, base=0x170)                # the absent slave
    assert ata(cpu, 7, base=0x170) == 0
    ata(cpu, 6, 0xE0, base=0x170)
    ata(cpu, 2, 0x12, base=0x170)                # HOB: the previous value
    ata(cpu, 2, 0x34, base=0x170)
    assert ata(cpu, 2, base=0x170) == 0x34
    cpu.io_write(0x376, 1, 0x80)
    assert ata(cpu, 2, base=0x170) == 0x12
    cpu.io_write(0x376, 1, 0x04)                 # SRST
    assert cpu.io_read(0x376, 1) & 0x80          # BSY while held
    cpu.io_write(0x376, 1, 0x00)
    assert [ata(cpu, r, base=0x170) for r in (1, 2, 3, 4, 5, 7)] == [1, 1, 1, 0, 0, 0x50]
    ata(cpu, 7, 0xC4, base=0x170)                # READ MULTIPLE before SET MULTIPLE
    assert ata(cpu, 7, base=0x170) == 0x51 and ata(cpu, 1, base=0x170) == 0x04
    ata(cpu, 2, 3, base=0x170)                   # not a power of two
    ata(cpu, 7, 0xC6, base=0x170)
    assert ata(cpu, 1, base=0x170) == 0x04
    ata(cpu, 7, 0xF8, base=0x170)                # READ NATIVE MAX ADDRESS
    assert ata(cpu, 3, base=0x170) == 7


def test_nien_masks_irq_14():
    cpu = Cpu()
    cpu.ide_attach(0, bytearray(512 * 8))
    for port, value in ((0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01), (0x21, 0x00),
                        (0xA0, 0x11), (0xA1, 0x70), (0xA1, 0x02), (0xA1, 0x01), (0xA1, 0x00)):
        cpu.io_write(port, 1, value)            # the PICs as a BIOS sets them
    cpu.io_write(0x3F6, 1, 0x02)                 # nIEN
    ata(cpu, 7, 0xEC)
    assert not cpu.interrupt_pending()
    cpu.io_write(0x3F6, 1, 0x00)                 # unmasked: INTRQ shows
    assert cpu.interrupt_pending()
    assert cpu.acknowledge_interrupt() == 0x76   # IRQ 14
    cpu.io_read(0x1F7, 1)                        # the status read lowers INTRQ
    cpu.io_write(0xA0, 1, 0x20)
    cpu.io_write(0x20, 1, 0x20)
    assert not cpu.interrupt_pending()


@pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm not installed")
def test_committed_guest_is_up_to_date(tmp_path):
    out = tmp_path / "ide_test.bin"
    subprocess.run(["nasm", "-f", "bin", "-i", str(ROOT / "guests") + "/", "-o", str(out),
                    str(ROOT / "guests" / "ide_test.asm")], check=True)
    assert out.read_bytes() == GUEST.read_bytes()


def test_boot_hda_stats_show_the_data_port_in_kernel(tmp_path, hvmm_main):
    path = tmp_path / "disk.img"
    path.write_bytes(bytes(disk_bytes(4)))
    status, _, err = hvmm_main("boot", "--hda", path, "--headless", "--stats")
    assert status == 25, err                      # the guest's exit: (12 << 1) | 1
    ide = next(line.split() for line in err.splitlines() if line.startswith("ide "))
    assert ide[1] == "in-kernel" and int(ide[2]) > 19 * 256
    assert path.read_bytes() == bytes(disk_bytes(4))    # no --write: untouched


def test_machine_reset_keeps_the_disks():
    cpu = Cpu()
    cpu.ide_attach(0, bytearray(512 * 8))
    cpu.io_write(0xCF9, 1, 0x06)                 # a PIIX3 reset
    cpu.reset_devices()
    assert cpu.io_read(0x1F7, 1) == 0x50
