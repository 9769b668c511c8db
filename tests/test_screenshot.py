"""Screenshots (hvmm/frontends/screenshot.py): the screen drawn from the
video registers and the frame buffer, as a guest would program them (ports
and memory written directly here, as no BIOS runs), and ``--screenshot``.

Every screenshot is 640x400: text cells are 8x16 (40 columns doubled
horizontally), 320x200 graphics doubled both ways, 640x200 vertically."""

from importlib.resources import files
import pytest
from PIL import Image

from hvmm._core import Cpu
from hvmm.errors import ConfigError
from hvmm.frontends import screenshot
from hvmm.machine import Machine
from hvmm.status import ExitStatus

FONT = files("hvmm").joinpath("firmware/fonts/cp437-8x16.bin").read_bytes()

BLACK, BLUE, GREEN, CYAN = (0, 0, 0), (0, 0, 0xAA), (0, 0xAA, 0), (0, 0xAA, 0xAA)
RED, MAGENTA, BROWN, GREY = (0xAA, 0, 0), (0xAA, 0, 0xAA), (0xAA, 0x55, 0), (0xAA, 0xAA, 0xAA)
BRIGHT_CYAN, LIGHT_RED = (0x55, 0xFF, 0xFF), (0xFF, 0x55, 0x55)
BRIGHT_MAGENTA, YELLOW, WHITE = (0xFF, 0x55, 0xFF), (0xFF, 0xFF, 0x55), (0xFF, 0xFF, 0xFF)

TEXT, MONO, VGA = 0xB8000, 0xB0000, 0xA0000
ODD = 0x2000  # CGA graphics: odd scan lines at BA000

# CGA mode control values (3D8h) the IBM BIOS uses.
MODE_80X25 = 0x29       # 80 columns, video on, blink
MODE_40X25 = 0x28
MODE_320 = 0x0A         # mode 4: graphics, video on
MODE_320_BW = 0x0E      # mode 5: and black-and-white (cyan/red/white)
MODE_640 = 0x1E         # mode 6


def outb(cpu, port, value):
    cpu.io_write(port, 1, value)


def crtc(cpu, reg, value, index=0x3D4):
    outb(cpu, index, reg)
    outb(cpu, index + 1, value)


def text_cpu(mode=MODE_80X25):
    """A bare CPU in CGA text mode with the cursor hidden (R10 = 20h)."""
    cpu = Cpu(memory_size=1 << 20, model="386")
    outb(cpu, 0x3D8, mode)
    crtc(cpu, 9, 7)
    crtc(cpu, 10, 0x20)
    return cpu


def put(cpu, row, col, char, attr, base=TEXT, columns=80):
    at = base + 2 * (row * columns + col)
    cpu.memory[at] = ord(char)
    cpu.memory[at + 1] = attr


def pixels(image, x0, y0, w, h):
    return [[image.getpixel((x0 + x, y0 + y)) for x in range(w)] for y in range(h)]


def glyph_cell(char, fg, bg):
    """The 8x16 cell the font draws for ``char`` in fg on bg."""
    rows = FONT[ord(char) * 16 : ord(char) * 16 + 16]
    return [[fg if bits & (0x80 >> x) else bg for x in range(8)] for bits in rows]


def test_text_cells_follow_the_font_and_attributes():
    cpu = text_cpu()
    put(cpu, 2, 5, "A", 0x1E)           # yellow on blue
    put(cpu, 24, 79, "g", 0x4A)         # light green on red, the last cell
    image = screenshot.render(cpu)
    assert image.size == (640, 400) and image.mode == "RGB"
    assert pixels(image, 40, 32, 8, 16) == glyph_cell("A", YELLOW, BLUE)
    assert pixels(image, 632, 384, 8, 16) == glyph_cell("g", (0x55, 0xFF, 0x55), RED)
    assert image.getpixel((0, 0)) == BLACK  # NUL, attribute 0
    assert screenshot.describe(cpu) == "80x25 colour text"


def test_text_start_address_and_wrap_at_32k():
    """The VGA's colour text window is 32 KiB (B8000-BFFFF); the CRTC's
    start address wraps in it."""
    cpu = text_cpu()
    put(cpu, 1, 0, "B", 0x07)
    crtc(cpu, 12, 0)
    crtc(cpu, 13, 80)                   # the screen starts at row 1 of memory
    assert pixels(screenshot.render(cpu), 0, 0, 8, 16) == glyph_cell("B", GREY, BLACK)
    put(cpu, 1, 0, "F", 0x07, base=TEXT + 0x4000)
    crtc(cpu, 12, 0x20)                 # 2000h + 80 cells: 16 KiB on, no wrap
    assert pixels(screenshot.render(cpu), 0, 0, 8, 16) == glyph_cell("F", GREY, BLACK)
    crtc(cpu, 12, 0x40)                 # 4000h + 80 cells: 32 KiB on, wraps to row 1
    assert pixels(screenshot.render(cpu), 0, 0, 8, 16) == glyph_cell("B", GREY, BLACK)
    # Start at the last cell of the 32 KiB: the second cell on screen wraps
    # to B8000.
    cpu.memory[TEXT + 0x7FFE : TEXT + 0x8000] = b"C\x02"
    put(cpu, 0, 0, "D", 0x03)
    crtc(cpu, 12, 0x3F)
    crtc(cpu, 13, 0xFF)
    image = screenshot.render(cpu)
    assert pixels(image, 0, 0, 8, 16) == glyph_cell("C", GREEN, BLACK)
    assert pixels(image, 8, 0, 8, 16) == glyph_cell("D", CYAN, BLACK)


def test_cursor_scan_lines_scaled_to_the_cell():
    cpu = text_cpu()
    put(cpu, 3, 7, " ", 0x1C)           # light red on blue, a blank cell
    crtc(cpu, 14, (3 * 80 + 7) >> 8)
    crtc(cpu, 15, (3 * 80 + 7) & 0xFF)
    crtc(cpu, 10, 6)                    # lines 6-7 of the 8-line CGA cell
    crtc(cpu, 11, 7)
    x, y = 7 * 8, 3 * 16
    cell = pixels(screenshot.render(cpu), x, y, 8, 16)
    assert cell == [[BLUE] * 8] * 12 + [[LIGHT_RED] * 8] * 4
    crtc(cpu, 10, 0x26)                 # R10 bits 5-6 = 01: cursor off
    assert pixels(screenshot.render(cpu), x, y, 8, 16) == [[BLUE] * 8] * 16
    crtc(cpu, 10, 0x00)                 # a full block
    assert pixels(screenshot.render(cpu), x, y, 8, 16) == [[LIGHT_RED] * 8] * 16
    crtc(cpu, 15, 0xD0)                 # 07D0h = 2000: past the last cell
    assert pixels(screenshot.render(cpu), x, y, 8, 16) == [[BLUE] * 8] * 16


def test_40_columns_are_doubled_horizontally():
    cpu = text_cpu(MODE_40X25)
    put(cpu, 0, 39, "W", 0x0F, columns=40)
    put(cpu, 1, 0, "x", 0x0E, columns=40)
    image = screenshot.render(cpu)
    assert image.size == (640, 400)
    assert screenshot.describe(cpu) == "40x25 colour text"
    doubled = [[p for p in row for _ in (0, 1)] for row in glyph_cell("W", WHITE, BLACK)]
    assert pixels(image, 624, 0, 16, 16) == doubled
    doubled = [[p for p in row for _ in (0, 1)] for row in glyph_cell("x", YELLOW, BLACK)]
    assert pixels(image, 0, 16, 16, 16) == doubled


def test_attribute_bit_7_blink_or_bright_background():
    cpu = text_cpu(MODE_80X25)          # blink enabled: background from bits 4-6
    put(cpu, 0, 0, "H", 0xC1)           # blink, red background, blue foreground
    assert pixels(screenshot.render(cpu), 0, 0, 8, 16) == glyph_cell("H", BLUE, RED)
    outb(cpu, 0x3D8, MODE_80X25 & ~0x20)  # bit 7: bright background
    assert pixels(screenshot.render(cpu), 0, 0, 8, 16) == glyph_cell("H", BLUE, LIGHT_RED)


def test_video_disabled_is_black():
    cpu = text_cpu(MODE_80X25 & ~0x08)
    put(cpu, 0, 0, "A", 0x1F)
    image = screenshot.render(cpu)
    assert image.size == (640, 400)
    assert image.getcolors() == [(640 * 400, BLACK)]
    assert screenshot.describe(cpu) == "80x25 colour text, video off"


def test_text_rows_from_crtc_r6():
    cpu = text_cpu()
    crtc(cpu, 6, 30)
    put(cpu, 29, 0, "Z", 0x07)
    image = screenshot.render(cpu)
    assert image.size == (640, 480)
    assert pixels(image, 0, 29 * 16, 8, 16) == glyph_cell("Z", GREY, BLACK)


def cga_cpu(mode, color_select):
    cpu = Cpu(memory_size=1 << 20, model="386")
    outb(cpu, 0x3D8, mode)
    outb(cpu, 0x3D9, color_select)
    return cpu


def doubled_pixel(image, x, y):
    """A 320x200 pixel: all four screenshot pixels, which must agree."""
    four = {image.getpixel((2 * x + dx, 2 * y + dy)) for dx in (0, 1) for dy in (0, 1)}
    assert len(four) == 1, four
    return four.pop()


def test_cga_320x200_palette_1_bright_with_background():
    cpu = cga_cpu(MODE_320, 0x31)       # palette 1, intensity, background blue
    cpu.memory[TEXT] = 0b00_01_10_11    # line 0, pixels 0-3: colours 0, 1, 2, 3
    cpu.memory[TEXT + ODD + 2 * 80 + 1] = 0b11_00_00_10  # line 5, pixels 4-7
    image = screenshot.render(cpu)
    assert image.size == (640, 400)
    assert screenshot.describe(cpu) == "320x200 4-colour CGA graphics"
    assert [doubled_pixel(image, x, 0) for x in range(4)] == [BLUE, BRIGHT_CYAN, BRIGHT_MAGENTA, WHITE]
    assert [doubled_pixel(image, x, 5) for x in range(4, 8)] == [WHITE, BLUE, BLUE, BRIGHT_MAGENTA]
    assert doubled_pixel(image, 4, 4) == BLUE  # the even bank's line 4 is empty


def test_cga_320x200_palette_0_and_mode_5():
    cpu = cga_cpu(MODE_320, 0x04)       # palette 0, low intensity, background red
    cpu.memory[TEXT + 80 * 3 + 79] = 0b00_01_10_11  # line 6, pixels 316-319
    image = screenshot.render(cpu)
    assert [doubled_pixel(image, x, 6) for x in range(316, 320)] == [RED, GREEN, RED, BROWN]
    outb(cpu, 0x3D8, MODE_320_BW)       # mode 5: cyan, red, white whatever bit 5
    outb(cpu, 0x3D9, 0x20)
    image = screenshot.render(cpu)
    assert [doubled_pixel(image, x, 6) for x in range(316, 320)] == [BLACK, CYAN, RED, GREY]
    outb(cpu, 0x3D9, 0x10)
    image = screenshot.render(cpu)
    assert [doubled_pixel(image, x, 6) for x in range(316, 320)] == [BLACK, BRIGHT_CYAN, LIGHT_RED, WHITE]


def test_cga_640x200_two_colours():
    cpu = cga_cpu(MODE_640, 0x0E)       # foreground yellow
    cpu.memory[TEXT] = 0x81             # line 0: pixels 0 and 7
    cpu.memory[TEXT + ODD + 99 * 80 + 79] = 0x01  # line 199, pixel 639
    image = screenshot.render(cpu)
    assert image.size == (640, 400)
    assert screenshot.describe(cpu) == "640x200 2-colour CGA graphics"
    row = [image.getpixel((x, 0)) for x in range(8)]
    assert row == [YELLOW] + [BLACK] * 6 + [YELLOW]
    assert [image.getpixel((x, 1)) for x in range(8)] == row  # doubled vertically
    assert image.getpixel((639, 398)) == image.getpixel((639, 399)) == YELLOW
    assert image.getpixel((638, 399)) == BLACK
    outb(cpu, 0x3D8, MODE_640 & ~0x08)
    assert screenshot.render(cpu).getcolors() == [(640 * 400, BLACK)]


def test_vga_mode_13h_through_the_dac_and_pel_mask():
    cpu = Cpu(memory_size=1 << 20, model="386")
    outb(cpu, 0x3C8, 5)                 # DAC entry 5 = (63, 32, 0), 6 = (0, 0, 21)
    for v in (63, 32, 0, 0, 0, 21):
        outb(cpu, 0x3C9, v)
    cpu.io_read(0x3DA, 1)               # attribute flip-flop to index
    outb(cpu, 0x3C0, 0x30)              # register 10h, palette address source on
    outb(cpu, 0x3C0, 0x41)              # graphics, 8-bit colour
    cpu.memory[VGA + 320 * 7 + 9] = 5
    cpu.memory[VGA + 320 * 199 + 319] = 6
    cpu.memory[VGA + 320 * 100 + 100] = 0x15
    image = screenshot.render(cpu)
    assert image.size == (640, 400)
    assert screenshot.describe(cpu) == "320x200 256-colour VGA graphics (mode 13h)"
    assert doubled_pixel(image, 9, 7) == (255, 129, 0)
    assert doubled_pixel(image, 319, 199) == (0, 0, 85)
    assert doubled_pixel(image, 100, 100) == BLACK  # entry 15h: never programmed
    assert doubled_pixel(image, 8, 7) == BLACK
    outb(cpu, 0x3C6, 0x0F)              # pel mask: 15h shows entry 5
    assert doubled_pixel(screenshot.render(cpu), 100, 100) == (255, 129, 0)


def test_mono_text_mda_attributes():
    cpu = Cpu(memory_size=1 << 20, model="386")
    outb(cpu, 0x3C2, 0x66)              # misc output bit 0 clear: mono, B0000
    crtc(cpu, 10, 0x20, index=0x3B4)    # cursor off
    outb(cpu, 0x3D8, 0x00)              # the CGA's register does not matter here
    cases = [(0x07, GREY, BLACK), (0x0F, WHITE, BLACK), (0x70, BLACK, GREY),
             (0x00, BLACK, BLACK), (0x08, BLACK, BLACK), (0x88, BLACK, BLACK)]
    for col, (attr, _, _) in enumerate(cases):
        put(cpu, 4, col, "M", attr, base=MONO)
    put(cpu, 4, 10, "u", 0x01, base=MONO)
    put(cpu, 0, 0, "N", 0x07)           # colour memory is not shown
    image = screenshot.render(cpu)
    assert image.size == (640, 400)
    assert screenshot.describe(cpu) == "80x25 monochrome text"
    for col, (attr, fg, bg) in enumerate(cases):
        assert pixels(image, col * 8, 64, 8, 16) == glyph_cell("M", fg, bg), hex(attr)
    underlined = glyph_cell("u", GREY, BLACK)
    underlined[15] = [GREY] * 8
    assert pixels(image, 80, 64, 8, 16) == underlined
    assert image.getcolors(16) is not None and all(
        c in (BLACK, GREY, WHITE) for _, c in image.getcolors(16))
    assert image.getpixel((0, 0)) == BLACK and pixels(image, 0, 0, 8, 16) == [[BLACK] * 8] * 16


def test_save_and_machine_screenshot(tmp_path):
    machine = Machine(cpu="386", memory_mb=1)
    outb(machine.cpu, 0x3D8, MODE_80X25)
    crtc(machine.cpu, 10, 0x20)
    put(machine.cpu, 0, 0, "A", 0x1E)
    image = machine.screenshot()
    assert pixels(image, 0, 0, 8, 16) == glyph_cell("A", YELLOW, BLUE)
    path = tmp_path / "screen.png"
    assert machine.screenshot(path).tobytes() == image.tobytes()
    with Image.open(path) as saved:
        assert saved.format == "PNG" and saved.convert("RGB").tobytes() == image.tobytes()
    with pytest.raises(ConfigError, match=r"must end in \.png"):
        machine.screenshot(tmp_path / "screen.bmp")
    with pytest.raises(ConfigError, match="no directory"):
        machine.screenshot(tmp_path / "missing" / "screen.png")
    with pytest.raises(ConfigError, match="is a directory"):
        (tmp_path / "dir.png").mkdir()
        machine.screenshot(tmp_path / "dir.png")


def colours_of(path):
    with Image.open(path) as image:
        return image.size, image.convert("RGB")


def test_boot_screenshot_shows_the_freedos_prompt(freedos, no_traceback, hvmm_cmd, tmp_path):
    proc = hvmm_cmd("boot", freedos, "--headless", "--wait", "A:\\>",
                    "--screenshot", "out.png", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    size, image = colours_of(tmp_path / "out.png")
    assert size == (640, 400)
    assert len(image.getcolors()) > 1
    # Somewhere a row starts with the prompt, drawn grey on black.
    prompt = [glyph_cell(ch, GREY, BLACK) for ch in "A:\\>"]
    rows = [r for r in range(25)
            if [pixels(image, 8 * i, 16 * r, 8, 16) for i in range(4)] == prompt]
    assert rows, "no A:\\> prompt drawn on the screenshot"


def test_alley_cat_title_screen(freedos, no_traceback, hvmm_cmd, tmp_path):
    # IBM's Alley Cat (on the FreeDOS floppy) in CGA mode 4, palette 1: its
    # title screen after 3 s of virtual time, through the command line.
    proc = hvmm_cmd("boot", freedos, "--headless", "--wait", "A:\\>",
                    "--type", "alleycat\\r", "--sleep", "3",
                    "--screenshot", "cat.png", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    size, image = colours_of(tmp_path / "cat.png")
    assert size == (640, 400)
    counts = {rgb: n for n, rgb in image.getcolors()}
    # Only the four colours of palette 1 (black, cyan, magenta, grey), and
    # each covers a real part of the picture: not a blank or text screen.
    assert set(counts) == {(0, 0, 0), (0, 0xAA, 0xAA), (0xAA, 0, 0xAA), (0xAA, 0xAA, 0xAA)}
    assert all(n > 640 * 400 // 100 for n in counts.values()), counts
    # The sky above the fence is magenta and the fence in the middle cyan.
    assert image.getpixel((20, 150)) == (0xAA, 0, 0xAA)
    assert counts[(0, 0xAA, 0xAA)] > 640 * 400 // 10


def test_boot_screenshot_when_the_instruction_limit_ends_the_run(write_floppy, no_traceback, hvmm_cmd, tmp_path):
    # A boot sector: mov dx,3D4h; mov ax,200Ah; out dx,ax (cursor off);
    # mov ax,0B800h; mov ds,ax; mov word [0],1E41h; jmp $
    code = bytes.fromhex("bad403b80a20ef" "b800b88ed8c7060000411eebfe")
    sector = bytearray(code.ljust(512, b"\0"))
    sector[510:512] = b"\x55\xaa"
    write_floppy(tmp_path / "loop.img", sector)
    proc = hvmm_cmd("boot", "loop.img", "--headless", "--max-instructions", "3000000",
                    "--screenshot", "out.png", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == ExitStatus.LIMIT, proc.stderr
    _, image = colours_of(tmp_path / "out.png")
    assert pixels(image, 0, 0, 8, 16) == glyph_cell("A", YELLOW, BLUE)


def test_run_screenshot_shows_the_demo_colours(no_traceback, hvmm_cmd, tmp_path):
    proc = hvmm_cmd("run", "--screenshot", "demo.png", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    size, image = colours_of(tmp_path / "demo.png")
    assert size == (640, 400)
    shown = {c for _, c in image.getcolors(256)}
    # The palette line shows all 16 colours; the title is on red.
    assert set(screenshot.COLOURS) <= shown
    assert image.getpixel((164, 40)) == RED  # a blank cell inside the title box


def test_screenshot_path_is_checked_before_the_run(no_traceback, hvmm_cmd, tmp_path):
    proc = hvmm_cmd("run", "--screenshot", "demo.jpg", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
    assert "must end in .png" in proc.stderr and "hvmm: the demo" not in proc.stderr


def test_exec_screenshot(no_traceback, hvmm_cmd, tmp_path):
    # mov dx,3D8h; mov al,09h; out dx,al; mov ax,0B800h; mov ds,ax;
    # mov word [0],1E41h; hlt
    code = bytes.fromhex("bad803b009eeb800b88ed8c7060000411ef4")
    (tmp_path / "a.bin").write_bytes(code)
    proc = hvmm_cmd("exec", "a.bin", "--screenshot", "a.png", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    _, image = colours_of(tmp_path / "a.png")
    cell = glyph_cell("A", YELLOW, BLUE)
    cell[0] = cell[1] = [YELLOW] * 8    # the cursor: lines 0-0 of the 8-line cell, at 0
    assert pixels(image, 0, 0, 8, 16) == cell


def test_cursor_in_a_cell_taller_than_16_lines():
    # R9 = 19: a 20-line cell; a one-line cursor (line 0) is less than one
    # pixel line once scaled to 16: it is drawn as one.
    cpu = text_cpu()
    put(cpu, 0, 0, " ", 0x1C)
    crtc(cpu, 9, 19)
    crtc(cpu, 10, 0)
    crtc(cpu, 11, 0)
    cell = pixels(screenshot.render(cpu), 0, 0, 8, 16)
    assert cell == [[LIGHT_RED] * 8] + [[BLUE] * 8] * 15


@pytest.mark.parametrize("seed", range(40))
def test_any_crtc_and_mode_values_render(seed):
    """Whatever a guest writes to the CRTC, mode control and colour select
    registers, a screenshot (and the text screen) can be taken."""
    import random

    from hvmm.display import read_screen

    rng = random.Random(seed)
    cpu = Cpu(memory_size=1 << 20, model="386")
    cpu.memory[0xB0000:0xC0000] = rng.randbytes(0x10000)
    outb(cpu, 0x3D8, rng.randrange(256))
    outb(cpu, 0x3D9, rng.randrange(256))
    for reg in range(18):
        crtc(cpu, reg, rng.randrange(256))
    if seed % 2:
        # Text with a short cursor on screen in a tall cell (R9 >= 16).
        outb(cpu, 0x3D8, 0x29)
        lines = rng.randrange(16, 32)
        first = rng.randrange(lines)
        at = rng.randrange(2000)
        for reg, value in ((6, 25), (9, lines), (10, first), (11, first + rng.randrange(2)),
                           (12, 0), (13, 0), (14, at >> 8), (15, at & 0xFF)):
            crtc(cpu, reg, value)
    image = screenshot.render(cpu)
    assert image.size[0] == 640 and image.size[1] in (400, *range(16, 60 * 16 + 1, 16))
    screen = read_screen(cpu)
    assert screen.notice or len(screen.cells) == 2 * screen.columns * screen.rows
