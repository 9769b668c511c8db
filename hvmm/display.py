"""What the display adapter shows, read from the video hardware state
(``cpu.video_state()``) and the frame buffers in guest RAM.

One reading of the hardware for every front end: the screenshot renderer,
the terminal console, ``Machine.screen_text()`` and the headless script's
``--wait`` all see the same screen.

    from hvmm.display import screen_mode, read_screen
    screen_mode(cpu.video_state()).kind     # "text", "mono", "cga320", ...
    screen = read_screen(cpu)               # a TextScreen (text modes)
    screen.lines()                          # its characters, one str a row

The mode is chosen as the hardware would show it, in this order:

1. VGA attribute mode control (register 10h) with bit 0 (graphics) and
   bit 6 (8-bit colour) set: mode 13h, 320x200 in 256 colours at A0000.
2. Frame buffer at B0000 (an MDA, or a VGA whose miscellaneous output bit
   0 is clear): 80-column monochrome text with MDA attributes.
3. CGA mode control (3D8h) bit 1: 640x200 two-colour graphics (bit 4) or
   320x200 four-colour graphics.
4. Otherwise CGA text, 40 or 80 columns (3D8h bit 0).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

CGA_TEXT = 0xB8000
MDA_TEXT = 0xB0000
VGA_GRAPHICS = 0xA0000
CGA_MEMORY = 0x4000            # the CGA's 16 KiB, which the CRTC's addresses wrap in
MDA_MEMORY = 0x1000            # the MDA's 4 KiB
VGA_MONO_MEMORY = 0x8000       # B0000-B7FFF on a VGA in mono mode
VGA_COLOR_MEMORY = 0x8000      # B8000-BFFFF on a VGA in colour text (Linux's vgacon scrolls in it)
BDA_VIDEO_MODE = 0x449         # the BIOS's mode number (for messages only)

# CGA mode control (3D8h) bits.
MODE_HIRES = 0x01
MODE_GRAPHICS = 0x02
MODE_BW = 0x04
MODE_VIDEO = 0x08
MODE_640 = 0x10
MODE_BLINK = 0x20              # attribute bit 7 blinks (else: bright background)

# VGA attribute mode control (attribute register 10h) bits.
ATTR_GRAPHICS = 0x01
ATTR_8BIT = 0x40

#: The 16 text / CGA colours (RGBI as a VGA's default palette shows them:
#: colour 6 is brown, not dark yellow).
COLOURS = (
    (0x00, 0x00, 0x00), (0x00, 0x00, 0xAA), (0x00, 0xAA, 0x00), (0x00, 0xAA, 0xAA),
    (0xAA, 0x00, 0x00), (0xAA, 0x00, 0xAA), (0xAA, 0x55, 0x00), (0xAA, 0xAA, 0xAA),
    (0x55, 0x55, 0x55), (0x55, 0x55, 0xFF), (0x55, 0xFF, 0x55), (0x55, 0xFF, 0xFF),
    (0xFF, 0x55, 0x55), (0xFF, 0x55, 0xFF), (0xFF, 0xFF, 0x55), (0xFF, 0xFF, 0xFF),
)

#: Code page 437 as the PC's character ROM draws it (bytes.decode("cp437")
#: gives control characters for 00h-1Fh and 7Fh, where the ROM has glyphs;
#: 00h and FFh are blank).
CP437 = (tuple(" ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼")
         + tuple(bytes(range(0x20, 0x7F)).decode("ascii")) + ("⌂",)
         + tuple(bytes(range(0x80, 0xFF)).decode("cp437")) + ("\u00a0",))
assert len(CP437) == 256
# The table for codecs.charmap_decode (C speed: lines() runs on every
# --wait poll).
_CP437_MAP = "".join(CP437)


@dataclass(frozen=True)
class ScreenMode:
    """What the screen shows: ``kind`` is "text", "mono", "cga320", "cga640"
    or "vga256"; ``width`` x ``height`` is columns x rows for text, pixels
    for graphics."""

    kind: str
    width: int
    height: int
    enabled: bool = True

    @property
    def text(self) -> bool:
        return self.kind in ("text", "mono")

    @property
    def name(self) -> str:
        names = {
            "text": f"{self.width}x{self.height} colour text",
            "mono": f"{self.width}x{self.height} monochrome text",
            "cga320": "320x200 4-colour CGA graphics",
            "cga640": "640x200 2-colour CGA graphics",
            "vga256": "320x200 256-colour VGA graphics (mode 13h)",
        }
        return names[self.kind] + ("" if self.enabled else ", video off")


def screen_mode(state: dict) -> ScreenMode:
    """The mode a ``cpu.video_state()`` dict shows (see the module doc)."""
    vga = state.get("vga")
    mode = state["mode_control"]
    if vga is not None and vga["attr"][0x10] & (ATTR_GRAPHICS | ATTR_8BIT) == ATTR_GRAPHICS | ATTR_8BIT:
        return ScreenMode("vga256", 320, 200)
    if state["frame_buffer"] == MDA_TEXT:
        # A VGA in mono mode leaves the CGA's mode control as it was: only
        # an MDA's own 3B8h turns its video off.
        return ScreenMode("mono", 80, text_rows(state), vga is not None or bool(mode & MODE_VIDEO))
    enabled = bool(mode & MODE_VIDEO)
    if mode & MODE_GRAPHICS:
        if mode & MODE_640:
            return ScreenMode("cga640", 640, 200, enabled)
        return ScreenMode("cga320", 320, 200, enabled)
    return ScreenMode("text", 80 if mode & MODE_HIRES else 40, text_rows(state), enabled)


def text_rows(state: dict) -> int:
    """Rows of text: CRTC R6 (rows displayed) when the guest has programmed
    a plausible value; 25 after reset (R6 = 0)."""
    rows = state["crtc"][6]
    return rows if 1 <= rows <= 60 else 25


def read_wrapped(memory, base: int, region: int, offset: int, size: int) -> bytes:
    """``size`` bytes from ``offset`` in the ``region`` bytes at ``base``,
    wrapping at its end as the CRTC's address counter does (zeros past the
    end of guest RAM)."""
    offset %= region
    out = bytearray()
    while len(out) < size:          # only the bytes shown (--wait reads a screen per slice)
        n = min(size - len(out), region - offset)
        out += bytes(memory[base + offset : base + offset + n]).ljust(n, b"\0")
        offset = 0
    return bytes(out)


@dataclass(frozen=True)
class TextScreen:
    """One frame of a text mode: ``cells`` is the character/attribute bytes
    of ``columns`` x ``rows`` cells in display order; ``cursor`` the (row,
    column) of a visible cursor or None.  In a graphics mode ``cells`` is
    empty and ``notice`` says which mode it is."""

    columns: int
    rows: int
    cells: bytes
    cursor: tuple[int, int] | None = None
    blink: bool = True          # attribute bit 7 blinks (else bright background)
    mono: bool = False          # MDA attributes
    notice: str | None = None

    def lines(self) -> list[str]:
        """The characters, one string of ``columns`` per row (none in a
        graphics mode)."""
        chars = codecs.charmap_decode(self.cells[0::2], "strict", _CP437_MAP)[0]
        return [chars[i : i + self.columns] for i in range(0, len(chars), self.columns)]


def graphics_notice(mode: ScreenMode, bios_mode: int) -> str:
    size = "640x200" if mode.kind == "cga640" else "320x200"
    return f"graphics mode {bios_mode:X}h ({size}): use --screenshot"


def text_memory(state: dict, mode: ScreenMode) -> tuple[int, int]:
    """(base address, size) of the RAM a text mode's CRTC addresses wrap in."""
    if mode.kind == "mono":
        return MDA_TEXT, MDA_MEMORY if state.get("vga") is None else VGA_MONO_MEMORY
    return CGA_TEXT, CGA_MEMORY if state.get("vga") is None else VGA_COLOR_MEMORY


def cursor_position(state: dict, columns: int, rows: int, wrap: int) -> int | None:
    """The cell index of the hardware cursor, or None when it is off (CRTC
    R10 bits 5-6 = 01, or a start line below the end line) or off screen.
    ``wrap``: the adapter's text memory in cells."""
    if (state["crtc"][10] >> 5) & 3 == 1 or state["cursor_start"] > state["cursor_end"]:
        return None
    position = (state["cursor_offset"] - state["start_address"]) % wrap
    return position if position < columns * rows else None


def read_screen(cpu) -> TextScreen:
    """A snapshot of the text the adapter shows: from its frame buffer at
    the CRTC start address (wrapping in the adapter's memory), with the
    hardware cursor."""
    state = cpu.video_state()
    mode = screen_mode(state)
    if not mode.text:
        return TextScreen(80, 25, b"", None,
                          notice=graphics_notice(mode, cpu.memory[BDA_VIDEO_MODE]))
    columns, rows = mode.width, mode.height
    base, region = text_memory(state, mode)
    cells = read_wrapped(cpu.memory, base, region, 2 * state["start_address"], 2 * columns * rows)
    at = cursor_position(state, columns, rows, region // 2)
    return TextScreen(columns, rows, cells, None if at is None else divmod(at, columns),
                      blink=bool(state["mode_control"] & MODE_BLINK), mono=mode.kind == "mono")
