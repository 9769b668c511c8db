"""Screenshots: the emulated screen as a Pillow image, drawn from the video
hardware state (``cpu.video_state()``) and the frame buffer in guest RAM.

    from hvmm.frontends import screenshot
    image = screenshot.render(pc.cpu)         # PIL.Image.Image, RGB
    screenshot.save(pc.cpu, "screen.png")     # the same, written as PNG
    screenshot.describe(pc.cpu)               # "80x25 colour text", ...

Every screenshot is 640x400 (except text modes with more than 25 rows, which
are 16 pixels taller per row), whatever the mode, so that screenshots of
one 4:3 screen line up: 320x200 graphics is doubled both ways, 640x200
graphics is doubled vertically, 40-column text is doubled horizontally, and
text cells are 8x16 (the VGA's cell, font hvmm/firmware/fonts/cp437-8x16.bin)
whatever the CRTC's cell height.

The mode is the one the hardware shows (:func:`hvmm.display.screen_mode`):
mode 13h (VGA attribute register 10h), monochrome text at B0000, CGA
graphics (3D8h bit 1) at B8000/BA000, or CGA text in 40 or 80 columns.

CGA mode control bit 3 clear (video disabled) gives a black screen of the
mode's size; so does a bare CPU just after reset. What is not drawn: the
VGA attribute palette and DAC in text and CGA modes (the 16 standard
colours are used), the planar EGA/VGA modes 0Dh-12h (the core does not
model planar memory), the blink phase (blinking characters and the cursor
are drawn in their visible phase), split (start > end) cursors.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib.resources import files

from PIL import Image, ImageDraw

from hvmm.display import (
    COLOURS,
    MDA_TEXT,
    MODE_BLINK,
    MODE_BW,
    VGA_GRAPHICS,
    ScreenMode,
    cursor_position,
    read_wrapped,
    screen_mode,
    text_memory,
)
from hvmm.errors import ConfigError

#: The size of every screenshot of a 25-row text or a graphics mode.
WIDTH, HEIGHT = 640, 400
CELL_W, CELL_H = 8, 16

CGA_GRAPHICS = 0xB8000
CGA_ODD_BANK = 0x2000          # odd scan lines at BA000

BLACK, GREY, WHITE = 0, 7, 15  # the monochrome screen's three levels, as colour numbers

# CGA 320x200 colours 1-3 (low intensity; colour select bit 4 adds 8).
PALETTE_0 = (2, 4, 6)          # green, red, brown
PALETTE_1 = (3, 5, 7)          # cyan, magenta, white
PALETTE_BW = (3, 4, 7)         # mode control bit 2 (mode 5): cyan, red, white


def describe(cpu) -> str:
    """The mode on screen, for messages: e.g. "80x25 colour text"."""
    return screen_mode(cpu.video_state()).name


def render(cpu) -> Image.Image:
    """The screen of ``cpu`` (a ``hvmm._core.Cpu``) as an RGB image, 640
    pixels wide (see the module doc for the sizes and what is drawn)."""
    state = cpu.video_state()
    mode = screen_mode(state)
    if mode.kind in ("text", "mono"):
        size = (WIDTH, mode.height * CELL_H)
    else:
        size = (WIDTH, HEIGHT)
    if not mode.enabled:
        return Image.new("RGB", size)
    memory = cpu.memory
    if mode.kind == "vga256":
        return _render_vga256(memory, state["vga"])
    if mode.kind == "cga320":
        return _render_cga320(memory, state)
    if mode.kind == "cga640":
        return _render_cga640(memory, state)
    return _render_text(memory, state, mode)


def save(cpu, path) -> Image.Image:
    """Render the screen and write it to ``path`` as PNG; returns the image.
    Raises ConfigError (one line) if ``path`` does not end in .png or cannot
    be written."""
    check_path(path)
    image = render(cpu)
    try:
        image.save(path, format="PNG")
    except OSError as exc:
        raise ConfigError(f"cannot write screenshot {path}: {exc.strerror or exc}") from None
    return image


def check_path(path) -> None:
    """Raise ConfigError unless ``path`` names a .png file in an existing
    directory (so that a long run is not wasted on a screenshot that
    cannot be written)."""
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        raise ConfigError(f"screenshot {path}: the file name must end in .png")
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        raise ConfigError(f"cannot write screenshot {path}: no directory {parent}")
    if os.path.isdir(path):
        raise ConfigError(f"cannot write screenshot {path}: is a directory")


# ---------------------------------------------------------------- graphics

def _rgb_palette(colours) -> list[int]:
    flat = []
    for c in colours:
        flat.extend(COLOURS[c])
    return flat


def _finish(image: Image.Image) -> Image.Image:
    """A paletted image of one of the graphics modes, as the 640x400 RGB
    screenshot (pixels repeated, never blended)."""
    return image.convert("RGB").resize((WIDTH, HEIGHT), Image.Resampling.NEAREST)


def _render_vga256(memory, vga: dict) -> Image.Image:
    pixels = read_wrapped(memory, VGA_GRAPHICS, 320 * 200, 0, 320 * 200)
    mask = vga["pel_mask"]
    if mask != 0xFF:
        pixels = pixels.translate(bytes(i & mask for i in range(256)))
    image = Image.frombytes("P", (320, 200), pixels)
    image.putpalette(bytes(v * 255 // 63 for v in vga["dac"]))
    return _finish(image)


def _cga_lines(memory, state: dict) -> bytes:
    """The 200 lines of 80 bytes of a CGA graphics mode, in screen order:
    even lines from B8000, odd lines from BA000, each bank 8 KiB from the
    CRTC start address (counted in words, as in text modes)."""
    start = (2 * state["start_address"]) % CGA_ODD_BANK
    banks = [read_wrapped(memory, CGA_GRAPHICS + b * CGA_ODD_BANK, CGA_ODD_BANK, start, 100 * 80)
             for b in (0, 1)]
    return b"".join(banks[y & 1][(y >> 1) * 80 : (y >> 1) * 80 + 80] for y in range(200))


def _render_cga320(memory, state: dict) -> Image.Image:
    image = Image.frombytes("P", (320, 200), _cga_lines(memory, state), "raw", "P;2")
    select = state["color_select"]
    if state["mode_control"] & MODE_BW:
        trio = PALETTE_BW
    else:
        trio = PALETTE_1 if select & 0x20 else PALETTE_0
    bright = 8 if select & 0x10 else 0
    image.putpalette(_rgb_palette([select & 0x0F] + [c + bright for c in trio]))
    return _finish(image)


def _render_cga640(memory, state: dict) -> Image.Image:
    image = Image.frombytes("P", (640, 200), _cga_lines(memory, state), "raw", "P;1")
    image.putpalette(_rgb_palette([BLACK, state["color_select"] & 0x0F]))
    return _finish(image)


# ---------------------------------------------------------------- text

@lru_cache(maxsize=1)
def _font_lines() -> tuple[bytes, ...]:
    """For each of the 16 pixel rows of a cell: a 256-byte table from
    character code to that row's bits (for bytes.translate)."""
    font = files("hvmm").joinpath("firmware/fonts/cp437-8x16.bin").read_bytes()
    return tuple(bytes(font[c * CELL_H + line] for c in range(256)) for line in range(CELL_H))


def _cga_colours(attr: int, blink: bool) -> tuple[int, int, bool]:
    """(foreground, background, underline) colour numbers of a CGA attribute."""
    if blink:
        return attr & 0x0F, (attr >> 4) & 0x07, False
    return attr & 0x0F, attr >> 4, False


def _mda_colours(attr: int, blink: bool) -> tuple[int, int, bool]:
    """(foreground, background, underline) of an MDA attribute: grey or
    white on black, black on grey for reverse video (background 7,
    foreground 0), nothing at all for 00h, 08h, 80h, 88h; underlined when
    the foreground bits are 1."""
    if attr & 0x77 == 0:
        return BLACK, BLACK, False
    bright_bg = bool(attr & 0x80) and not blink
    if attr & 0x77 == 0x70:
        return BLACK, WHITE if bright_bg else GREY, False
    fg = WHITE if attr & 0x08 else GREY
    return fg, BLACK, attr & 0x07 == 0x01


def _render_text(memory, state: dict, mode: ScreenMode) -> Image.Image:
    columns, rows = mode.width, mode.height
    mono = mode.kind == "mono"
    colours_of = _mda_colours if mono else _cga_colours
    base, region = text_memory(state, mode)
    blink = bool(state["mode_control"] & MODE_BLINK)
    cells = read_wrapped(memory, base, region, 2 * state["start_address"], 2 * columns * rows)
    chars, attrs = cells[0::2], cells[1::2]

    # Background and foreground planes at one pixel per cell, then a mask of
    # the glyphs' set pixels at full size chooses between them.
    colours = {a: colours_of(a, blink) for a in set(attrs)}
    fg_plane = bytes(colours[a][0] for a in attrs)
    bg_plane = bytes(colours[a][1] for a in attrs)
    width, height = columns * CELL_W, rows * CELL_H
    palette = _rgb_palette(range(16))

    def plane(data: bytes) -> Image.Image:
        image = Image.frombytes("P", (columns, rows), data)
        image.putpalette(palette)
        return image.resize((width, height), Image.Resampling.NEAREST)

    lines = _font_lines()
    glyph_rows = []
    for r in range(rows):
        row_chars = chars[r * columns : (r + 1) * columns]
        glyph_rows.extend(row_chars.translate(lines[line]) for line in range(CELL_H))
    glyphs = Image.frombytes("1", (width, height), b"".join(glyph_rows))
    image = Image.composite(plane(fg_plane), plane(bg_plane), glyphs).convert("RGB")

    draw = ImageDraw.Draw(image)
    for i, a in enumerate(attrs):
        fg, _bg, underline = colours[a]
        if underline:
            x, y = (i % columns) * CELL_W, (i // columns) * CELL_H
            draw.rectangle((x, y + CELL_H - 1, x + CELL_W - 1, y + CELL_H - 1), fill=COLOURS[fg])
    _draw_cursor(draw, state, attrs, columns, rows, region // 2, colours)
    if width != WIDTH:
        image = image.resize((WIDTH, height), Image.Resampling.NEAREST)
    return image


def _draw_cursor(draw, state, attrs, columns, rows, wrap, colours) -> None:
    """The hardware cursor: scan lines cursor_start..cursor_end of the
    CRTC's cell (R9 + 1 lines), scaled to the 16-line cell, in the
    foreground colour of the character under it."""
    crtc = state["crtc"]
    position = cursor_position(state, columns, rows, wrap)
    if position is None:
        return
    first, last = state["cursor_start"], state["cursor_end"]
    cell_lines = (crtc[9] & 0x1F) + 1
    if crtc[9] == 0 and crtc[0] == 0:
        cell_lines = 14 if state["frame_buffer"] == MDA_TEXT else 8  # not programmed: BIOS cell
    if first >= cell_lines:
        return
    last = min(last, cell_lines - 1)
    top = first * CELL_H // cell_lines
    # At least one pixel line: a cell taller than 16 lines (R9 >= 16)
    # scales a one-line cursor to less than one.
    bottom = max(top, (last + 1) * CELL_H // cell_lines - 1)
    x, y = (position % columns) * CELL_W, (position // columns) * CELL_H
    fg = colours[attrs[position]][0]
    draw.rectangle((x, y + top, x + CELL_W - 1, y + bottom), fill=COLOURS[fg])
