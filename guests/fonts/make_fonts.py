"""Build hvmm's code page 437 bitmap fonts from the X11 misc-fixed fonts.

    python guests/fonts/make_fonts.py [X11 misc font directory]

Writes hvmm/firmware/fonts/cp437-8x16.bin (256 glyphs x 16 rows) and
cp437-8x8.bin (256 x 8 rows): one byte per row, bit 7 the leftmost pixel,
the layout of a VGA ROM font. The BIOS includes them (INT 10h text in
graphics modes, AX=1130h) and the screenshot renderer draws text with them.

Sources: the misc-fixed 8x13 and 5x8 fonts ("Public domain font. Share and
enjoy.", X.Org font-misc-misc; Debian package xfonts-base). Letters and
symbols come from those fonts, placed on the VGA cell's baseline. The box
drawing, shade and block characters (B0h-DFh) are drawn here instead, so
that lines meet across cells as they do on a PC screen. The outputs are
committed: building hvmm does not need this script or the X11 fonts.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

from PIL.PcfFontFile import PcfFontFile

HERE = Path(__file__).resolve().parent
OUT = HERE.parent.parent / "hvmm" / "firmware" / "fonts"

# Code page 437 as the screen shows it: 01h-1Fh and 7Fh are symbols there.
CP437 = ("\0☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼"
         + bytes(range(0x20, 0x7F)).decode("ascii") + "⌂"
         + bytes(range(0x80, 0x100)).decode("cp437"))
assert len(CP437) == 256


def load_glyphs(path: Path) -> tuple[dict, int]:
    """Unicode character -> (left, top-below-baseline, bitmap rows); ascent."""
    # PcfFontFile maps 256 byte values through a codec; ask it for every
    # code point we need by loading it once per 256-character page.
    with gzip.open(path) as fp:
        data = fp.read()
    import io
    glyphs = {}
    pages = {ord(ch) >> 8 for ch in CP437}
    for page in pages:
        import codecs
        name = f"hvmm_page_{page:02x}"
        table = "".join(chr((page << 8) | i) for i in range(256))
        codecs.register(lambda n, t=table, want=name: codecs.CodecInfo(
            name=want, encode=None,
            decode=lambda b, errors="strict", t=t: ("".join(t[x] for x in b), len(b)))
            if n == want else None)
        font = PcfFontFile(io.BytesIO(data), name)
        for i, g in enumerate(font.glyph):
            if g is None:
                continue
            (_, _), (x0, y0, x1, y1), _, im = g
            rows = []
            w, h = im.size
            for y in range(h):
                bits = 0
                for x in range(w):
                    if im.getpixel((x, y)):
                        bits |= 0x80 >> (x0 + x)
                rows.append(bits)
            glyphs[chr((page << 8) | i)] = (y0, rows)
    # The tallest glyph's top is the font's ascent (the files carry no
    # FONT_ASCENT property).
    return glyphs, max(-y0 for y0, _ in glyphs.values())


def box_glyph(ch: str, height: int) -> list[int] | None:
    """The shade, block and box-drawing characters, drawn to the cell edges."""
    o = ord(ch)
    if ch == "░":
        return [(0x22, 0x88)[y & 1] for y in range(height)]
    if ch == "▒":
        return [(0x55, 0xAA)[y & 1] for y in range(height)]
    if ch == "▓":
        return [(0xDD, 0x77)[y & 1] for y in range(height)]
    if ch == "█":
        return [0xFF] * height
    if ch == "▄":
        return [0] * (height // 2) + [0xFF] * (height - height // 2)
    if ch == "▀":
        return [0xFF] * (height // 2) + [0] * (height - height // 2)
    if ch == "▌":
        return [0xF0] * height
    if ch == "▐":
        return [0x0F] * height
    if not 0x2500 <= o <= 0x257F:
        return None
    import unicodedata
    name = unicodedata.name(ch)  # e.g. BOX DRAWINGS DOUBLE DOWN AND LEFT
    words = name.split()[2:]
    # Weight per direction: 0 none, 1 light (single), 2 double.
    arms = {"UP": 0, "DOWN": 0, "LEFT": 0, "RIGHT": 0}
    if words[:2] in (["LIGHT", "HORIZONTAL"], ["DOUBLE", "HORIZONTAL"]) and len(words) == 2:
        w = 1 if words[0] == "LIGHT" else 2
        arms.update(LEFT=w, RIGHT=w)
    elif words[:2] in (["LIGHT", "VERTICAL"], ["DOUBLE", "VERTICAL"]) and len(words) == 2:
        w = 1 if words[0] == "LIGHT" else 2
        arms.update(UP=w, DOWN=w)
    else:
        # "[LIGHT|DOUBLE|<a> <b> AND <c> <d>] ...": walk the words, a
        # weight applies to the directions that follow it.
        weight = 1
        for word in words:
            if word in ("LIGHT", "SINGLE"):
                weight = 1
            elif word == "DOUBLE":
                weight = 2
            elif word == "HORIZONTAL":
                arms["LEFT"] = arms["RIGHT"] = weight
            elif word == "VERTICAL":
                arms["UP"] = arms["DOWN"] = weight
            elif word in arms:
                arms[word] = weight
    cx = 3                      # the vertical stroke's column (VGA: 3)
    cy = height // 2 - 1        # the horizontal stroke's row
    grid = [[0] * 8 for _ in range(height)]

    def hline(y, x0, x1):
        for x in range(x0, x1 + 1):
            grid[y][x] = 1

    def vline(x, y0, y1):
        for y in range(y0, y1 + 1):
            grid[y][x] = 1

    # Double strokes sit one pixel either side of the single stroke.
    vx = {1: [cx], 2: [cx - 1, cx + 1]}
    hy = {1: [cy], 2: [cy - 1, cy + 1]}
    vert_double = 2 in (arms["UP"], arms["DOWN"])
    horiz_double = 2 in (arms["LEFT"], arms["RIGHT"])
    for d in ("UP", "DOWN"):
        w = arms[d]
        if not w:
            continue
        for i, x in enumerate(vx[w]):
            if d == "UP":
                end = cy
                if horiz_double:
                    # meet the double horizontal: the near line stops short
                    end = hy[2][0] if (w == 1 or arms["LEFT" if i == 0 else "RIGHT"]) else hy[2][1]
                elif w == 2 and (arms["LEFT"] if i == 0 else arms["RIGHT"]):
                    end = cy
                vline(x, 0, end)
            else:
                end = cy
                if horiz_double:
                    end = hy[2][1] if (w == 1 or arms["LEFT" if i == 0 else "RIGHT"]) else hy[2][0]
                vline(x, end, height - 1)
    for d in ("LEFT", "RIGHT"):
        w = arms[d]
        if not w:
            continue
        for i, y in enumerate(hy[w]):
            if d == "LEFT":
                end = cx
                if vert_double:
                    end = vx[2][0] if (w == 1 or arms["UP" if i == 0 else "DOWN"]) else vx[2][1]
                hline(y, 0, end)
            else:
                end = cx
                if vert_double:
                    end = vx[2][1] if (w == 1 or arms["UP" if i == 0 else "DOWN"]) else vx[2][0]
                hline(y, end, 7)
    return [sum(0x80 >> x for x in range(8) if row[x]) for row in grid]


def build(glyphs: dict, ascent: int, height: int, top: int) -> bytes:
    """256 glyphs of `height` rows; the source font's ascent line at row
    `top` of the cell."""
    out = bytearray()
    missing = []
    for ch in CP437:
        rows = box_glyph(ch, height)
        if rows is None:
            rows = [0] * height
            if ch not in ("\0", " ", "\xa0"):
                if ch not in glyphs:
                    missing.append(ch)
                else:
                    y0, bitmap = glyphs[ch]
                    first = top + ascent + y0   # y0 is negative: above baseline
                    for i, bits in enumerate(bitmap):
                        if 0 <= first + i < height:
                            rows[first + i] = bits
        out += bytes(rows)
    if missing:
        print(f"no glyph for {''.join(missing)!r}", file=sys.stderr)
    return bytes(out)


def shifted(glyphs: dict, dx: int) -> dict:
    return {ch: (y0, [b >> dx for b in rows]) for ch, (y0, rows) in glyphs.items()}


def main() -> None:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/X11/misc")
    g13, a13 = load_glyphs(src / "8x13.pcf.gz")
    g8, a8 = load_glyphs(src / "5x8.pcf.gz")
    OUT.mkdir(parents=True, exist_ok=True)
    # 8x13 in the 8x16 cell: two blank rows above, one below.
    (OUT / "cp437-8x16.bin").write_bytes(build(g13, a13, 16, 2))
    # 5x8 centred in the 8x8 cell.
    (OUT / "cp437-8x8.bin").write_bytes(build(shifted(g8, 1), a8, 8, 0))
    print(f"wrote {OUT}/cp437-8x16.bin and cp437-8x8.bin")


if __name__ == "__main__":
    main()
