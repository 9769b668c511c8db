"""The video BIOS (guests/bios/video.asm): INT 10h modes 0-7 and 13h,
pixels, text in graphics modes with the 8x8 ROM font, scrolling, pages,
the cursor, palettes and the DAC, font information, EGA/VGA identification.

Each test runs on both CPU models and boots a sector whose code is a list of INT 10h calls, assembled
here (no nasm needed): load AX, BX, CX, DX (and ES, BP), INT 10h, then store
AX, BX, CX, DX, BP, ES at 0000:0600 + 12 * n for the test to read; CLI; HLT.
"""
from pathlib import Path

import pytest

from hvmm.disks import FloppyImage
from hvmm.pc import PC

FONTS = Path(__file__).resolve().parent.parent / "hvmm" / "firmware" / "fonts"
FONT8 = (FONTS / "cp437-8x8.bin").read_bytes()
FONT16 = (FONTS / "cp437-8x16.bin").read_bytes()
RESULTS = 0x600
DATA = 0x7C00 + 0x180           # call data (tables) placed in the boot sector here

MODES = {0: 40, 1: 40, 2: 80, 3: 80, 4: 40, 5: 40, 6: 80, 7: 80, 0x13: 40}


def w16(v):
    return (v & 0xFFFF).to_bytes(2, "little")


def int10(ax, bx=0, cx=0, dx=0, es=None, bp=None, di=None):
    """One call: registers, INT 10h, store the results in the next slot."""
    code = b""
    if di is not None:
        code += b"\xbf" + w16(di)                           # mov di, imm
    if es is not None:
        code += b"\xb8" + w16(es) + b"\x8e\xc0"             # mov ax, es_val; mov es, ax
    if bp is not None:
        code += b"\xbd" + w16(bp)                           # mov bp, imm
    code += b"\xb8" + w16(ax) + b"\xbb" + w16(bx) + b"\xb9" + w16(cx) + b"\xba" + w16(dx)
    return code + b"\xcd\x10"


def program(calls, data=b""):
    """Boot sector: DS = 0, the calls (each followed by its result store),
    CLI; HLT; the data at DATA."""
    code = b"\xfa\x31\xc0\x8e\xd8\xfb"                     # cli; xor ax, ax; mov ds, ax; sti
    for n, call in enumerate(calls):
        slot = RESULTS + 12 * n
        code += call
        code += b"\xa3" + w16(slot)                         # mov [slot], ax
        code += b"\x89\x1e" + w16(slot + 2)                 # mov [slot+2], bx
        code += b"\x89\x0e" + w16(slot + 4)                 # mov [slot+4], cx
        code += b"\x89\x16" + w16(slot + 6)                 # mov [slot+6], dx
        code += b"\x89\x2e" + w16(slot + 8)                 # mov [slot+8], bp
        code += b"\x8c\x06" + w16(slot + 10)                # mov [slot+10], es
    code += b"\xfa\xf4\xeb\xfd"                             # cli; hlt; jmp $-1
    assert len(code) <= DATA - 0x7C00, len(code)
    sector = code.ljust(DATA - 0x7C00, b"\0") + data
    assert len(sector) <= 510
    return sector.ljust(510, b"\0") + b"\x55\xaa"


@pytest.fixture(autouse=True, params=["386", "8086"])
def cpu_model(request, monkeypatch):
    """Every test on both CPU models (the BIOS is 8086 code)."""
    monkeypatch.setattr(Run, "cpu", request.param)


class Run:
    cpu = "386"

    def __init__(self, calls, data=b"", cpu=None):
        cpu = cpu or self.cpu
        self.pc = PC(floppy=FloppyImage.from_bytes(program(calls, data).ljust(1_474_560, b"\0")),
                     cpu=cpu, debug_stream=None)
        stop = self.pc.run(20_000_000)
        assert stop.reason == "hlt", (stop.reason, stop.error)
        self.mem = self.pc.cpu.memory
        self.video = self.pc.cpu.video_state()

    def result(self, n):
        """(ax, bx, cx, dx, bp, es) after call n."""
        raw = bytes(self.mem[RESULTS + 12 * n:RESULTS + 12 * n + 12])
        return tuple(int.from_bytes(raw[i:i + 2], "little") for i in range(0, 12, 2))

    def byte(self, addr):
        return self.mem[addr]

    def bytes(self, addr, n):
        return bytes(self.mem[addr:addr + n])

    def bda(self, off, size=1):
        return int.from_bytes(self.bytes(0x400 + off, size), "little")


def expand2(bits, colour):
    """An 8-pixel font line as the two bytes of a 4-colour CGA line."""
    word = 0
    for i in range(8):
        word = word << 2 | (colour if bits & (0x80 >> i) else 0)
    return bytes([word >> 8, word & 0xFF])


# ---- mode set and AH=0Fh ----------------------------------------------------------

def test_mode4_registers_and_bda():
    r = Run([int10(0x0004), int10(0x0F00)])
    assert r.bda(0x49) == 4 and r.bda(0x4A, 2) == 40 and r.bda(0x4C, 2) == 0x4000
    assert r.video["mode_control"] == 0x0A and r.video["color_select"] == 0x30
    assert r.bda(0x65) == 0x0A and r.bda(0x66) == 0x30
    assert r.bda(0x85, 2) == 8 and r.bda(0x84) == 24 and r.bda(0x63, 2) == 0x3D4
    assert r.bda(0x10) & 0x30 == 0x20                       # equipment: 80x25 colour
    assert r.video["vga"]["attr"][0x10] == 0x01 and r.video["crtc"][6] == 0x64
    ax, bx = r.result(1)[:2]
    assert ax == 40 << 8 | 4 and bx >> 8 == 0


@pytest.mark.parametrize("mode", sorted(MODES))
def test_get_mode_for_every_mode(mode):
    r = Run([int10(mode), int10(0x0F00)])
    ax, bx = r.result(1)[:2]
    assert ax == MODES[mode] << 8 | mode and bx >> 8 == 0
    assert r.bda(0x49) == mode and r.bda(0x4A, 2) == MODES[mode]
    mc = r.video["mode_control"]
    graphics = mode in (4, 5, 6)
    assert bool(mc & 0x02) == graphics                      # CGA graphics bit
    assert r.video["vga"]["attr"][0x10] & 0x41 == (0x41 if mode == 0x13 else 0x01 if graphics else 0)
    assert r.bda(0x85, 2) == (16 if mode in (0, 1, 2, 3, 7) else 8)


def test_mode_set_clears_memory_unless_bit7():
    # mode 13h, pixel (0,0) = 9, then mode 13h again with and without bit 7
    keep = Run([int10(0x0013), int10(0x0C09), int10(0x0093), int10(0x0F00)])
    assert keep.byte(0xA0000) == 9 and keep.bda(0x87) & 0x80
    assert keep.result(3)[0] & 0xFF == 0x93
    clear = Run([int10(0x0013), int10(0x0C09), int10(0x0013)])
    assert clear.byte(0xA0000) == 0 and not clear.bda(0x87) & 0x80


def test_unsupported_mode_changes_nothing():
    r = Run([int10(0x0012), int10(0x0F00)])
    assert r.result(1)[0] == 80 << 8 | 3


# ---- pixels -----------------------------------------------------------------------

def test_mode4_pixels():
    r = Run([int10(0x0004), int10(0x0C03, cx=1, dx=1), int10(0x0D00, cx=1, dx=1),
             int10(0x0C02, cx=6, dx=4), int10(0x0C81, cx=6, dx=4), int10(0x0D00, cx=6, dx=4),
             int10(0x0D00, cx=0, dx=1)])
    assert r.byte(0xB8000 + 0x2000) == 0x30                 # (1,1): odd bank, bits 5-4
    assert r.result(2)[0] & 0xFF == 3
    assert r.byte(0xB8000 + 2 * 80 + 1) == 0x0C             # (6,4): 2 XOR 1 = 3, bits 3-2
    assert r.result(5)[0] & 0xFF == 3 and r.result(6)[0] & 0xFF == 0


def test_mode6_pixels():
    r = Run([int10(0x0006), int10(0x0C01, cx=9, dx=2), int10(0x0C01, cx=639, dx=199),
             int10(0x0D00, cx=9, dx=2), int10(0x0D00, cx=8, dx=2), int10(0x0C81, cx=9, dx=2)])
    assert r.video["mode_control"] == 0x1E and r.video["color_select"] == 0x3F
    assert r.result(3)[0] & 0xFF == 1 and r.result(4)[0] & 0xFF == 0
    assert r.byte(0xB8000 + 0x2000 + 99 * 80 + 79) == 0x01  # (639,199)
    assert r.byte(0xB8000 + 80 + 1) == 0                    # (9,2) set then XORed off


def test_mode13_pixels_and_registers():
    r = Run([int10(0x0013), int10(0x0C5A, cx=10, dx=3), int10(0x0D00, cx=10, dx=3),
             int10(0x0CFF, cx=319, dx=199), int10(0x0C01, cx=320, dx=0)])
    assert r.byte(0xA0000 + 3 * 320 + 10) == 0x5A and r.result(2)[0] & 0xFF == 0x5A
    assert r.byte(0xA0000 + 63999) == 0xFF and r.byte(0xA0000 + 320) == 0
    vga = r.video["vga"]
    assert vga["attr"][0x10] == 0x41 and vga["misc"] == 0x63
    assert vga["seq"][4] == 0x0E and vga["gc"][5] == 0x40 and vga["gc"][6] == 0x05
    assert not r.video["mode_control"] & 0x02
    dac = vga["dac"]
    assert dac[3:6] == bytes([0, 0, 0x2A]) and dac[15 * 3:16 * 3] == bytes([0x3F] * 3)
    assert dac[32 * 3:33 * 3] == bytes([0, 0, 0x3F]) and dac[31 * 3:32 * 3] == bytes([0x3F] * 3)
    assert dac[6 * 3:7 * 3] == bytes([0x2A, 0x15, 0])        # brown


def test_text_mode_dac_and_attribute_palette():
    r = Run([int10(0x0013), int10(0x0003)])
    vga = r.video["vga"]
    assert vga["attr"][:16] == bytes([0, 1, 2, 3, 4, 5, 0x14, 7] + list(range(0x38, 0x40)))
    assert vga["attr"][0x10] == 0x0C and vga["misc"] == 0x67
    assert vga["dac"][0x14 * 3:0x15 * 3] == bytes([0x2A, 0x15, 0])
    assert vga["dac"][0x3F * 3:0x40 * 3] == bytes([0x3F] * 3)


# ---- text in graphics modes ---------------------------------------------------------

def test_mode4_teletype_draws_the_8x8_glyph():
    r = Run([int10(0x0004), int10(0x0E41, bx=0x0003), int10(0x0E42, bx=0x0001),
             int10(0x0300)])
    for line in range(8):
        off = (line & 1) * 0x2000 + (line >> 1) * 80
        assert r.bytes(0xB8000 + off, 2) == expand2(FONT8[0x41 * 8 + line], 3), line
        assert r.bytes(0xB8000 + off + 2, 2) == expand2(FONT8[0x42 * 8 + line], 1), line
    assert r.result(3)[3] == 0x0002                         # cursor row 0, column 2


def test_mode4_write_char_xor_and_read_char():
    r = Run([int10(0x0004), int10(0x0200, dx=0x0203), int10(0x0943, bx=0x0002, cx=2),
             int10(0x0800), int10(0x0200, dx=0x0204), int10(0x0943, bx=0x0082, cx=1),
             int10(0x0800)])
    base = 0xB8000 + 2 * 320                                # text row 2
    for line in range(8):
        off = base + (line & 1) * 0x2000 + (line >> 1) * 80
        assert r.bytes(off + 3 * 2, 2) == expand2(FONT8[0x43 * 8 + line], 2)
        assert r.bytes(off + 4 * 2, 2) == b"\0\0"           # drawn, then XORed away
    assert r.result(3)[0] == 0x0043
    assert r.result(6)[0] & 0xFF == 0x20 or r.result(6)[0] == 0  # blank cell: space (or none)


def test_mode13_text_and_scroll_up():
    # 'A' in colour 0Eh at row 1, column 2; a pixel at (5, 8); scroll up one line
    r = Run([int10(0x0013), int10(0x0200, dx=0x0102), int10(0x0E41, bx=0x000E),
             int10(0x0C07, cx=5, dx=8), int10(0x0601, bx=0, cx=0, dx=0x184F),
             int10(0x0D00, cx=5, dx=0), int10(0x0D00, cx=5, dx=8)])
    assert r.result(5)[0] & 0xFF == 7 and r.result(6)[0] & 0xFF == 0
    for line in range(8):
        row = r.bytes(0xA0000 + line * 320 + 16, 8)         # moved to text row 0
        bits = FONT8[0x41 * 8 + line]
        assert row == bytes(0x0E if bits & (0x80 >> i) else 0 for i in range(8)), line


def test_mode4_scroll_down_and_teletype_scroll():
    calls = [int10(0x0004), int10(0x0C03, cx=0, dx=0), int10(0x0701, bx=0, cx=0, dx=0x1827),
             int10(0x0D00, cx=0, dx=8), int10(0x0D00, cx=0, dx=0),
             int10(0x0200, dx=0x1800), int10(0x0E58, bx=3), int10(0x0E0A, bx=3)]
    r = Run(calls)
    assert r.result(3)[0] & 0xFF == 3 and r.result(4)[0] & 0xFF == 0
    # 'X' drawn on row 24 moved up to row 23 by the line feed
    line0 = 0xB8000 + 23 * 320
    assert r.bytes(line0, 2) == expand2(FONT8[0x58 * 8], 3)


# ---- text modes ---------------------------------------------------------------------

def test_mode7_text_at_b000_and_crtc_at_3b4():
    r = Run([int10(0x0007), int10(0x0E48), int10(0x0E69), int10(0x0F00)])
    assert r.bytes(0xB0000, 4) == b"H\x07i\x07"
    assert r.bda(0x63, 2) == 0x3B4 and r.bda(0x49) == 7
    assert r.video["frame_buffer"] == 0xB0000 and not r.video["vga"]["misc"] & 1
    assert r.video["cursor_offset"] == 2
    assert r.video["crtc"][10] == 0x0B and r.video["crtc"][11] == 0x0C
    assert r.video["vga"]["attr"][0x10] == 0x0E
    assert r.bda(0x10) & 0x30 == 0x30                       # equipment: mono
    assert r.result(3)[0] == 80 << 8 | 7


def test_mode1_40_columns():
    r = Run([int10(0x0001), int10(0x0200, dx=0x0105), int10(0x0E5A)])
    assert r.byte(0xB8000 + (40 + 5) * 2) == ord("Z")
    assert r.video["cursor_offset"] == 46 and r.video["mode_control"] == 0x28


def test_cursor_shape():
    r = Run([int10(0x0100, cx=0x0105), int10(0x0300)])
    assert r.video["crtc"][10] == 0x01 and r.video["crtc"][11] == 0x05
    assert r.bda(0x60, 2) == 0x0105 and r.result(1)[2] == 0x0105
    hidden = Run([int10(0x0100, cx=0x2000)])
    assert hidden.video["crtc"][10] == 0x20


def test_select_page():
    r = Run([int10(0x0003), int10(0x0200, bx=0x0100, dx=0x0203), int10(0x0501),
             int10(0x0E41, bx=0x0100), int10(0x0F00), int10(0x0300, bx=0x0100)])
    assert r.bda(0x62) == 1 and r.bda(0x4E, 2) == 0x1000
    assert r.video["start_address"] == 0x800
    assert r.byte(0xB8000 + 0x1000 + (2 * 80 + 3) * 2) == ord("A")
    assert r.video["cursor_offset"] == 0x800 + 2 * 80 + 4
    assert r.result(4)[1] >> 8 == 1 and r.result(5)[3] == 0x0204


def test_write_string_in_mode13():
    data = b"Hi"
    r = Run([int10(0x0013), int10(0x1301, bx=0x0005, cx=2, dx=0x0000, es=0, bp=0x7C00 + 0x180)],
            data)
    for line in range(8):
        bits = FONT8[ord("i") * 8 + line]
        assert r.bytes(0xA0000 + line * 320 + 8, 8) == bytes(5 if bits & (0x80 >> i) else 0
                                                            for i in range(8))
    assert r.bda(0x50, 2) == 0x0002


# ---- palettes, DAC, fonts, identification -----------------------------------------

def test_cga_palette_and_background():
    r = Run([int10(0x0004), int10(0x0B00, bx=0x0100), int10(0x0B00, bx=0x0011)])
    assert r.video["color_select"] == 0x11 and r.bda(0x66) == 0x11
    r = Run([int10(0x0005), int10(0x0B00, bx=0x0101)])
    assert r.video["color_select"] == 0x30 and r.video["mode_control"] == 0x0E


def test_attribute_registers():
    table = bytes(range(0x20, 0x30)) + b"\x05"
    r = Run([int10(0x1000, bx=0x3F01), int10(0x1007, bx=0x0001), int10(0x1001, bx=0x0900),
             int10(0x1008), int10(0x1002, dx=0x7C00 + 0x180, es=0), int10(0x1003, bx=0)],
            table)
    assert r.result(1)[1] >> 8 == 0x3F and r.result(3)[1] >> 8 == 0x09
    attr = r.video["vga"]["attr"]
    assert attr[:16] == table[:16] and attr[0x11] == 5
    assert not attr[0x10] & 0x08                            # intensity, not blink
    assert not r.video["mode_control"] & 0x20


def test_dac_registers():
    table = bytes([1, 2, 3, 4, 5, 6])
    r = Run([int10(0x0013), int10(0x1010, bx=0x20, cx=0x2233, dx=0x1100),
             int10(0x1015, bx=0x20), int10(0x1012, bx=0x40, cx=2, dx=0x7C00 + 0x180, es=0),
             int10(0x1017, bx=0x40, cx=2, dx=0x0700, es=0)], table)
    assert r.result(2)[3] >> 8 == 0x11 and r.result(2)[2] == 0x2233
    dac = r.video["vga"]["dac"]
    assert dac[0x20 * 3:0x21 * 3] == bytes([0x11, 0x22, 0x33])
    assert dac[0x40 * 3:0x42 * 3] == table and r.bytes(0x700, 6) == table


def test_font_information():
    r = Run([int10(0x1130, bx=0x0600), int10(0x1130, bx=0x0300), int10(0x1130, bx=0x0000),
             int10(0x1130, bx=0x0100), int10(0x1130, bx=0x0400), int10(0x0004),
             int10(0x1130, bx=0x0200)])
    def ptr(n):
        res = r.result(n)
        return res[5] * 16 + res[4]
    assert r.bytes(ptr(0), 4096) == FONT16
    assert r.result(0)[2] == 16 and r.result(0)[3] & 0xFF == 24
    assert r.bytes(ptr(1), 2048) == FONT8
    assert r.bytes(ptr(2), 1024) == FONT8[1024:] and ptr(4) == ptr(2)
    assert ptr(3) == ptr(1)
    assert r.result(6)[2] == 8 and r.bytes(ptr(6), 4096) == FONT16   # no 8x14: the 8x16


def test_font_vectors():
    r = Run([])
    v1f = int.from_bytes(r.bytes(0x1F * 4, 2), "little") + 16 * int.from_bytes(r.bytes(0x1F * 4 + 2, 2), "little")
    v43 = int.from_bytes(r.bytes(0x43 * 4, 2), "little") + 16 * int.from_bytes(r.bytes(0x43 * 4 + 2, 2), "little")
    assert r.bytes(v43, 2048) == FONT8 and r.bytes(v1f, 1024) == FONT8[1024:]


def test_ega_and_vga_identification():
    r = Run([int10(0x1200, bx=0x0010), int10(0x1A00)])
    ax, bx, cx = r.result(0)[:3]
    assert bx == 0x0003 and cx == 0x0009
    ax, bx = r.result(1)[:2]
    assert ax & 0xFF == 0x1A and bx == 0x0008


def test_mode6_teletype():
    r = Run([int10(0x0006), int10(0x0E41, bx=1)])
    for line in range(8):
        assert r.byte(0xB8000 + (line & 1) * 0x2000 + (line >> 1) * 80) == FONT8[0x41 * 8 + line]

def test_dac_grey_and_colour_page_state():
    r = Run([int10(0x0013), int10(0x1010, bx=0x30, cx=0x0000, dx=0x3F00),
             int10(0x1010, bx=0x31, cx=0x3F00, dx=0x0000), int10(0x101B, bx=0x30, cx=2),
             int10(0x101A)])
    dac = r.video["vga"]["dac"]
    assert dac[0x30 * 3:0x31 * 3] == bytes([0x13] * 3)     # (77 * 63 + 128) >> 8
    assert dac[0x31 * 3:0x32 * 3] == bytes([0x25] * 3)     # (151 * 63 + 128) >> 8
    assert dac[0x32 * 3:0x33 * 3] == bytes([0, 0x3F, 0x1F])   # entry 50: untouched
    assert r.result(4)[1] == 0x0000


def test_functionality_state_information():
    r = Run([int10(0x0004), int10(0x1B00, bx=0, es=0, di=0x800)])
    buf = r.bytes(0x800, 64)
    assert r.result(1)[0] & 0xFF == 0x1B
    assert buf[4] == 4 and buf[5:7] == w16(40) and buf[7:9] == w16(0x4000)
    assert buf[0x1E:0x20] == w16(0x3D4) and buf[0x20] == 0x0A and buf[0x21] == 0x30
    assert buf[0x22] == 25 and buf[0x23:0x25] == w16(8) and buf[0x25] == 8
    assert buf[0x27:0x29] == w16(4) and buf[0x29] == 1 and buf[0x31] == 3
    table = int.from_bytes(buf[2:4], "little") * 16 + int.from_bytes(buf[0:2], "little")
    assert r.bytes(table, 3) == bytes([0xFF, 0x00, 0x08])


def test_graphics_font_vectors_set_by_int10_11h():
    glyph = bytes([0xFF, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0xFF])
    r = Run([int10(0x0013), int10(0x1121, cx=8, es=0, bp=DATA - 0x41 * 8), int10(0x0E41, bx=2),
             int10(0x1123, bx=0x0002), int10(0x0E41, bx=2), int10(0x1120, es=0x1234, bp=0x5678),
             int10(0x1121, cx=16, es=0x1111, bp=0x2222)], glyph)
    for line in range(8):
        row = r.bytes(0xA0000 + line * 320, 16)
        assert row[:8] == bytes(2 if glyph[line] & (0x80 >> i) else 0 for i in range(8))
        assert row[8:] == bytes(2 if FONT8[0x41 * 8 + line] & (0x80 >> i) else 0 for i in range(8))
    assert r.bytes(0x1F * 4, 4) == w16(0x5678) + w16(0x1234)
    v43 = int.from_bytes(r.bytes(0x43 * 4, 2), "little") + 16 * int.from_bytes(r.bytes(0x43 * 4 + 2, 2), "little")
    assert r.bytes(v43, 2048) == FONT8                      # 8x16 for graphics: ignored


def test_text_scroll_on_the_active_page_in_40_columns():
    # mode 1, page 2: 'A' at row 1 col 39, then scroll rows 1-24 (columns
    # clamped to 39) up one line with attribute 1Eh
    r = Run([int10(0x0001), int10(0x0502), int10(0x0200, bx=0x0200, dx=0x0127),
             int10(0x0941, bx=0x0217, cx=1), int10(0x0601, bx=0x1E00, cx=0x0100, dx=0x184F)])
    page = 0xB8000 + 2 * 0x800
    assert r.bytes(page + 39 * 2, 2) == b"\x20\x07"         # row 0 is outside the window
    assert r.bytes(page + (40 + 39) * 2, 2) == b"\x20\x07"  # row 1 now holds row 2 ...
    assert r.bytes(page + (24 * 40 + 39) * 2, 2) == b"\x20\x1E"  # ... and row 24 the fill
    assert r.bytes(0xB8000 + (40 + 39) * 2, 2) == b"\x20\x07"    # page 0 untouched
    r = Run([int10(0x0001), int10(0x0502), int10(0x0200, bx=0x0200, dx=0x0227),
             int10(0x0941, bx=0x0217, cx=1), int10(0x0601, bx=0x1E00, cx=0x0100, dx=0x184F)])
    assert r.bytes(page + (40 + 39) * 2, 2) == b"A\x17"       # row 2 moved up to row 1
    assert r.video["start_address"] == 0x800


def test_teletype_wraps_and_scrolls_in_text_mode():
    r = Run([int10(0x0003), int10(0x0200, dx=0x184F), int10(0x0E41), int10(0x0300)])
    assert r.bytes(0xB8000 + (23 * 80 + 79) * 2, 1) == b"A"   # wrapped, then scrolled up
    assert r.result(3)[3] == 0x1800


@pytest.mark.parametrize("right", [0x4F, 0x4E])          # whole rows (one block), or not
def test_text_scroll_down(right):
    r = Run([int10(0x0003), int10(0x0941, bx=0x0017, cx=1), int10(0x0200, dx=0x014E),
             int10(0x0942, bx=0x0017, cx=1), int10(0x0702, bx=0x3000, cx=0x0000, dx=0x1800 | right)])
    assert r.bytes(0xB8000 + 2 * 160, 2) == b"A\x17"
    assert r.bytes(0xB8000 + 3 * 160 + 78 * 2, 2) == b"B\x17"
    assert r.bytes(0xB8000, 2) == b" \x30" and r.bytes(0xB8000 + 160 + 78 * 2, 2) == b" \x30"
    assert r.bytes(0xB8000 + 79 * 2, 2) == (b" \x30" if right == 0x4F else b" \x07")


def test_colour_paging_and_pel_mask():
    r = Run([int10(0x0013), int10(0x1013, bx=0x0100), int10(0x1013, bx=0x0501), int10(0x101A),
             int10(0x1018, bx=0x0F), int10(0x1019), int10(0x1013, bx=0x0000), int10(0x1013, bx=0x0201),
             int10(0x101A)])
    assert r.result(3)[1] == 0x0501                         # 16 pages of 16, page 5
    assert r.result(5)[1] & 0xFF == 0x0F and r.video["vga"]["pel_mask"] == 0x0F
    assert r.result(8)[1] == 0x0200                         # 4 pages of 64, page 2
    assert r.video["vga"]["attr"][0x14] == 0x08 and not r.video["vga"]["attr"][0x10] & 0x80


def test_freedos_alley_cat_draws_in_mode_4(cpu_model, freedos):
    # IBM's Alley Cat (1984, on the FreeDOS image) sets mode 4 through INT 10h
    # and draws its title screen into both CGA banks.
    if Run.cpu != "386":
        pytest.skip("one CPU model is enough for a DOS boot")
    pc = PC(floppy=str(freedos), debug_stream=None)
    assert pc.wait_for_text("A:\\>", max_instructions=1_000_000_000)
    pc.type("alleycat\r")
    assert pc.run_until(lambda: pc.cpu.memory[0x449] == 4, max_instructions=400_000_000)
    pc.run(60_000_000)
    video = pc.cpu.video_state()
    assert video["mode_control"] == 0x0A and video["vga"]["attr"][0x10] == 0x01
    even = bytes(pc.cpu.memory[0xB8000:0xB8000 + 8000])
    odd = bytes(pc.cpu.memory[0xBA000:0xBA000 + 8000])
    assert sum(b != 0 for b in even) > 4000 and sum(b != 0 for b in odd) > 4000
