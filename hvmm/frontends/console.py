"""The interactive terminal console: ``hvmm boot IMAGE`` without --headless.

    from hvmm.pc import PC
    from hvmm.frontends.console import Console
    pc = PC("dos.img", realtime=True)
    status = Console(pc).run()          # Ctrl-] leaves: status 0; Ctrl-\\ saves the state

The machine runs in short slices; between slices the console draws the
text screen in the terminal with ANSI escapes and turns what is typed into
PS/2 set 2 scancodes.  The pieces that need no terminal are separate, so
tests drive them directly:

* :func:`hvmm.display.read_screen` takes a :class:`TextScreen` snapshot
  from the CPU (frame buffer, CRTC start address and cursor, mode control);
* :class:`hvmm.frontends.ansi.ScreenRenderer` turns snapshots into ANSI
  output, redrawing only the cells that changed since the previous frame,
  through a view of the terminal's size;
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

from hvmm.display import CP437, TextScreen, read_screen  # noqa: F401 (CP437, TextScreen: re-exported)
from hvmm.frontends.ansi import ESC, ScreenRenderer
from hvmm.frontends.terminal_keys import (  # noqa: F401  (re-exported)
    ESC_TIMEOUT,
    QUIT,
    QUIT_BYTE,
    SAVE,
    SAVE_BYTE,
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
#: How long the notice of a saved state stays on the first row.
NOTICE_SECONDS = 2.0

ENTER_SCREEN = ESC + "[?1049h" + ESC + "[?25l"      # alternate screen, cursor off
LEAVE_SCREEN = ESC + "[0m" + ESC + "[?25h" + ESC + "[?1049l"


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

    def size(self) -> tuple[int, int] | None:
        """The terminal's (rows, columns), or None when it does not say."""
        try:
            columns, rows = os.get_terminal_size(self.out_fd)
        except OSError:
            return None
        return (rows, columns) if rows > 0 and columns > 0 else None

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


# ---- port 0xE9 output ---------------------------------------------------------------------

#: Port 0xE9 output the console keeps while it draws the screen: the last 1 MiB.
DEBUG_KEEP = 1 << 20


class OutputTail:
    """A binary stream that keeps the last ``limit`` bytes written to it and
    counts the rest: where the console puts the guest's port 0xE9 output
    (which would scribble over the drawn screen) until it leaves.  A guest
    writing in a loop costs at most about twice ``limit`` of memory;
    :attr:`dropped` says how many bytes of the beginning were let go."""

    def __init__(self, limit: int = DEBUG_KEEP):
        self.limit = limit
        self.total = 0
        self._buf = bytearray()

    def write(self, data) -> int:
        n = len(data)
        self.total += n
        self._buf += data
        if len(self._buf) > 2 * self.limit:
            del self._buf[: len(self._buf) - self.limit]
        return n

    def flush(self) -> None:
        pass

    def getvalue(self) -> bytes:
        """The bytes kept: the last ``limit`` written."""
        return bytes(self._buf[-self.limit:]) if self.limit else b""

    @property
    def dropped(self) -> int:
        return self.total - min(len(self._buf), self.limit)


# ---- the console ------------------------------------------------------------------------


class Console:
    """Runs ``pc`` (a :class:`hvmm.pc.PC`, best made with ``realtime=True``)
    with the terminal as its screen and keyboard, or with ``serial=True`` as
    COM1's line.  :meth:`run` returns a :class:`hvmm.runner.RunResult`;
    the terminal is restored whatever happens."""

    def __init__(self, pc, *, in_fd: int = 0, out_fd: int = 1, serial: bool = False,
                 timeout: float | None = None, max_instructions: int | None = None,
                 frame_rate: float = FRAME_RATE, save_path=None):
        self.pc = pc
        # Ctrl-\ writes the state here (else hvmm-<instructions>.hvmmstate)
        self.save_path = save_path
        self.saved: list[str] = []      # what the saves said (stderr, once the console left)
        self._notice_until = None
        self.in_fd, self.out_fd = in_fd, out_fd
        self.serial = serial
        self.timeout = timeout
        self.max_instructions = max_instructions
        self.frame_interval = 1.0 / frame_rate
        self.renderer = ScreenRenderer()
        self.keys = KeyDecoder()
        self._serial_in = b""           # stdin bytes COM1 has not taken yet
        self._signal = None
        self._resized = True            # ask the terminal its size before drawing

    def _on_signal(self, signum, frame):
        self._signal = signum
        raise _Signalled()

    def _on_winch(self, signum, frame):
        self._resized = True

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
            for line in self.saved:
                os.write(2, f"hvmm: {line}\n".encode())

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
        if self._notice_until is not None and now >= self._notice_until:
            self._notice_until = None
            self._resized = True            # the whole screen again, over the notice
        if not self.serial and now >= self._next_frame:
            self._draw(term)
            self._next_frame = now + self.frame_interval
        return False

    def _draw(self, term: Terminal) -> None:
        if self._resized:               # first frame, or SIGWINCH since the last
            self._resized = False
            self.renderer.resize(term.size())
        frame = self.renderer.render(read_screen(self.pc.cpu))
        if frame:
            term.write(frame)

    def _input(self, data: bytes) -> bool:
        """Handle terminal input; True for Ctrl-]."""
        if not data:
            return False
        if self.serial:
            # Ctrl-] and Ctrl-\ are the console's only on a terminal: a pipe
            # may carry any byte.
            tty = os.isatty(self.in_fd)
            quit_ = QUIT_BYTE in data and tty
            if quit_:
                data = data[: data.index(QUIT_BYTE)]
            if tty and SAVE_BYTE in data:
                data = data.replace(bytes([SAVE_BYTE]), b"")
                self._save()
            self._serial_in += data
            return quit_
        return self._input_events(self.keys.feed(data))

    def _input_events(self, events) -> bool:
        for event in events:
            if event is QUIT:
                return True
            if event is SAVE:
                self._save()
            else:
                self.pc.press(event)
        return False

    def _save(self) -> None:
        """Ctrl-\\: the machine's state to save_path (between two slices,
        so at an instruction boundary); a notice on the first row says
        where, or why not."""
        from hvmm.errors import ConfigError

        count = self.pc.cpu.instructions
        path = self.save_path or f"hvmm-{count}.hvmmstate"
        try:
            self.pc.save_state(path)
            line = f"state saved to {path} at instruction {count}"
        except ConfigError as exc:
            line = f"state not saved: {exc}"
        self.saved.append(line)
        if self.serial:
            self._term.write(f"\r\n[hvmm: {line}]\r\n".encode())
        else:
            self._term.write(f"{ESC}[1;1H{ESC}[0;7m {line} {ESC}[0m".encode())
            self._notice_until = time.monotonic() + NOTICE_SECONDS


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
