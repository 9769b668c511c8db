"""The DSDT (hvmm/firmware/acpi.py, encoded by hvmm/firmware/aml.py): the
PCI host bridge and the ISA devices under it, read back by a small AML
reader written from the specification (not from the encoder), checked
against the ports the kernel component really decodes, and disassembled
and recompiled by ACPICA's iasl where it is installed."""

import io
import shutil
import struct
import subprocess

import pytest

from hvmm.firmware import aml
from hvmm.firmware.acpi import build_tables
from hvmm.pc import PC

RAM_TOP = 128 << 20


def dsdt_of(blob: bytes) -> bytes:
    """The DSDT of a table block placed at E0000h, through RSDT and FADT."""
    base = 0xE0000
    rsdt_at = struct.unpack_from("<I", blob, 16)[0] - base
    fadt_at = struct.unpack_from("<I", blob, rsdt_at + 36)[0] - base
    dsdt_at = struct.unpack_from("<I", blob, fadt_at + 40)[0] - base
    length = struct.unpack_from("<I", blob, dsdt_at + 4)[0]
    return blob[dsdt_at:dsdt_at + length]


# ---- an AML reader for the terms a static DSDT uses (ACPI 6.4, 20.2) -------------

def read_pkg_length(data, at):
    lead = data[at]
    extra = lead >> 6
    if not extra:
        return lead & 0x3F, at + 1
    value = lead & 0x0F
    for i in range(extra):
        value |= data[at + 1 + i] << (4 + 8 * i)
    return value, at + 1 + extra


def read_name(data, at):
    prefix = ""
    if data[at] == 0x5C:
        prefix, at = "\\", at + 1
    return prefix + data[at:at + 4].decode("ascii").rstrip("_"), at + 4


def read_object(data, at):
    op = data[at]
    if op in (0x00, 0x01):
        return op, at + 1
    if op in (0x0A, 0x0B, 0x0C):
        size = {0x0A: 1, 0x0B: 2, 0x0C: 4}[op]
        return int.from_bytes(data[at + 1:at + 1 + size], "little"), at + 1 + size
    if op == 0x0D:
        end = data.index(0, at)
        return data[at + 1:end].decode("ascii"), end + 1
    if op in (0x11, 0x12):
        length, body = read_pkg_length(data, at + 1)
        end = at + 1 + length
        if op == 0x11:
            size, start = read_object(data, body)
            assert start + size == end, "buffer size disagrees with its package length"
            return bytes(data[start:end]), end
        count, items, at = data[body], [], body + 1
        while at < end:
            item, at = read_object(data, at)
            items.append(item)
        assert len(items) == count
        return items, end
    raise AssertionError(f"unexpected AML opcode {op:#x} at {at}")


def read_terms(data, at, end, path=""):
    """{path: value} for every Name, and {path: {}} for every Device."""
    out = {}
    while at < end:
        if data[at] == 0x08:
            name, at = read_name(data, at + 1)
            out[f"{path}.{name}"], at = read_object(data, at)
        elif data[at] == 0x10 or data[at:at + 2] == b"\x5b\x82":
            op_end = at + (2 if data[at] == 0x5B else 1)
            length, body = read_pkg_length(data, op_end)
            name, body = read_name(data, body)
            inner = name if name.startswith("\\") else f"{path}.{name}"
            out[inner] = "device" if data[at] == 0x5B else "scope"
            out.update(read_terms(data, body, op_end + length, inner))
            at = op_end + length
        else:
            raise AssertionError(f"unexpected AML opcode {data[at]:#x} at {at}")
    assert at == end, "a term ran past its package"
    return out


def read_resources(buf):
    """(kind, ...) for each descriptor of a resource template, up to its End Tag."""
    out, at = [], 0
    while True:
        tag = buf[at]
        if tag == 0x79:
            assert at + 2 == len(buf), "bytes after the End Tag"
            return out
        if tag & 0x80:                                     # large item
            length = struct.unpack_from("<H", buf, at + 1)[0]
            body = buf[at + 3:at + 3 + length]
            if tag == 0x88:
                kind = {1: "io-window", 2: "bus"}[body[0]]
                out.append((kind,) + struct.unpack_from("<HH", body, 5))
            elif tag == 0x87:
                out.append(("mem-window",) + struct.unpack_from("<II", body, 7))
            else:
                raise AssertionError(f"unexpected large resource {tag:#x}")
            at += 3 + length
        else:
            length, kind = tag & 7, tag >> 3
            body = buf[at + 1:at + 1 + length]
            if kind == 0x08:                               # I/O port
                assert body[0] == 1, "16-bit decode"
                first, last, _, count = struct.unpack("<HHBB", body[1:])
                assert first == last
                out.append(("io", first, count))
            elif kind == 0x04 and length == 2:             # IRQ, no flags
                mask = struct.unpack("<H", body)[0]
                assert bin(mask).count("1") == 1
                out.append(("irq", mask.bit_length() - 1))
            else:
                raise AssertionError(f"unexpected small resource {tag:#x}")
            at += 1 + length


def eisa_text(value):
    raw = value.to_bytes(4, "little")
    vendor = raw[0] << 8 | raw[1]
    letters = "".join(chr(0x40 + (vendor >> shift & 0x1F)) for shift in (10, 5, 0))
    return letters + raw[2:].hex().upper()


@pytest.fixture(scope="module")
def namespace():
    dsdt = dsdt_of(build_tables(ram_top=RAM_TOP))
    assert sum(dsdt) & 0xFF == 0
    return read_terms(dsdt, 36, len(dsdt))


# ---- the tests ----------------------------------------------------------------------

def test_aml_encodings_by_the_specification():
    assert aml.pkg_length(62) == bytes([63])                  # one byte up to 63
    assert aml.pkg_length(63) == bytes([0x41, 0x04])          # 65 = 0x41: lead 0x40 | 1
    assert read_pkg_length(aml.pkg_length(4000), 0) == (4002, 2)    # 12 bits in two bytes
    assert read_pkg_length(aml.pkg_length(5000), 0) == (5003, 3)
    assert aml.eisa_id("PNP0C09") == 0x090CD041               # the specification's example
    assert eisa_text(aml.eisa_id("PNP0A03")) == "PNP0A03"
    assert [aml.integer(v) for v in (0, 1, 5, 0x1234, 0x10000)] == [
        b"\0", b"\1", b"\x0a\x05", b"\x0b\x34\x12", b"\x0c\x00\x00\x01\x00"]
    with pytest.raises(ValueError):
        aml.name_seg("toolong")


def test_s5_and_the_pci_host_bridge(namespace):
    assert namespace["._S5"] == [5, 5, 0, 0]
    assert namespace["\\_SB.PCI0"] == "device"
    assert eisa_text(namespace["\\_SB.PCI0._HID"]) == "PNP0A03"
    assert read_resources(namespace["\\_SB.PCI0._CRS"]) == [
        ("bus", 0, 0xFF), ("io", 0xCF8, 8),
        ("io-window", 0, 0xCF7), ("io-window", 0xD00, 0xFFFF),
        ("mem-window", 0xA0000, 0xBFFFF), ("mem-window", RAM_TOP, 0xFEBFFFFF)]
    assert namespace["\\_SB.PCI0.ISA._ADR"] == 0x00010000     # PIIX3 at 00:01.0


# PnP id: the in-kernel device that must decode every port of its _CRS
KERNEL_DEVICE = {"PNP0000": "pic", "PNP0100": "pit", "PNP0800": "pit", "PNP0B00": "rtc",
                 "PNP0303": "i8042", "PNP0F13": "i8042", "PNP0501": "uart", "PNP0C04": "fpu"}
# and the IRQ it raises (the PIC's is the cascade input)
IRQ = {"PNP0000": 2, "PNP0100": 0, "PNP0B00": 8, "PNP0303": 1, "PNP0F13": 12,
       "PNP0501": 4, "PNP0C04": 13}


def test_isa_devices_are_the_ones_the_core_decodes(namespace):
    cpu = PC(cpu="686", memory_mb=16, debug_stream=io.BytesIO()).cpu
    isa = "\\_SB.PCI0.ISA."
    devices = {p[len(isa):] for p, v in namespace.items() if p.startswith(isa) and v == "device"}
    hids = {}
    for dev in devices:
        hid = eisa_text(namespace[f"{isa}{dev}._HID"])
        hids[hid] = dev
        assert namespace[f"{isa}{dev}._STA"] == 0x0F
        resources = read_resources(namespace[f"{isa}{dev}._CRS"])
        for _, first, count in (r for r in resources if r[0] == "io"):
            owners = {cpu.kernel_device_at(port) for port in range(first, first + count)}
            assert owners == {KERNEL_DEVICE[hid]}, (dev, hex(first))
        assert [r[1] for r in resources if r[0] == "irq"] == ([IRQ[hid]] if hid in IRQ else [])
    assert sorted(hids) == sorted(KERNEL_DEVICE)
    assert namespace[f"{isa}{hids['PNP0501']}._UID"] == 1
    # nothing hvmm lacks: DMA, floppy, parallel port, a second UART
    assert cpu.kernel_device_at(0x2F8) is None and cpu.kernel_device_at(0x3F0) is None
    assert cpu.kernel_device_at(0x378) is None and cpu.kernel_device_at(0x00) is None


@pytest.mark.skipif(shutil.which("iasl") is None,
                    reason="needs ACPICA's iasl (apt-get install acpica-tools)")
def test_iasl_disassembles_and_recompiles_the_dsdt_cleanly(tmp_path):
    (tmp_path / "dsdt.dat").write_bytes(dsdt_of(build_tables(ram_top=RAM_TOP)))
    subprocess.run(["iasl", "-d", "dsdt.dat"], cwd=tmp_path, check=True, capture_output=True)
    asl = (tmp_path / "dsdt.dsl").read_text()
    for hid in ("PNP0A03", *KERNEL_DEVICE):
        assert f'EisaId ("{hid}")' in asl
    proc = subprocess.run(["iasl", "-p", "again", "dsdt.dsl"], cwd=tmp_path,
                          capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "0 Errors, 0 Warnings, 0 Remarks" in out, out
