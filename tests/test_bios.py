"""The hvmm BIOS (guests/bios.asm -> hvmm/guests/bios.bin) booting through
hvmm.pc.PC: POST, INT 10h/13h/16h/1Ah, IRQ 0/1, the boot path, and the
paravirtual disk port and floppy images behind INT 13h."""
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path

import pytest

from hvmm.disks import FloppyImage
from hvmm.errors import ConfigError
from hvmm.keyboard import key_bytes
from hvmm.pc import PC
from hvmm.status import ExitStatus

ROOT = Path(__file__).resolve().parent.parent
FLOPPY_144 = 1_474_560
PIT_HZ = 1_193_182 / 65536  # channel 0 with divisor 0


def guest(name):
    return files("hvmm").joinpath(f"guests/{name}.bin").read_bytes()


def floppy(data, size=FLOPPY_144):
    """A floppy image: ``data`` (boot sector first) padded with zeros."""
    return FloppyImage.from_bytes(bytes(data).ljust(size, b"\0"))


def boot_code(code: bytes) -> bytes:
    """A boot sector holding ``code`` (hand-assembled, so the tests need no
    nasm) and the 55AA signature."""
    return code.ljust(510, b"\0") + b"\x55\xaa"


def run_code(code, cpu="386", **kw):
    """Boot ``code`` and run it to its CLI; HLT: the PC, stopped."""
    pc = PC(floppy=floppy(boot_code(code)), cpu=cpu, debug_stream=None, **kw)
    stop = pc.run(2_000_000)
    assert stop.reason == "hlt", (stop.reason, stop.error, pc.screen_text())
    return pc


@pytest.mark.parametrize("cpu", ["386", "8086"])
@pytest.mark.parametrize("key", ["x", "A", "!"])
def test_hello_boot(cpu, key):
    pc = PC(floppy=floppy(guest("hello_boot")), cpu=cpu, debug_stream=None)
    assert pc.wait_for_text("Press a key:", max_instructions=5_000_000), pc.screen_text()
    screen = pc.screen_text()
    assert "Hello from the boot sector" in screen
    assert "Sector 2 says hello too" in screen        # read with INT 13h
    assert pc.cpu.instructions < 100_000               # POST + boot are short
    pc.type(key)
    stop = pc.run(5_000_000)
    assert stop.reason == "debug_exit" and stop.value == ord(key)
    assert f"Press a key: {key}" in pc.screen_text().splitlines()
    # The hardware cursor follows the teletype: the line after the echo.
    row = pc.screen_text().splitlines().index(f"Press a key: {key}") + 1
    assert pc.cpu.video_state()["cursor_offset"] == row * 80


def test_hello_boot_committed_image_is_two_sectors():
    image = guest("hello_boot")
    assert len(image) == 1024 and image[510:512] == b"\x55\xaa"


@pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm not installed")
@pytest.mark.parametrize("name", ["bios", "hello_boot", "mtrr_dump"])
def test_committed_image_is_up_to_date(tmp_path, name):
    out = tmp_path / f"{name}.bin"
    subprocess.run(["nasm", "-f", "bin", "-i", str(ROOT / "guests") + "/", "-o", str(out),
                    str(ROOT / "guests" / f"{name}.asm")], check=True)
    assert out.read_bytes() == guest(name), f"hvmm/guests/{name}.bin is stale: run guests/build.sh"


def test_rom_layout():
    rom = guest("bios")
    assert len(rom) == 0x10000
    assert rom[0xFFF0] == 0xEA and rom[0xFFF3:0xFFF5] == b"\x00\xf0"   # jmp far F000:xxxx
    assert rom[0xFFFE] == 0xFC                                          # model byte: AT


def test_bda_after_post():
    # int 12h; mov si, ax; int 11h; cli; hlt
    pc = run_code(bytes.fromhex("cd1289c6cd11faf4"))
    mem = pc.cpu.memory
    assert int.from_bytes(mem[0x413:0x415], "little") == 640
    assert pc.cpu.si == 640                                  # INT 12h
    equip = int.from_bytes(mem[0x410:0x412], "little")
    assert pc.cpu.ax == equip                                # INT 11h
    assert equip & 1 and (equip >> 6) & 3 == 0               # one floppy drive
    assert (equip >> 4) & 3 == 2                             # 80x25 colour
    assert int.from_bytes(mem[0x400:0x402], "little") == 0x3F8
    assert mem[0x449] == 3 and mem[0x44A] == 80
    head, tail = (int.from_bytes(mem[a:a + 2], "little") for a in (0x41A, 0x41C))
    assert head == tail == 0x1E
    assert int.from_bytes(mem[0x480:0x482], "little") == 0x1E
    assert int.from_bytes(mem[0x482:0x484], "little") == 0x3E


def test_timer_ticks_at_18_2_hz():
    # sti; hlt; jmp $-1: idle, so IRQ 0 is all that happens.
    pc = PC(floppy=floppy(boot_code(bytes.fromhex("fbf4ebfd"))), debug_stream=None)
    assert pc.run_until(lambda: pc.cpu.time_ns >= 10 * 10**9, chunk=2000)
    ticks = int.from_bytes(pc.cpu.memory[0x46C:0x470], "little")
    expected = pc.cpu.time_ns / 1e9 * PIT_HZ
    assert ticks >= 182
    assert abs(ticks - expected) <= 1.5, (ticks, expected)


def test_midnight_rollover():
    pc = PC(floppy=floppy(boot_code(bytes.fromhex("fbf4ebfd"))), debug_stream=None)
    pc.run(50_000)
    pc.cpu.memory[0x46C:0x470] = (0x1800B0 - 2).to_bytes(4, "little")
    assert pc.run_until(lambda: pc.cpu.memory[0x470] == 1, chunk=5)
    ticks = int.from_bytes(pc.cpu.memory[0x46C:0x470], "little")
    assert ticks <= 1


def test_int1a_ticks():
    # mov ah, 0; int 1Ah; cli; hlt
    pc = run_code(bytes.fromhex("b400cd1afaf4"))
    ticks = int.from_bytes(pc.cpu.memory[0x46C:0x470], "little")
    assert (pc.cpu.cx << 16 | pc.cpu.dx) == ticks


def test_int1a_reads_the_rtc():
    pc = PC(floppy=floppy(boot_code(bytes.fromhex("b402cd1a89ce89d7b404cd1afaf4"))),
            debug_stream=None)
    # set the CMOS clock to 2031-05-17 13:37:42 (BCD, 24-hour: register B = 02h)
    for reg, value in ((0x04, 0x13), (0x02, 0x37), (0x00, 0x42),
                       (0x32, 0x20), (0x09, 0x31), (0x08, 0x05), (0x07, 0x17)):
        pc.cpu.cmos_write(reg, value)
    stop = pc.run(2_000_000)
    assert stop.reason == "hlt"
    assert pc.cpu.si == 0x1337                      # AH=02h: CH hours, CL minutes
    assert pc.cpu.di >> 8 in (0x42, 0x43)           # DH seconds (boot takes < 1 s)
    assert pc.cpu.di & 0xFF == 0                    # DL: no daylight saving
    assert pc.cpu.cx == 0x2031                      # AH=04h: century, year
    assert pc.cpu.dx == 0x0517                      # month, day
    assert not pc.cpu.flags & 1


@pytest.mark.parametrize("size, cx, bl", [
    (368_640, 0x2709, 1), (737_280, 0x4F09, 3), (1_228_800, 0x4F0F, 2),
    (FLOPPY_144, 0x4F12, 4), (2_949_120, 0x4F24, 5),
])
def test_int13_parameters(size, cx, bl):
    # mov ah, 8; xor dx, dx; int 13h; cli; hlt
    pc = PC(floppy=floppy(boot_code(bytes.fromhex("b40831d2cd13faf4")), size), debug_stream=None)
    assert pc.run(2_000_000).reason == "hlt"
    assert not pc.cpu.flags & 1 and pc.cpu.ah == 0
    assert pc.cpu.cx == cx and pc.cpu.dx == 0x0101 and pc.cpu.bl == bl
    assert (pc.cpu.es << 4) + pc.cpu.di >= 0xF0000     # the diskette parameter table


def test_int13_write_is_copy_on_write(tmp_path):
    # mov ax, 0301h; mov cx, 3; xor dx, dx; mov bx, 7C00h; int 13h; cli; hlt
    sector = boot_code(bytes.fromhex("b80103b9030031d2bb007ccd13faf4"))
    path = tmp_path / "a.img"
    path.write_bytes(sector.ljust(FLOPPY_144, b"\0"))
    pc = PC(floppy=path, debug_stream=None)
    assert pc.run(2_000_000).reason == "hlt"
    assert not pc.cpu.flags & 1 and pc.cpu.ax == 0x0001   # AH = 0, AL = 1 sector
    image = pc.disk.drives[0]
    assert image.data[1024:1536] == sector                 # the guest sees its write
    assert path.read_bytes()[1024:1536] == bytes(512)      # the file does not

    pc = PC(floppy=path, write=True, debug_stream=None)
    assert pc.run(2_000_000).reason == "hlt"
    pc.close()
    assert path.read_bytes()[1024:1536] == sector


def test_no_boot_signature():
    pc = PC(floppy=floppy(b""), debug_stream=None)
    stop = pc.run(2_000_000)
    assert (stop.reason, stop.status) == ("no_boot", ExitStatus.NO_BOOT)
    assert "no boot signature (55AA) on drive A:" in pc.screen_text()


def test_no_floppy():
    pc = PC(debug_stream=None)
    stop = pc.run(2_000_000)
    assert (stop.reason, stop.status) == ("no_boot", ExitStatus.NO_BOOT)
    assert "cannot read the boot sector of drive A:" in pc.screen_text()


def test_floppy_image_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such file") as exc:
        FloppyImage(tmp_path / "missing.img")
    assert "\n" not in str(exc.value)
    bad = tmp_path / "bad.img"
    bad.write_bytes(bytes(1000))
    with pytest.raises(ConfigError, match="1000 bytes is not a floppy size"):
        PC(floppy=bad)


def test_key_bytes():
    assert key_bytes("a") == bytes([0x1C, 0xF0, 0x1C])
    assert key_bytes("A") == bytes([0x12, 0x1C, 0xF0, 0x1C, 0xF0, 0x12])
    assert key_bytes("\r") == bytes([0x5A, 0xF0, 0x5A])
    with pytest.raises(ValueError):
        key_bytes("\u00e9")


@pytest.mark.parametrize("cpu", ["386", "8086"])
def test_typed_line_through_int16(cpu):
    # again: xor ah, ah; int 16h; mov ah, 0Eh; int 10h; cmp al, 0Dh; jne again; cli; hlt
    pc = PC(floppy=floppy(boot_code(bytes.fromhex("30e4cd16b40ecd103c0d75f4faf4"))),
            cpu=cpu, debug_stream=None)
    pc.run(20_000)
    text = 'Hello, World! 123 {~}|"<>?'
    pc.type(text + "\r")
    assert pc.run(2_000_000).reason == "hlt"
    assert pc.screen_text().splitlines()[1] == text
    assert pc.cpu.memory[0x417] == 0          # shift released


def test_caps_lock_and_ctrl():
    # read keys into 0000:0600.. until Enter: AX words; then cli; hlt
    # mov di, 600h; again: xor ah, ah; int 16h; stosw; cmp al, 0Dh; jne again; cli; hlt
    code = bytes.fromhex("bf000630e4cd16ab3c0d75f7faf4")
    pc = PC(floppy=floppy(boot_code(code)), debug_stream=None)
    pc.run(20_000)
    caps = bytes([0x58, 0xF0, 0x58])
    ctrl_c = bytes([0x14, 0x21, 0xF0, 0x21, 0xF0, 0x14])
    for keys in (caps, key_bytes("a"), caps, key_bytes("a"), ctrl_c, key_bytes("\r")):
        pc.cpu.keyboard_input(keys)
        pc.run(20_000)
    words = [int.from_bytes(pc.cpu.memory[0x600 + 2 * i:0x602 + 2 * i], "little") for i in range(4)]
    assert words == [0x1E41, 0x1E61, 0x2E03, 0x1C0D]
