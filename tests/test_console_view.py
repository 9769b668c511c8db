"""The console on terminals smaller than the guest's screen (the common
80x24), a terminal resize (SIGWINCH), and the bound on the port 0xE9 output
it keeps while it draws (hvmm.frontends.ansi, hvmm.frontends.console)."""

import re

from hvmm.display import TextScreen
from hvmm.frontends.ansi import ScreenRenderer
from terminal_kit import ESC, PtyHvmm, blank, put, screen_of


def rows_addressed(out: str) -> set:
    return {int(m.group(1)) for m in re.finditer(r"\x1b\[(\d+);\d+H", out)}


def boot_sector(code: bytes) -> bytes:
    return code.ljust(510, b"\0") + b"\x55\xaa"



def test_a_24_row_terminal_shows_the_cursor_row():
    """25 rows on a 24-row terminal: the view scrolls to keep the cursor's
    row on it, and stays put while the cursor stays in it or is hidden."""
    r = ScreenRenderer(size=(24, 80))
    cells = blank()
    put(cells, 80, 0, 0, "top", 0x07)
    put(cells, 80, 24, 0, "C:\\>", 0x07)
    out = r.render(TextScreen(80, 25, bytes(cells), cursor=(24, 3)))
    assert max(rows_addressed(out)) <= 24
    shown = screen_of(out.encode(), rows=24)
    assert shown[23] == "C:\\>" and "top" not in shown
    assert out.endswith(f"{ESC}[24;4H{ESC}[?25h")
    # The cursor hidden, then on row 5: the view stays (rows 2-25).
    assert f"{ESC}[2J" not in r.render(TextScreen(80, 25, bytes(cells), cursor=None))
    out = r.render(TextScreen(80, 25, bytes(cells), cursor=(5, 0)))
    assert out == f"{ESC}[5;1H{ESC}[?25h"
    # The cursor on row 0: the view scrolls back up, drawn whole.
    out = r.render(TextScreen(80, 25, bytes(cells), cursor=(0, 3)))
    shown = screen_of(out.encode(), rows=24)
    assert f"{ESC}[2J" in out and shown[0] == "top" and max(rows_addressed(out)) <= 24


def test_a_narrow_terminal_and_a_resize():
    r = ScreenRenderer(size=(25, 40))
    cells = blank()
    put(cells, 80, 3, 70, "far", 0x07)
    out = r.render(TextScreen(80, 25, bytes(cells), cursor=(3, 73)))
    columns = [int(m.group(1)) for m in re.finditer(r"\x1b\[\d+;(\d+)H", out)]
    assert max(columns) <= 40
    assert screen_of(out.encode(), columns=40)[3].endswith("far")
    r.resize((25, 80))
    out = r.render(TextScreen(80, 25, bytes(cells), cursor=(3, 73)))
    assert f"{ESC}[2J" in out and screen_of(out.encode())[3].endswith("far")
    assert out.endswith(f"{ESC}[4;74H{ESC}[?25h")


def test_output_tail_keeps_the_last_bytes_and_counts_the_rest():
    from hvmm.frontends.console import OutputTail

    tail = OutputTail(limit=1000)
    data = bytes(range(256)) * 40                   # 10240 bytes, in pieces
    for i in range(0, len(data), 300):
        tail.write(data[i : i + 300])
    assert tail.getvalue() == data[-1000:]
    assert tail.dropped == len(data) - 1000 and tail.total == len(data)
    small = OutputTail(limit=1000)
    small.write(b"abc")
    assert small.getvalue() == b"abc" and small.dropped == 0


# Puts 'T' at row 0, then 'B' at row 24 (INT 10h AH=0Eh, 02h) and idles:
#   mov ax, 0E54h; int 10h; mov ah, 02h; xor bx, bx; mov dx, 1800h; int 10h
#   mov ax, 0E42h; int 10h; sti; idle: hlt; jmp idle
LAST_ROW_GUEST = bytes.fromhex("b8540ecd10b40231dbba0018cd10b8420ecd10fbf4ebfd")


def test_console_on_a_24_row_terminal_and_a_resize(tmp_path, write_floppy):
    img = write_floppy(tmp_path / "rows.img", boot_sector(LAST_ROW_GUEST))
    p = PtyHvmm("boot", img, cwd=tmp_path, size=(24, 80))
    try:
        assert p._until(lambda: screen_of(p.out, rows=24)[23].startswith("B"), 15), \
            screen_of(p.out, rows=24)
        assert b"\x1b[25;" not in p.out                 # nothing drawn below the terminal
        mark = len(p.out)
        p.resize(30, 100)
        assert p._until(lambda: screen_of(p.out[mark:], 100, 30)[24].startswith("B"), 15)
        assert "T" in screen_of(p.out[mark:], 100, 30)[:24]       # after the BIOS banner
        p.send(b"\x1d")
        assert p.wait() == 0
    finally:
        p.close()


# Writes 3 MiB (96 times the 32 KiB at 0000:0000) to port 0xE9, then 0 to
# port 0xF4 (real mode: a 16-bit offset may not pass the segment limit):
#   cld; xor ax, ax; mov ds, ax; mov dx, 0E9h; mov bx, 96
#   l: xor si, si; mov cx, 8000h; rep outsb; dec bx; jnz l
#   mov al, 0; out 0F4h, al
FLOOD_GUEST = bytes.fromhex("fc31c08ed8bae900bb600031f6b90080f36e4b75f6b000e6f4")


def test_console_port_e9_output_is_bounded(tmp_path, write_floppy):
    """The console keeps the last MiB of port 0xE9 output and says how much
    of the beginning it dropped."""
    img = write_floppy(tmp_path / "flood.img", boot_sector(FLOOD_GUEST))
    p = PtyHvmm("boot", img, cwd=tmp_path)
    try:
        assert p.wait(60) == 1
        p.read_until(b"bytes were dropped", timeout=10)
    finally:
        p.close()
    assert b"port 0xE9 output: the first 2097152 bytes were dropped" in p.out
