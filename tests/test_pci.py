"""PCI configuration space: the in-kernel chipset (kernel/pci.pxi) read the
way a BIOS and a kernel probe it, and a Python PCI device beside it."""

import io

import pytest

from hvmm._core import Cpu
from hvmm.devices.pci import PciDevice
from hvmm.errors import ConfigError
from hvmm.machine import Machine


def address(dev, fn=0, reg=0, bus=0):
    return 0x80000000 | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC)


def cfg_read(cpu, dev, fn, reg, size=4, bus=0):
    cpu.io_write(0xCF8, 4, address(dev, fn, reg, bus))
    return cpu.io_read(0xCFC + (reg & 3), size)


def cfg_write(cpu, dev, fn, reg, value, size=4):
    cpu.io_write(0xCF8, 4, address(dev, fn, reg))
    cpu.io_write(0xCFC + (reg & 3), size, value)


def test_chipset_ids_classes_and_header_types():
    cpu = Cpu()
    assert cfg_read(cpu, 0, 0, 0) == 0x12378086           # i440FX
    assert cfg_read(cpu, 1, 0, 0) == 0x70008086           # PIIX3 ISA
    assert cfg_read(cpu, 1, 1, 0) == 0x70108086           # PIIX3 IDE
    assert cfg_read(cpu, 0, 0, 0x0B, 1) == 0x06 and cfg_read(cpu, 0, 0, 0x0A, 1) == 0x00
    assert cfg_read(cpu, 1, 0, 0x0A, 2) == 0x0601          # ISA bridge
    assert cfg_read(cpu, 1, 1, 0x08) >> 8 == 0x010180      # IDE, legacy, bus master
    assert cfg_read(cpu, 1, 0, 0x0E, 1) == 0x80            # multi-function
    assert cfg_read(cpu, 0, 0, 0x0E, 1) == 0x00
    assert cfg_read(cpu, 0, 0, 0x08, 1) == 0x02            # revision


def test_byte_and_word_accesses_to_cfc_cff():
    cpu = Cpu()
    cpu.io_write(0xCF8, 4, address(1, 1, 0))
    assert [cpu.io_read(0xCFC + i, 1) for i in range(4)] == [0x86, 0x80, 0x10, 0x70]
    assert cpu.io_read(0xCFC, 2) == 0x8086 and cpu.io_read(0xCFE, 2) == 0x7010
    assert cpu.io_read(0xCF8, 4) == address(1, 1, 0)


def test_empty_slots_other_buses_and_disabled_reads_float():
    cpu = Cpu()
    assert cfg_read(cpu, 5, 0, 0) == 0xFFFFFFFF
    assert cfg_read(cpu, 0, 0, 0, bus=1) == 0xFFFFFFFF
    cpu.io_write(0xCF8, 4, 0)                              # enable bit clear
    assert cpu.io_read(0xCFC, 4) == 0xFFFFFFFF
    assert cpu.io_read(0xCF8, 2) == 0xFFFF                 # CONFIG_ADDRESS: dword only


def test_bar_sizing_and_read_only_ids():
    cpu = Cpu()
    cfg_write(cpu, 1, 1, 0x20, 0xFFFFFFFF)                 # BAR4: 16 bytes of I/O
    assert cfg_read(cpu, 1, 1, 0x20) == 0xFFFFFFF1
    cfg_write(cpu, 1, 1, 0x20, 0xC001)
    assert cfg_read(cpu, 1, 1, 0x20) == 0xC001
    cfg_write(cpu, 1, 1, 0x10, 0xFFFFFFFF)                 # BAR0: legacy mode, none
    assert cfg_read(cpu, 1, 1, 0x10) == 0
    cfg_write(cpu, 0, 0, 0, 0x12345678)                    # IDs are read only
    assert cfg_read(cpu, 0, 0, 0) == 0x12378086
    cfg_write(cpu, 1, 0, 0x60, 0x0B0A0B0A)                 # PIRQ routing: storage
    assert cfg_read(cpu, 1, 0, 0x60) == 0x0B0A0B0A
    cfg_write(cpu, 0, 0, 0x3C, 0x0B, size=1)               # interrupt line
    assert cfg_read(cpu, 0, 0, 0x3C, 1) == 0x0B


def test_cf9_reset():
    cpu = Cpu()
    cpu.io_write(0xCF9, 1, 0x02)
    assert cpu.io_read(0xCF9, 1) == 0x02
    cpu.eax = 0x1234
    cpu.io_write(0xCF9, 1, 0x06)                           # reset: the CPU restarts
    assert (cpu.cs, cpu.ip) == (0xF000, 0xFFF0)


class Card(PciDevice):
    name = "card"
    vendor_id, device_id = 0x1234, 0x5678
    class_code = 0x020000
    revision = 3
    bars = [(0x20, "io"), (0x1000, "mem")]
    irq = 11

    def __init__(self):
        self.moved = []

    def bar_written(self, index, address):
        self.moved.append((index, address))


# A guest that sizes and programs the card's BAR0 at 00:02.0 and reads its IDs.
#   mov dx, 0xCF8 ; mov eax, 0x80001000 ; out dx, eax ; mov dl, 0xFC ; in eax, dx
#   mov [0x600], eax ; mov dl, 0xF8 ; mov eax, 0x80001010 ; out dx, eax
#   mov dl, 0xFC ; or eax, -1 ; out dx, eax ; in eax, dx ; mov [0x604], eax
#   mov eax, 0xE001 ; out dx, eax ; in eax, dx ; mov [0x608], eax ; out 0xF4, al
GUEST = bytes.fromhex(
    "BAF80C" "66B800100080" "66EF" "B2FC" "66ED" "66A30006"
    "B2F8" "66B810100080" "66EF" "B2FC" "6683C8FF" "66EF" "66ED" "66A30406"
    "66B801E00000" "66EF" "66ED" "66A30806" "E6F4")


def test_python_pci_device_visible_and_programmable():
    card = Card()
    m = Machine(cpu="386", memory_mb=1, devices=[card], debug_stream=io.BytesIO())
    assert card.devfn == 0x10                              # the first free slot: 00:02.0
    m.load_image(GUEST)
    stop = m.run(max_instructions=100)
    assert stop.reason == "debug_exit"
    mem = m.cpu.memory
    assert int.from_bytes(mem[0x600:0x604], "little") == 0x56781234
    assert int.from_bytes(mem[0x604:0x608], "little") == 0xFFFFFFE1    # 32 bytes of I/O
    assert int.from_bytes(mem[0x608:0x60C], "little") == 0xE001
    assert card.moved[-1] == (0, 0xE000)
    assert cfg_read(m.cpu, 1, 0, 0) == 0x70008086          # the chipset still in C
    m.cpu.io_write(0xCF8, 4, address(2, 0, 0x3C))
    row = next(r for r in m.stats()["rows"] if r["device"] == "pci-config")
    assert row["path"] == "python" and row["count"] == 5       # 3 reads, 2 writes
    assert card.config[0x3C:0x3E] == bytes([11, 1])
    assert card.config[0x08:0x0C] == bytes([3, 0, 0, 2])


def test_python_pci_device_cannot_take_a_chipset_slot():
    class Bad(Card):
        slot = 1
    with pytest.raises(ConfigError):
        Machine(cpu="386", memory_mb=1, devices=[Bad()], debug_stream=io.BytesIO())


def test_python_pci_device_in_a_snapshot(tmp_path):
    from hvmm.devices import PciDevice as Exported
    assert Exported is PciDevice
    card = Card()
    m = Machine(cpu="386", memory_mb=1, devices=[card], debug_stream=io.BytesIO())
    m.load_image(GUEST)
    m.run(max_instructions=100)
    m.save_state(tmp_path / "s.hvmm")
    other = Card()
    m2 = Machine(cpu="386", memory_mb=1, devices=[other], debug_stream=io.BytesIO())
    m2.load_state(tmp_path / "s.hvmm")
    assert other.bar_address(0) == 0xE000
    assert other.config_read(0x10, 4) == 0xE001
    assert m2.cpu.pci_address == address(2, 0, 0x10)       # CONFIG_ADDRESS restored too
