"""The interactive terminal console: ``hvmm boot IMAGE`` without --headless.

    from hvmm.pc import PC
    from hvmm.frontends.console import Console
    pc = PC("dos.img", realtime=True)
    status = Console(pc).run()          # Ctrl-] leaves: status 0

The machine runs in short slices; between slices the console draws the
text screen in the terminal with ANSI escapes and turns what is typed into
PS/2 set 2 scancodes.  The pieces that need no terminal are separate, so
tests drive them directly:

* :func:`hvmm.display.read_screen` takes a :class:`TextScreen` snapshot
  from the CPU (frame buffer, CRTC start address and cursor, mode control);
* :class:`ScreenRenderer` turns snapshots into ANSI output, redrawing only
  the cells that changed since the previous frame;
* :class:`KeyDecoder` turns terminal input bytes (escape sequences
  included) into set 2 make/break sequences.

With ``serial=True`` (``--serial stdio``) no screen is drawn: the terminal
is COM1's line, as with QEMU's -nographic.
"""

from __future__ import annotations

import os
import select
import signal
import time

from hvmm.display import COLOURS, CP437, TextScreen, read_screen
from hvmm.frontends.terminal_keys import (  # noqa: F401  (re-exported)
    ESC_TIMEOUT,
    QUIT,
    QUIT_BYTE,
    KeyDecoder,
    named_key,
    with_modifiers,
)
from hvmm.runner import RunResult, Runner
from hvmm.status import ExitStatus

#: At most this many frames per second.
FRAME_RATE = 30
#: Virtual time per machine slice (the console reads the terminal between slices).
SLICE_SECONDS = 0.01
#: Unchanged cells between two changed ones that are rewritten rather than skipped.
MERGE_GAP = 4

ESC = "\x1b"
ENTER_SCREEN = ESC + "[?1049h" + ESC + "[?25l"      # alternate screen, cursor off
LEAVE_SCREEN = ESC + "[0m" + ESC + "[?25h" + ESC + "[?1049l"
SHOW_CURSOR = ESC + "[?25h"
HIDE_CURSOR = ESC + "[?25l"


# ---- the screen ---------------------------------------------------------------------


def _sgr(attr: int, blink_enabled: bool, mono: bool) -> str:
    """The SGR escape for a text attribute byte: exact CGA colours in
    24-bit colour."""
    if mono:
        # MDA: 0x70 reverse video, xxxx0001 underlined, 0x00/0x08/0x80/0x88
        # invisible, bit 3 bright, bit 7 blink.
        low = attr & 0x77
        fg = (0xFF,) * 3 if attr & 0x08 else (0xAA,) * 3
        bg = (0, 0, 0)
        parts = ["0"]
        if low == 0x70:
            fg, bg = (0, 0, 0), (0xAA,) * 3
        elif low == 0x00:
            fg = bg
        elif low & 0x07 == 0x01:
            parts.append("4")
        if attr & 0x80 and blink_enabled:
            parts.append("5")
    else:
        fg = COLOURS[attr & 0x0F]
        back = (attr >> 4) & 0x0F
        parts = ["0"]
        if blink_enabled:
            if back & 0x08:
                parts.append("5")
            back &= 0x07
        bg = COLOURS[back]
    parts.append("38;2;%d;%d;%d" % fg)
    parts.append("48;2;%d;%d;%d" % bg)
    return ESC + "[" + ";".join(parts) + "m"


class ScreenRenderer:
    """Turns :class:`TextScreen` frames into ANSI output for a terminal,
    drawing the screen at the terminal's top left.  The first frame (and
    any after a change of size, a notice or :meth:`invalidate`) is drawn
    whole; after that only the cells that changed are."""

    def __init__(self):
        self._last: TextScreen | None = None
        self._sgr_cache: dict = {}

    def invalidate(self) -> None:
        """Draw the next frame whole (after the terminal was resized or
        scribbled on)."""
        self._last = None

    def render(self, screen: TextScreen) -> str:
        """The escapes that bring the terminal from the last frame to
        ``screen`` ('' when nothing changed)."""
        last = self._last
        self._last = screen
        out = []
        if screen.notice is not None:
            if last is not None and last.notice == screen.notice:
                return ""
            return (ESC + "[0m" + ESC + "[2J" + ESC + "[H" + HIDE_CURSOR
                    + "hvmm: " + screen.notice)
        full = (last is None or last.notice is not None or last.columns != screen.columns
                or last.rows != screen.rows or last.blink != screen.blink
                or last.mono != screen.mono)
        if full:
            out.append(ESC + "[0m" + ESC + "[2J")
        cells, old = screen.cells, None if full else last.cells
        cols = screen.columns
        cur_sgr = None
        for r in range(screen.rows):
            row = slice(r * cols * 2, (r + 1) * cols * 2)
            if old is not None and cells[row] == old[row]:
                continue
            for first, last_col in self._changed_runs(cells, old, r * cols, cols):
                out.append(f"{ESC}[{r + 1};{first + 1}H")
                for c in range(first, last_col + 1):
                    i = (r * cols + c) * 2
                    attr = cells[i + 1]
                    if attr != cur_sgr:
                        out.append(self._sgr(attr, screen))
                        cur_sgr = attr
                    out.append(CP437[cells[i]])
        if out or last is None or last.cursor != screen.cursor or full:
            if cur_sgr is not None:
                out.append(ESC + "[0m")
            if screen.cursor is not None:
                row, col = screen.cursor
                out.append(f"{ESC}[{row + 1};{col + 1}H" + SHOW_CURSOR)
            else:
                out.append(HIDE_CURSOR)
        return "".join(out)

    @staticmethod
    def _changed_runs(cells: bytes, old: bytes | None, first_cell: int, cols: int):
        """(first, last) columns of the runs of changed cells in a row; runs
        closer than MERGE_GAP cells are joined (rewriting a few unchanged
        cells is shorter than another cursor move)."""
        if old is None:
            return [(0, cols - 1)]
        runs = []
        for c in range(cols):
            i = (first_cell + c) * 2
            if cells[i : i + 2] != old[i : i + 2]:
                if runs and c - runs[-1][1] <= MERGE_GAP:
                    runs[-1][1] = c
                else:
                    runs.append([c, c])
        return runs

    def _sgr(self, attr: int, screen: TextScreen) -> str:
        key = (attr, screen.blink, screen.mono)
        s = self._sgr_cache.get(key)
        if s is None:
            s = self._sgr_cache[key] = _sgr(attr, screen.blink, screen.mono)
        return s


# ---- the terminal ---------------------------------------------------------------------


class _Signalled(BaseException):
    """SIGTERM/SIGINT/SIGHUP in the console: a BaseException, so that the
    machine's handlers for failing devices and timers let it through."""


class Terminal:
    """The controlling terminal in raw mode, restored on :meth:`restore`
    (idempotent; ``with Terminal(...)`` restores on any way out).
    ``screen``: use the alternate screen buffer and hide the cursor."""

    def __init__(self, in_fd: int = 0, out_fd: int = 1, *, screen: bool = True):
        self.in_fd, self.out_fd, self.screen = in_fd, out_fd, screen
        self._saved = None
        self._active = False
        self.raw = False

    def __enter__(self):
        import termios
        import tty

        if os.isatty(self.in_fd):
            self._saved = termios.tcgetattr(self.in_fd)
            tty.setraw(self.in_fd, termios.TCSANOW)
            self.raw = True
        self._active = True
        if self.screen:
            self.write(ENTER_SCREEN)
        return self

    def __exit__(self, *exc):
        self.restore()
        return False

    def restore(self) -> None:
        if not self._active:
            return
        self._active = False
        if self.screen:
            self.write(LEAVE_SCREEN)
        if self._saved is not None:
            import termios

            try:
                termios.tcsetattr(self.in_fd, termios.TCSADRAIN, self._saved)
            except termios.error:
                pass

    def write(self, data) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.out_fd, view)
            except InterruptedError:
                continue
            except BlockingIOError:
                select.select([], [self.out_fd], [], 0.1)
                continue
            view = view[n:]

    def read(self, timeout: float = 0.0) -> bytes | None:
        """What is there to read within ``timeout`` seconds (b"" if nothing;
        None at end of file)."""
        try:
            ready, _, _ = select.select([self.in_fd], [], [], timeout)
        except InterruptedError:
            return b""
        if not ready:
            return b""
        try:
            data = os.read(self.in_fd, 4096)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:
            return None
        return data or None


# ---- the console ------------------------------------------------------------------------


class Console:
    """Runs ``pc`` (a :class:`hvmm.pc.PC`, best made with ``realtime=True``)
    with the terminal as its screen and keyboard, or with ``serial=True`` as
    COM1's line.  :meth:`run` returns a :class:`hvmm.runner.RunResult`;
    the terminal is restored whatever happens."""

    def __init__(self, pc, *, in_fd: int = 0, out_fd: int = 1, serial: bool = False,
                 timeout: float | None = None, max_instructions: int | None = None,
                 frame_rate: float = FRAME_RATE):
        self.pc = pc
        self.in_fd, self.out_fd = in_fd, out_fd
        self.serial = serial
        self.timeout = timeout
        self.max_instructions = max_instructions
        self.frame_interval = 1.0 / frame_rate
        self.renderer = ScreenRenderer()
        self.keys = KeyDecoder()
        self._serial_in = b""           # stdin bytes COM1 has not taken yet
        self._signal = None

    def _on_signal(self, signum, frame):
        self._signal = signum
        raise _Signalled()

    def _on_winch(self, signum, frame):
        self.renderer.invalidate()

    def run(self) -> RunResult:
        handlers = {}
        self._start = self.pc.cpu.instructions
        try:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                handlers[sig] = signal.signal(sig, self._on_signal)
            if not self.serial:
                handlers[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, self._on_winch)
        except ValueError:              # not the main thread: no signal handlers
            pass
        term = Terminal(self.in_fd, self.out_fd, screen=not self.serial)
        try:
            with term:
                try:
                    return self._loop(term)
                except (_Signalled, KeyboardInterrupt):
                    signum = self._signal or signal.SIGINT
                    return RunResult(ExitStatus.INTERRUPTED, "signal",
                                     f"stopped by {signal.Signals(signum).name}",
                                     self.pc.cpu.instructions - self._start, 0.0)
        finally:
            for sig, old in handlers.items():
                signal.signal(sig, old)

    def _loop(self, term: Terminal) -> RunResult:
        """The machine runs under a :class:`hvmm.runner.Runner`; between its
        slices the console reads the terminal and draws the screen."""
        cpu = self.pc.cpu
        self._term = term
        self._stdin_open = True
        self._next_frame = 0.0
        result = Runner(self.pc, timeout=self.timeout, max_instructions=self.max_instructions,
                        on_slice=self._between_slices,
                        slice_instructions=max(1000, int(cpu.ips * SLICE_SECONDS)),
                        # bounded in virtual time too: an idle guest retires almost nothing
                        slice_ns=int(SLICE_SECONDS * 1e9)).run()
        if result.reason == "interrupted":
            raise _Signalled()
        if result.reason == "quit":
            if self.serial and term.raw:
                term.write(b"\r\n")       # what follows on a line of its own
            result.message = None
        elif not self.serial:
            self._draw(term)                # the screen as the run ended
        return result

    def _between_slices(self, serial_out: bytes) -> bool:
        """The runner's ``on_slice``: COM1 output to the terminal (serial
        mode), terminal input to the guest, a frame now and then; True
        for Ctrl-]."""
        term = self._term
        if serial_out and self.serial:
            term.write(serial_out)
        if self._stdin_open:
            data = term.read(0)
            if data is None:
                self._stdin_open = False
            elif self._input(data) or self._input_events(self.keys.flush()):
                return True
        if self._serial_in:
            self._serial_in = self._serial_in[self.pc.cpu.serial_feed(self._serial_in):]
        now = time.monotonic()
        if not self.serial and now >= self._next_frame:
            self._draw(term)
            self._next_frame = now + self.frame_interval
        return False

    def _draw(self, term: Terminal) -> None:
        frame = self.renderer.render(read_screen(self.pc.cpu))
        if frame:
            term.write(frame)

    def _input(self, data: bytes) -> bool:
        """Handle terminal input; True for Ctrl-]."""
        if not data:
            return False
        if self.serial:
            # Ctrl-] leaves only on a terminal: a pipe may carry any byte.
            quit_ = QUIT_BYTE in data and os.isatty(self.in_fd)
            if quit_:
                data = data[: data.index(QUIT_BYTE)]
            self._serial_in += data
            return quit_
        return self._input_events(self.keys.feed(data))

    def _input_events(self, events) -> bool:
        for event in events:
            if event is QUIT:
                return True
            self.pc.press(event)
        return False


def run_console(pc, **kwargs) -> RunResult:
    """Run ``pc`` under a :class:`Console` (keyword arguments as for it)."""
    return Console(pc, **kwargs).run()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class SerialStdio:
    """COM1 on the process's stdin and stdout for runs without the console
    loop (``hvmm boot --headless --serial stdio``, ``hvmm exec --serial
    stdio``): :meth:`pump`, called between slices, writes what the guest
    sent and feeds what stdin has (read as it becomes available; in raw
    mode if it is a terminal, where Ctrl-] ends the run)."""

    def __init__(self, cpu, in_fd: int = 0, out_fd: int = 1):
        self.cpu = cpu
        self.term = Terminal(in_fd, out_fd, screen=False)
        self._in = b""
        self._eof = False

    def __enter__(self):
        self.term.__enter__()
        self._handlers = {}
        if self.term.raw:
            # A terminal left raw is unusable: SIGTERM/SIGHUP stop the run
            # like Ctrl-C (status 130) so that __exit__ restores it.
            try:
                for sig in (signal.SIGTERM, signal.SIGHUP):
                    self._handlers[sig] = signal.signal(sig, _interrupt)
            except ValueError:          # not the main thread
                pass
        return self

    def __exit__(self, *exc):
        try:
            self.pump(self.cpu.serial_drain(), read=False)
        finally:
            self.term.restore()
            for sig, old in self._handlers.items():
                signal.signal(sig, old)
        return False

    def pump(self, out: bytes = b"", read: bool = True) -> bool:
        """Write ``out`` (drained COM1 output) and feed stdin to COM1.
        True when Ctrl-] was typed on a terminal."""
        if out:
            self.term.write(out)
        quit_ = False
        if read and not self._eof:
            data = self.term.read(0)
            if data is None:
                self._eof = True
            elif data:
                if self.term.raw and QUIT_BYTE in data:
                    data, quit_ = data[: data.index(QUIT_BYTE)], True
                    self.term.write(b"\r\n")
                self._in += data
        if self._in:
            self._in = self._in[self.cpu.serial_feed(self._in):]
        return quit_
