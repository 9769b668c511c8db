"""The interactive console (hvmm.frontends.console), --serial stdio,
--realtime and the headless progress bar.

The rendering and key-translation tests need no terminal; the end-to-end
tests run `python -m hvmm boot` in a pseudo-terminal (the pty module) with
the bundled key_echo guest (guests/key_echo.asm), and FreeDOS when its image
is there."""

import os
import re
import select
import signal
import subprocess
import sys
import time
from importlib.resources import files

import pytest

from hvmm.frontends.console import (
    CP437,
    LEAVE_SCREEN,
    QUIT,
    SAVE,
    KeyDecoder,
    ScreenRenderer,
    TextScreen,
    named_key,
    read_screen,
    with_modifiers,
)
from hvmm.display import ScreenMode, graphics_notice
from hvmm.keyboard import key_bytes
from hvmm.status import ExitStatus
from terminal_kit import ESC, PtyHvmm, blank, put, screen_of

import hvmm

# The subprocesses import this checkout's hvmm.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(hvmm.__file__)))
PROMPT = "A:\\>"

def sgr(fg, bg, extra=""):
    return f"{ESC}[0{extra};38;2;{fg[0]};{fg[1]};{fg[2]};48;2;{bg[0]};{bg[1]};{bg[2]}m"


YELLOW, BLUE, BROWN, BLACK = (255, 255, 85), (0, 0, 170), (170, 85, 0), (0, 0, 0)
GREY, WHITE, DARK_GREY = (170, 170, 170), (255, 255, 255), (85, 85, 85)


# ---- rendering ----------------------------------------------------------------


def test_first_frame_has_exact_cga_colours_and_cp437_glyphs():
    cells = blank()
    put(cells, 80, 0, 0, "Hi", 0x1E)                 # yellow on blue
    put(cells, 80, 1, 5, "B", 0x06)                  # brown on black
    put(cells, 80, 2, 0, "\u2554\u2550\u2557", 0x0F)  # CP437 C9 CD BB, white
    cells[3 * 160 : 3 * 160 + 2] = bytes([0x01, 0x07])  # the smiley glyph
    out = ScreenRenderer().render(TextScreen(80, 25, bytes(cells), cursor=(4, 2)))
    assert out.startswith(f"{ESC}[0m{ESC}[2J")
    assert sgr(YELLOW, BLUE) + "Hi" in out
    assert sgr(BROWN, BLACK) + "B" in out
    assert sgr(WHITE, BLACK) + "╔═╗" in out
    assert "☺" in out and CP437[0x01] == "☺" and CP437[0xB0] == "░"
    # the hardware cursor, shown, at row 5 column 3 (1-based), last
    assert out.endswith(f"{ESC}[5;3H{ESC}[?25h")


def test_blink_bit_blinks_or_brightens_the_background():
    cells = blank(40, 25)
    put(cells, 40, 0, 0, "X", 0x9F)                  # bit 7 set, background 1
    blinking = ScreenRenderer().render(TextScreen(40, 25, bytes(cells), blink=True))
    assert sgr(WHITE, BLUE, ";5") + "X" in blinking
    bright = ScreenRenderer().render(TextScreen(40, 25, bytes(cells), blink=False))
    assert sgr(WHITE, (85, 85, 255)) + "X" in bright and ";5;" not in bright


def test_second_frame_redraws_only_the_changed_cell():
    r = ScreenRenderer()
    cells = blank()
    put(cells, 80, 0, 0, "hello", 0x07)
    r.render(TextScreen(80, 25, bytes(cells), cursor=(0, 5)))
    assert r.render(TextScreen(80, 25, bytes(cells), cursor=(0, 5))) == ""
    put(cells, 80, 10, 20, "Z", 0x4E)                # yellow on red
    out = r.render(TextScreen(80, 25, bytes(cells), cursor=(0, 5)))
    assert out == (f"{ESC}[11;21H" + sgr(YELLOW, (170, 0, 0)) + "Z"
                   + f"{ESC}[0m{ESC}[1;6H{ESC}[?25h")
    # only the cursor moved (and then hid): no cells
    assert r.render(TextScreen(80, 25, bytes(cells), cursor=(3, 0))) == f"{ESC}[4;1H{ESC}[?25h"
    assert r.render(TextScreen(80, 25, bytes(cells), cursor=None)) == f"{ESC}[?25l"


def test_nearby_changes_are_one_run_and_a_resize_redraws_all():
    r = ScreenRenderer()
    cells = blank()
    r.render(TextScreen(80, 25, bytes(cells)))
    put(cells, 80, 2, 0, "a", 0x07)
    put(cells, 80, 2, 3, "b", 0x07)
    put(cells, 80, 2, 40, "c", 0x07)
    out = r.render(TextScreen(80, 25, bytes(cells)))
    assert out.count(f"{ESC}[3;") == 2                # a..b one run, c another
    assert "a  b" in out and f"{ESC}[3;41H" in out
    out = r.render(TextScreen(40, 25, bytes(blank(40))))
    assert f"{ESC}[2J" in out and out.count(" ") == 40 * 25


def test_graphics_mode_notice():
    r = ScreenRenderer()
    note = graphics_notice(ScreenMode("cga320", 320, 200), 4)
    assert note.startswith("graphics mode 4h (320x200): use --screenshot")
    out = r.render(TextScreen(80, 25, b"", notice=note))
    assert "graphics mode 4h (320x200)" in out and f"{ESC}[2J" in out
    assert r.render(TextScreen(80, 25, b"", notice=note)) == ""
    assert "640x200" in graphics_notice(ScreenMode("cga640", 640, 200), 6)


class FakeVideoCpu:
    def __init__(self, **video):
        self.memory = bytearray(1 << 20)
        self.video = {"crtc": [0] * 18, "mode_control": 0x29, "color_select": 0,
                      "cursor_offset": 0, "start_address": 0, "cursor_start": 6,
                      "cursor_end": 7, "frame_buffer": 0xB8000}
        self.video.update(video)

    def video_state(self):
        return dict(self.video)



def test_read_screen_on_a_vga_wraps_at_32k():
    """A VGA's colour text window is B8000-BFFFF: Linux's vgacon scrolls by
    moving the start address through all 32 KiB before it copies back, so
    a screen above 16 KiB must be read there, not wrapped to B8000."""
    cpu = FakeVideoCpu(start_address=0x2800, vga={"attr": [0] * 0x15})
    cpu.memory[0xB8000 + 0x5000 : 0xB8000 + 0x5002] = b"L\x07"
    cpu.memory[0xB8000 + 0x1000 : 0xB8000 + 0x1002] = b"o\x07"   # what a 16 KiB wrap shows
    assert read_screen(cpu).cells[:2] == b"L\x07"
    cpu.video["start_address"] = 0x4000 - 1                       # the last cell, then B8000
    cpu.memory[0xB8000 + 0x7FFE : 0xB8000 + 0x8000] = b"E\x07"
    cpu.memory[0xB8000 : 0xB8002] = b"S\x07"
    assert read_screen(cpu).cells[:4] == b"E\x07S\x07"

def test_read_screen_follows_the_crtc():
    cpu = FakeVideoCpu(start_address=80, cursor_offset=80 + 2 * 80 + 7)
    cpu.memory[0xB8000 + 160 : 0xB8000 + 162] = b"S\x07"   # first cell shown
    cpu.memory[0xB8000 + 0x3FFE : 0xB8000 + 0x4000] = b"W\x07"
    s = read_screen(cpu)
    assert (s.columns, s.rows, s.cursor, s.blink, s.notice) == (80, 25, (2, 7), True, None)
    assert s.cells[:2] == b"S\x07"
    # the display wraps at the end of the CGA's 16 KiB
    cpu.video["start_address"] = 0x2000 - 1
    assert read_screen(cpu).cells[:4] == b"W\x07\x00\x00"
    # 40 columns (mode control bit 0 clear); cursor hidden (R10 = 0x20)
    cpu.video.update(mode_control=0x28, start_address=0, cursor_offset=41)
    assert (read_screen(cpu).columns, read_screen(cpu).cursor) == (40, (1, 1))
    cpu.video["crtc"][10] = 0x20
    assert read_screen(cpu).cursor is None
    # graphics (bit 1): the BIOS mode number from 0040:0049
    cpu.video["mode_control"] = 0x0A
    cpu.memory[0x449] = 4
    assert read_screen(cpu).notice.startswith("graphics mode 4")
    # MDA: B0000, always 80 columns
    cpu.video.update(mode_control=0x08, frame_buffer=0xB0000, cursor_offset=0)
    cpu.memory[0xB0000:0xB0002] = b"M\x70"
    s = read_screen(cpu)
    assert s.mono and s.columns == 80 and s.cells[:2] == b"M\x70"
    assert sgr(BLACK, GREY) + "M" in ScreenRenderer().render(s)   # reverse video


# ---- keys -----------------------------------------------------------------------


def E0(code):
    return bytes([0xE0, code, 0xE0, 0xF0, code])


@pytest.mark.parametrize("seq, want", [
    (b"a", key_bytes("a")),
    (b"A", bytes([0x12, 0x1C, 0xF0, 0x1C, 0xF0, 0x12])),
    (b"\r", bytes([0x5A, 0xF0, 0x5A])),
    (b"\x7f", bytes([0x66, 0xF0, 0x66])),
    (b"\x08", bytes([0x66, 0xF0, 0x66])),
    (b"\t", bytes([0x0D, 0xF0, 0x0D])),
    (b"\x1b[A", E0(0x75)), (b"\x1b[B", E0(0x72)), (b"\x1b[C", E0(0x74)), (b"\x1b[D", E0(0x6B)),
    (b"\x1bOA", E0(0x75)),
    (b"\x1b[H", E0(0x6C)), (b"\x1b[1~", E0(0x6C)), (b"\x1b[F", E0(0x69)), (b"\x1b[4~", E0(0x69)),
    (b"\x1b[2~", E0(0x70)), (b"\x1b[3~", E0(0x71)), (b"\x1b[5~", E0(0x7D)), (b"\x1b[6~", E0(0x7A)),
    (b"\x1bOP", bytes([0x05, 0xF0, 0x05])), (b"\x1b[[A", bytes([0x05, 0xF0, 0x05])),
    (b"\x1b[15~", bytes([0x03, 0xF0, 0x03])), (b"\x1b[21~", bytes([0x09, 0xF0, 0x09])),
    (b"\x1b[24~", bytes([0x07, 0xF0, 0x07])),
    (b"\x03", bytes([0x14, 0x21, 0xF0, 0x21, 0xF0, 0x14])),          # Ctrl-C
    (b"\x1a", bytes([0x14, 0x1A, 0xF0, 0x1A, 0xF0, 0x14])),          # Ctrl-Z
    (b"\x1b[1;5C", bytes([0x14]) + E0(0x74) + bytes([0xF0, 0x14])),  # Ctrl-Right
    (b"\x1bx", bytes([0x11, 0x22, 0xF0, 0x22, 0xF0, 0x11])),         # Alt-X
])
def test_key_decoder(seq, want):
    assert KeyDecoder().feed(seq) == [want]


def test_key_decoder_esc_timeout_split_sequences_and_quit():
    d = KeyDecoder(esc_timeout=0.05)
    assert d.feed(b"\x1b", now=1.0) == []              # ESC alone: wait
    assert d.flush(now=1.01) == []
    assert d.flush(now=1.06) == [key_bytes("\x1b")]  # then it is the Esc key
    assert d.feed(b"\x1b[", now=2.0) == [] and d.pending
    assert d.feed(b"1", now=2.001) == []
    assert d.feed(b"5~x", now=2.002) == [named_key("f5"), key_bytes("x")]
    assert d.feed(b"ab\x1dcd") == [key_bytes("a"), key_bytes("b"), QUIT,
                                   key_bytes("c"), key_bytes("d")]
    assert d.feed(b"a\x1cb") == [key_bytes("a"), SAVE, key_bytes("b")]   # Ctrl-\
    assert d.feed("é".encode()) == []                  # no key for it: dropped
    assert with_modifiers(b"K", shift=True) == b"\x12K\xf0\x12"


# ---- --serial stdio ------------------------------------------------------------------

SERIAL_ECHO = files("hvmm").joinpath("guests/serial_echo.bin")


def hvmm_pipe(*args, stdin, cwd, timeout=60):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "hvmm", *map(str, args)], input=stdin,
                          capture_output=True, cwd=cwd, env=env, timeout=timeout)


EXIT_BYE = (0x10 << 1) | 1


def test_exec_serial_stdio_echoes_upper_case(tmp_path):
    proc = hvmm_pipe("exec", SERIAL_ECHO, "--serial", "stdio",
                     stdin=b"hello, world\nq", cwd=tmp_path)
    assert proc.returncode == EXIT_BYE, proc.stderr
    assert proc.stdout == b"serial echo> HELLO, WORLD\n\r\nbye\r\n"


@pytest.mark.parametrize("mode", [["--headless"], []])
def test_boot_serial_stdio(write_floppy, tmp_path, mode):
    img = write_floppy(tmp_path / "echo.img", SERIAL_ECHO.read_bytes())
    proc = hvmm_pipe("boot", img, *mode, "--serial", "stdio", "--timeout", "30",
                     stdin=b"abc xyz\nq", cwd=tmp_path)
    assert proc.returncode == EXIT_BYE, proc.stderr
    assert proc.stdout == b"serial echo> ABC XYZ\n\r\nbye\r\n"
    assert b"exit status 33" in proc.stderr


def test_boot_headless_wait_matches_serial_output(write_floppy, tmp_path):
    img = write_floppy(tmp_path / "echo.img", SERIAL_ECHO.read_bytes())
    proc = hvmm_pipe("boot", img, "--headless", "--serial", "stdio", "--wait", "ECHO ME",
                     "--max-instructions", "50000000", stdin=b"echo me", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr     # the script is done: status 0
    assert proc.stdout == b"serial echo> ECHO ME"


# ---- the console in a pseudo-terminal ----------------------------------------------

KEY_ECHO = files("hvmm").joinpath("guests/key_echo.bin")


@pytest.fixture
def key_echo_img(write_floppy, tmp_path):
    return write_floppy(tmp_path / "keys.img", KEY_ECHO.read_bytes())


def test_console_shows_the_screen_takes_keys_and_leaves_with_ctrl_bracket(tmp_path,
                                                                         key_echo_img):
    p = PtyHvmm("boot", key_echo_img, cwd=tmp_path)
    try:
        assert p.read_until(b"key echo: type keys, Q quits"), p.out[-500:]
        assert p.out.startswith(b"\x1b[?1049h")            # the alternate screen
        assert sgr(YELLOW, BLUE).encode() + b"key echo" in p.out
        mark = len(p.out)
        p.send(b"hi\x1b[A\x1bOP\x03")                        # h i Up F1 Ctrl-C
        assert p.read_until_screen("hi<48><3B>^C"), screen_of(p.out)[:3]
        p.send(b"\x1d")                                      # Ctrl-]
        assert p.wait() == 0, p.out[-300:]
        p.read_until(b"never", timeout=0.2)                  # the rest of the output
        assert LEAVE_SCREEN.encode() in p.out[mark:]
    finally:
        p.close()


def test_console_exits_with_the_guests_status_and_restores_the_terminal(tmp_path,
                                                                       key_echo_img):
    p = PtyHvmm("boot", key_echo_img, cwd=tmp_path)
    try:
        assert p.read_until(b"Q quits")
        p.send(b"Q")
        assert p.wait() == (ord("Q") << 1 | 1) & 0xFF
        p.read_until(b"never", timeout=0.2)
        out = p.out
        # the screen left (cursor shown, cooked mode) before the message
        assert LEAVE_SCREEN.encode() in out
        assert out.index(LEAVE_SCREEN.encode()) < out.index(b"exit status 163")
    finally:
        p.close()


def test_console_restores_the_terminal_on_sigterm(tmp_path, key_echo_img):
    p = PtyHvmm("boot", key_echo_img, cwd=tmp_path)
    try:
        assert p.read_until(b"Q quits")
        os.kill(p.pid, signal.SIGTERM)
        assert p.wait() == ExitStatus.INTERRUPTED
        p.read_until(b"never", timeout=0.2)
        assert LEAVE_SCREEN.encode() in p.out and b"Traceback" not in p.out
    finally:
        p.close()


def test_console_ctrl_backslash_saves_the_state(tmp_path, key_echo_img, hvmm_cmd):
    """Ctrl-\\ writes the state (without --save-state: hvmm-N.hvmmstate,
    N the instruction count) and says so on the first row and, once the
    console has left, on stderr; the guest never sees the key. Loading the
    file in a headless run gives the screen as it was typed."""
    p = PtyHvmm("boot", key_echo_img, cwd=tmp_path)
    try:
        assert p.read_until(b"Q quits")
        p.send(b"ab")
        assert p.read_until_screen("ab"), screen_of(p.out)[:3]
        p.send(b"\x1c")                                      # Ctrl-\
        assert p.read_until(b" at instruction "), p.out[-300:]
        notice = re.search(rb"state saved to (hvmm-(\d+)\.hvmmstate) at instruction (\d+)",
                           p.out).groups()
        assert notice[1] == notice[2]
        p.send(b"c\x1d")                                     # c, then Ctrl-]
        assert p.wait() == 0, p.out[-300:]
        p.read_until(b"never", timeout=0.2)
        tail = p.out[p.out.index(LEAVE_SCREEN.encode()):]
        assert b"hvmm: state saved to " + notice[0] in tail
    finally:
        p.close()
    state = tmp_path / notice[0].decode()
    assert [f.name for f in tmp_path.glob("*.hvmmstate")] == [state.name]
    proc = hvmm_cmd("boot", key_echo_img, "--headless", "--load-state", state,
                    "--type", "x", "--sleep", "0.2", "--print-screen", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "abx" in proc.stdout                            # no c, no Ctrl-\ echoed


@pytest.mark.parametrize("mode", [["--headless"], []])
def test_serial_stdio_on_a_terminal_is_raw_and_ctrl_bracket_leaves(write_floppy, tmp_path, mode):
    img = write_floppy(tmp_path / "echo.img", SERIAL_ECHO.read_bytes())
    p = PtyHvmm("boot", img, *mode, "--serial", "stdio", cwd=tmp_path)
    try:
        assert p.read_until(b"serial echo> ")
        p.send(b"hi")          # no Enter: raw mode passes each byte at once
        assert p.read_until(b"serial echo> HI"), p.out
        assert b"hi" not in p.out                   # and the terminal does not echo
        p.send(b"\x1d")
        assert p.wait() == 0, p.out
        assert b"\x1b[?1049h" not in p.out          # no screen drawn
    finally:
        p.close()


def test_serial_stdio_restores_the_terminal_on_sigterm(write_floppy, tmp_path):
    import pty
    import termios

    img = write_floppy(tmp_path / "echo.img", SERIAL_ECHO.read_bytes())
    master, slave = pty.openpty()
    cooked = termios.tcgetattr(slave)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen([sys.executable, "-m", "hvmm", "boot", str(img), "--headless",
                             "--serial", "stdio"], stdin=slave, stdout=slave, stderr=slave,
                            cwd=tmp_path, env=env)
    try:
        out = b""
        deadline = time.monotonic() + 15
        while b"serial echo> " not in out and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                out += os.read(master, 4096)
        assert termios.tcgetattr(slave)[3] != cooked[3]     # raw: lflag changed
        proc.terminate()
        assert proc.wait(15) == 130
        assert termios.tcgetattr(slave) == cooked
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        os.close(slave)


def test_console_timeout_and_usage_errors(hvmm_cmd, tmp_path, key_echo_img):
    p = PtyHvmm("boot", key_echo_img, "--timeout", "1", "--type", "ok", "--print-screen",
                cwd=tmp_path)
    try:
        assert p.wait() == ExitStatus.TIMEOUT
        p.read_until(b"never", timeout=0.2)
        leave = p.out.index(LEAVE_SCREEN.encode())
        assert b"timed out after 1 s" in p.out[leave:]
        assert b"\r\nok" in p.out[leave:]                    # --print-screen, after leaving
    finally:
        p.close()
    proc = hvmm_cmd("boot", key_echo_img, "--wait", "x", cwd=tmp_path)
    assert proc.returncode == 2 and "--wait, --send and --sleep need --headless" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def test_console_freedos_ver(freedos, tmp_path):
    p = PtyHvmm("boot", freedos, cwd=tmp_path)
    try:
        assert p.read_until_screen(PROMPT, timeout=60), screen_of(p.out)
        mark = len(p.out)
        p.send(b"ver\r")
        assert p.read_until_screen("FreeCom version", timeout=20), screen_of(p.out)
        p.send(b"\x1d")
        assert p.wait() == 0
    finally:
        p.close()


# ---- the progress bar and the clock -----------------------------------------------------


def test_progress_bar_on_a_terminal_changes_nothing(no_traceback, hvmm_cmd, tmp_path, key_echo_img):
    args = ("boot", key_echo_img, "--headless", "--type", "abcQ",
            "--max-instructions", "50000000", "--stats")
    plain = hvmm_cmd(*args, cwd=tmp_path)
    no_traceback(plain)
    assert plain.returncode == 163, plain.stderr
    assert "/50.0M" not in plain.stderr       # no bar when stderr is not a terminal
    p = PtyHvmm(*args, cwd=tmp_path)
    try:
        assert p.wait(30) == 163
        p.read_until(b"never", timeout=0.2)
    finally:
        p.close()
    text = p.out.decode("utf-8", "replace")
    assert "/50.0M" in text                   # tqdm, scaled, out of N
    retired = re.compile(r"(\d+) instructions retired")
    assert retired.search(text).group(1) == retired.search(plain.stderr).group(1)
    # hvmm exec too
    bench = files("hvmm").joinpath("guests/bench.bin")
    p = PtyHvmm("exec", bench, "--max-instructions", "2000000", cwd=tmp_path)
    try:
        assert p.wait(30) == ExitStatus.LIMIT
        p.read_until(b"never", timeout=0.2)
    finally:
        p.close()
    assert b"/2.00M" in p.out and b"instr" in p.out


def virtual_seconds(stderr):
    m = re.search(r"virtual time ([\d.]+) (s|ms|us|ns)", stderr)
    assert m, stderr
    return float(m.group(1)) * {"s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[m.group(2)]


def test_realtime_flag(write_floppy, hvmm_cmd, tmp_path):
    # A guest idling in HLT (sti; hlt; jmp back) for 1 s of wall time: the
    # deterministic clock skips each idle stretch at once, so virtual time
    # races ahead; with --realtime it keeps to the host's clock.
    img = write_floppy(tmp_path / "idle.img",
                       bytes.fromhex("FBF4EBFD").ljust(510, b"\0") + b"\x55\xaa")
    args = ("boot", img, "--headless", "--timeout", "1", "--stats")
    proc = hvmm_cmd(*args, cwd=tmp_path)
    assert proc.returncode == ExitStatus.TIMEOUT, proc.stderr
    assert virtual_seconds(proc.stderr) > 10
    proc = hvmm_cmd(*args, "--realtime", cwd=tmp_path)
    assert proc.returncode == ExitStatus.TIMEOUT, proc.stderr
    assert 0.5 < virtual_seconds(proc.stderr) < 2


def test_machine_run_max_ns_bounds_an_idle_guest_in_time(write_floppy, tmp_path):
    from hvmm.pc import PC

    idle = write_floppy(tmp_path / "idle.img",
                        bytes.fromhex("FBF4EBFD").ljust(510, b"\0") + b"\x55\xaa")
    pc = PC(idle)
    assert pc.run(50_000).reason == "limit"           # POST, then idle in HLT
    t0, n0 = pc.cpu.time_ns, pc.cpu.instructions
    timers = pc.clock.pending()
    stop = pc.run(100_000, max_ns=50_000_000)
    assert stop.reason == "limit" and stop.status == ExitStatus.LIMIT
    assert 50_000_000 <= pc.cpu.time_ns - t0 < 60_000_000     # one PIT tick past at most
    assert pc.cpu.instructions - n0 < 100_000
    # without it the same budget is counted in instructions only: many seconds
    t0 = pc.cpu.time_ns
    assert pc.run(100_000).reason == "limit"
    assert pc.cpu.time_ns - t0 > 10_000_000_000
    # and the deadline's timer is gone afterwards
    assert pc.clock.pending() == timers


def test_console_keeps_port_e9_output_until_it_has_left(write_floppy, tmp_path):
    """The demo shows its summary line, writes it to port 0xE9 and ends
    itself after about 2 s (realtime) by writing 0 to port 0xF4 (status 1):
    the port 0xE9 line comes after the screen was left."""
    from hvmm import guest_image

    demo = write_floppy(tmp_path / "demo.img", guest_image("demo"))
    p = PtyHvmm("boot", demo, cwd=tmp_path)
    try:
        assert p.wait(20) == 1
        p.read_until(b"never", timeout=0.2)
    finally:
        p.close()
    leave = p.out.index(LEAVE_SCREEN.encode())
    line = re.search(rb"hvmm demo: 386\+[^\r\n\x1b]*", p.out).group(0)
    assert line + b"\n" not in p.out[:leave] and line + b"\r\n" not in p.out[:leave]
    assert p.out[leave:].startswith(LEAVE_SCREEN.encode() + line + b"\r\n")
