"""The in-kernel 8042 keyboard controller, PS/2 keyboard and PS/2 mouse
(hvmm/kernel/i8042.pxi), driven through ports 0x60/0x64 the way a BIOS and
an OS driver do, with interrupts seen through the in-kernel PIC."""
import pytest

from hvmm import Cpu

# Status register (port 0x64) bits.
OBF, IBF, SYS, CMD, UNLOCKED, AUX = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


@pytest.fixture
def cpu(pic):
    c = Cpu(memory_size=2 << 20, model="386")
    pic.init(c, (1, 8, 12))
    return c


def wait_input_empty(cpu):
    for _ in range(1000):
        if not cpu.io_read(0x64, 1) & IBF:
            return
    raise AssertionError("8042 input buffer stays full")


def command(cpu, c):
    wait_input_empty(cpu)
    cpu.io_write(0x64, 1, c)


def write_data(cpu, v):
    wait_input_empty(cpu)
    cpu.io_write(0x60, 1, v)


def read_data(cpu):
    assert cpu.io_read(0x64, 1) & OBF, "output buffer empty"
    return cpu.io_read(0x60, 1)


def drain(cpu):
    out = []
    while cpu.io_read(0x64, 1) & OBF and len(out) < 100:
        out.append(cpu.io_read(0x60, 1))
    return out


def set_command_byte(cpu, v):
    command(cpu, 0x60)
    write_data(cpu, v)


def get_command_byte(cpu):
    command(cpu, 0x20)
    return read_data(cpu)


def test_status_at_power_on(cpu):
    st = cpu.io_read(0x64, 1)
    assert st & UNLOCKED
    assert not st & (OBF | IBF | AUX)


def test_self_test_and_interface_tests(cpu):
    command(cpu, 0xAA)
    assert cpu.io_read(0x64, 1) & CMD            # last write was a command
    assert read_data(cpu) == 0x55
    assert cpu.io_read(0x64, 1) & SYS            # passed: system flag set
    command(cpu, 0xAB)
    assert read_data(cpu) == 0x00
    command(cpu, 0xA9)
    assert read_data(cpu) == 0x00
    assert not cpu.io_read(0x64, 1) & OBF


def test_command_byte(cpu):
    assert get_command_byte(cpu) & 0x41 == 0x41  # kbd IRQ and translation on
    set_command_byte(cpu, 0x47)
    assert not cpu.io_read(0x64, 1) & CMD        # last write was data
    assert get_command_byte(cpu) == 0x47
    assert cpu.io_read(0x64, 1) & SYS            # bit 2 is the system flag
    set_command_byte(cpu, 0x43)
    assert not cpu.io_read(0x64, 1) & SYS
    command(cpu, 0xAD)                           # disable keyboard
    assert get_command_byte(cpu) & 0x10
    command(cpu, 0xAE)
    assert not get_command_byte(cpu) & 0x10
    command(cpu, 0xA8)                           # enable mouse
    assert not get_command_byte(cpu) & 0x20
    command(cpu, 0xA7)
    assert get_command_byte(cpu) & 0x20


def test_keyboard_reset_and_identify(cpu):
    write_data(cpu, 0xFF)
    assert drain(cpu) == [0xFA, 0xAA]            # ACK, BAT passed
    write_data(cpu, 0xF2)
    assert drain(cpu) == [0xFA, 0xAB, 0x41]      # MF2 ID, translated
    set_command_byte(cpu, 0x01)                  # translation off
    write_data(cpu, 0xF2)
    assert drain(cpu) == [0xFA, 0xAB, 0x83]
    write_data(cpu, 0xEE)
    assert drain(cpu) == [0xEE]                  # echo
    write_data(cpu, 0x42)
    assert drain(cpu) == [0xFE]                  # not a command: resend


def test_keyboard_leds_typematic_scancode_set(cpu):
    write_data(cpu, 0xED)
    assert drain(cpu) == [0xFA]
    write_data(cpu, 0x07)                        # scroll, num, caps
    assert drain(cpu) == [0xFA]
    write_data(cpu, 0xF3)
    write_data(cpu, 0x20)                        # 30 cps after 500 ms
    assert drain(cpu) == [0xFA, 0xFA]
    write_data(cpu, 0xF0)
    write_data(cpu, 0x00)                        # which set? 2 (0x41 translated)
    assert drain(cpu) == [0xFA, 0xFA, 0x41]
    write_data(cpu, 0xF5)                        # disable scanning
    assert drain(cpu) == [0xFA]
    cpu.keyboard_input(b"\x1c")
    assert drain(cpu) == []
    write_data(cpu, 0xF4)                        # enable scanning
    assert drain(cpu) == [0xFA]
    cpu.keyboard_input(b"\x1c")
    assert drain(cpu) == [0x1E]


def test_set2_to_set1_translation(cpu):
    cpu.keyboard_input(b"\x1c\xf0\x1c")          # 'A' make, break
    assert drain(cpu) == [0x1E, 0x9E]
    cpu.keyboard_input(b"\xe0\x75\xe0\xf0\x75")  # up arrow make, break
    assert drain(cpu) == [0xE0, 0x48, 0xE0, 0xC8]
    cpu.keyboard_input(b"\x76\xf0\x76")          # Esc
    assert drain(cpu) == [0x01, 0x81]
    set_command_byte(cpu, 0x01)                  # raw set 2
    cpu.keyboard_input(b"\x1c\xf0\x1c")
    assert drain(cpu) == [0x1C, 0xF0, 0x1C]


def test_irq1_on_key(pic, cpu):
    assert pic.take_interrupt(cpu) is None
    cpu.keyboard_input(b"\x1c\xf0\x1c")
    assert pic.take_interrupt(cpu) == 0x09
    assert pic.take_interrupt(cpu) is None           # one byte, one interrupt
    assert cpu.io_read(0x60, 1) == 0x1E
    assert pic.take_interrupt(cpu) == 0x09           # the next byte: a new edge
    assert cpu.io_read(0x60, 1) == 0x9E
    assert pic.take_interrupt(cpu) is None
    set_command_byte(cpu, 0x60)                  # IRQ1 disabled
    cpu.keyboard_input(b"\x1c")
    assert cpu.io_read(0x64, 1) & OBF
    assert pic.take_interrupt(cpu) is None


def test_a20_through_output_port(cpu):
    command(cpu, 0xD0)
    assert read_data(cpu) & 0x03 == 0x03         # A20 on, reset line inactive
    cpu.memory[0x000010] = 0x11
    cpu.memory[0x100010] = 0x22
    command(cpu, 0xD1)
    write_data(cpu, 0xDD)                        # A20 off
    assert not cpu.a20
    assert cpu.read_linear(0x100010, 1) == b"\x11"   # wraps to 0x000010
    command(cpu, 0xD0)
    assert read_data(cpu) & 0x02 == 0
    command(cpu, 0xD1)
    write_data(cpu, 0xDF)                        # A20 on
    assert cpu.a20
    assert cpu.read_linear(0x100010, 1) == b"\x22"
    command(cpu, 0xDD)                           # the chipset shortcuts
    assert not cpu.a20
    command(cpu, 0xDF)
    assert cpu.a20


def test_reset_request(cpu):
    cpu.cs, cpu.ip = 0x1234, 0x5678
    command(cpu, 0xFE)                           # pulse the reset line
    assert (cpu.cs, cpu.ip) == (0xF000, 0xFFF0)
    cpu.cs, cpu.ip = 0x1234, 0x5678
    command(cpu, 0xFF)                           # pulses no line
    assert (cpu.cs, cpu.ip) == (0x1234, 0x5678)
    command(cpu, 0xD1)
    write_data(cpu, 0xFE)                        # reset line low via the port
    assert (cpu.cs, cpu.ip) == (0xF000, 0xFFF0)


def test_mouse_enable_and_packet_on_irq12(pic, cpu):
    command(cpu, 0xA8)                           # enable the mouse interface
    set_command_byte(cpu, 0x47)                  # IRQ1 + IRQ12
    command(cpu, 0xD4)
    write_data(cpu, 0xFF)
    assert drain(cpu) == [0xFA, 0xAA, 0x00]      # ACK, BAT, ID
    while pic.take_interrupt(cpu):
        pass
    command(cpu, 0xD4)
    write_data(cpu, 0xF2)
    assert drain(cpu) == [0xFA, 0x00]            # standard PS/2 mouse
    command(cpu, 0xD4)
    write_data(cpu, 0xF4)                        # enable data reporting
    assert cpu.io_read(0x64, 1) & (OBF | AUX) == OBF | AUX
    assert pic.take_interrupt(cpu) == 0x74           # IRQ 12
    assert cpu.io_read(0x60, 1) == 0xFA
    cpu.mouse_input(5, -3, 1)                    # right 5, down 3, left button
    packet = []
    while cpu.io_read(0x64, 1) & OBF:
        assert cpu.io_read(0x64, 1) & AUX
        assert pic.take_interrupt(cpu) == 0x74
        packet.append(cpu.io_read(0x60, 1))
    assert packet == [0x08 | 0x01 | 0x20, 0x05, 0xFD]
    cpu.mouse_input(-300, 400, 0)                # overflow both ways
    assert drain(cpu) == [0x08 | 0x10 | 0x40 | 0x80, 0x00, 0xFF]


def test_mouse_status_request(cpu):
    for b in (0xF3, 40, 0xE8, 1, 0xE7):
        command(cpu, 0xD4)
        write_data(cpu, b)
    assert drain(cpu) == [0xFA] * 5
    command(cpu, 0xD4)
    write_data(cpu, 0xE9)
    assert drain(cpu) == [0xFA, 0x10, 1, 40]     # 2:1 scaling, 1, 40/s
