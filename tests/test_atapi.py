"""The ATAPI CD-ROM on the secondary IDE channel (hvmm/kernel/atapi.pxi):
signature, IDENTIFY PACKET DEVICE and PACKET commands through the ports,
as a driver issues them; --cdrom on the command line."""

import io
import struct

import pytest

from hvmm._core import Cpu
from hvmm.disks import CdImage
from hvmm.errors import ConfigError
from hvmm.pc import PC

BASE, CTRL = 0x170, 0x376


def iso(sectors=40):
    data = bytearray(2048 * sectors)
    for lba in range(sectors):
        data[lba * 2048:lba * 2048 + 4] = struct.pack(">I", lba)
    data[16 * 2048:16 * 2048 + 6] = b"\x01CD001"           # primary volume descriptor
    return data


def drive(sectors=40):
    cpu = Cpu()
    data = iso(sectors)
    cpu.ide_attach(2, data, cdrom=True)
    return cpu, data


def packet(cpu, cdb, limit=0xFFFE):
    """Send a PACKET command; return (data bytes, final status, error,
    interrupt reasons seen)."""
    cpu.io_write(BASE + 6, 1, 0xA0)
    cpu.io_write(BASE + 1, 1, 0)
    cpu.io_write(BASE + 4, 1, limit & 0xFF)
    cpu.io_write(BASE + 5, 1, limit >> 8)
    cpu.io_write(BASE + 7, 1, 0xA0)
    assert cpu.io_read(CTRL, 1) & 0x08 and cpu.io_read(BASE + 2, 1) == 1     # DRQ, CoD
    cdb = bytes(cdb).ljust(12, b"\0")
    for i in range(0, 12, 2):
        cpu.io_write(BASE, 2, int.from_bytes(cdb[i:i + 2], "little"))
    out, reasons = bytearray(), []
    while True:
        status = cpu.io_read(BASE + 7, 1)
        reasons.append(cpu.io_read(BASE + 2, 1))
        if not status & 0x08:
            return bytes(out), status, cpu.io_read(BASE + 1, 1), reasons
        n = cpu.io_read(BASE + 4, 1) | cpu.io_read(BASE + 5, 1) << 8
        assert n <= limit
        for _ in range(n // 2):
            out += cpu.io_read(BASE, 2).to_bytes(2, "little")


def test_signature_and_identify_packet():
    cpu, _ = drive()
    cpu.io_write(CTRL, 1, 0x04)                           # SRST
    cpu.io_write(CTRL, 1, 0x00)
    assert (cpu.io_read(BASE + 4, 1), cpu.io_read(BASE + 5, 1)) == (0x14, 0xEB)
    cpu.io_write(BASE + 7, 1, 0xEC)                       # IDENTIFY DEVICE aborts
    assert cpu.io_read(BASE + 7, 1) & 0x01 and cpu.io_read(BASE + 1, 1) == 0x04
    assert (cpu.io_read(BASE + 4, 1), cpu.io_read(BASE + 5, 1)) == (0x14, 0xEB)
    cpu.io_write(BASE + 7, 1, 0xA1)                       # IDENTIFY PACKET DEVICE
    words = [cpu.io_read(BASE, 2) for _ in range(256)]
    assert words[0] == 0x85C0
    model = b"".join(bytes([w >> 8, w & 0xFF]) for w in words[27:47]).decode().strip()
    assert model == "HVMM DVD-ROM"
    assert cpu.io_read(BASE + 7, 1) & 0x08 == 0


def test_inquiry_capacity_and_reads():
    cpu, data = drive(40)
    out, status, _, _ = packet(cpu, [0x12, 0, 0, 0, 36])
    assert out[0] == 0x05 and out[1] & 0x80 and out[8:16] == b"HVMM    "
    out, _, _, _ = packet(cpu, [0x25])
    assert struct.unpack(">II", out) == (39, 2048)
    out, status, _, reasons = packet(cpu, [0x28, 0, 0, 0, 0, 16, 0, 0, 2])   # READ (10)
    assert out == bytes(data[16 * 2048:18 * 2048]) and out[1:6] == b"CD001"
    assert status & 0x01 == 0 and reasons[-1] == 3                          # CoD|IO: done
    # a byte count limit splits the data into several DRQ blocks
    out, _, _, reasons = packet(cpu, [0xA8, 0, 0, 0, 0, 30, 0, 0, 0, 3], limit=1000)
    assert out == bytes(data[30 * 2048:33 * 2048]) and reasons.count(2) == 7
    out, _, _, _ = packet(cpu, [0x43, 0, 0, 0, 0, 0, 0, 0, 20])              # READ TOC
    assert out[2:4] == b"\x01\x01" and struct.unpack(">I", out[16:20])[0] == 40


def test_errors_and_sense():
    cpu, _ = drive(40)
    _, status, error, _ = packet(cpu, [0x28, 0, 0, 0, 0, 39, 0, 0, 2])       # past the end
    assert status & 0x01 and error >> 4 == 0x05                              # ILLEGAL REQUEST
    out, status, _, _ = packet(cpu, [0x03, 0, 0, 0, 18])                    # REQUEST SENSE
    assert out[0] == 0x70 and out[2] == 0x05 and out[12] == 0x21 and not status & 1
    _, status, error, _ = packet(cpu, [0xFF])
    assert status & 0x01 and error >> 4 == 0x05
    assert cpu.kernel_stats()["ide"]["to_python"] == 0


def test_pc_cdrom_and_bad_images(tmp_path):
    path = tmp_path / "cd.iso"
    path.write_bytes(bytes(iso(20)))
    pc = PC(cdrom=str(path), debug_stream=io.BytesIO())
    out, _, _, _ = packet(pc.cpu, [0x28, 0, 0, 0, 0, 16, 0, 0, 1])
    assert out[1:6] == b"CD001"
    bad = tmp_path / "bad.iso"
    bad.write_bytes(bytes(3000))
    with pytest.raises(ConfigError, match="multiple of 2048"):
        CdImage(bad)


def test_cdrom_option(tmp_path, hvmm_main):
    bad = tmp_path / "bad.iso"
    bad.write_bytes(bytes(3000))
    mbr = tmp_path / "disk.img"
    mbr.write_bytes(bytes(512 * 4))
    status, _, err = hvmm_main("boot", "--hda", mbr, "--cdrom", bad, "--headless")
    assert status == 2 and len(err.splitlines()) == 1 and "multiple of 2048" in err
