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
from dataclasses import dataclass

from hvmm.display import CP437, TextScreen, read_screen  # noqa: F401 (CP437, TextScreen: re-exported)
from hvmm.frontends.ansi import ESC, ScreenRenderer
from hvmm.keyboard import key_bytes

#: The byte Ctrl-] sends: leave the console (telnet's and QEMU's choice).
QUIT_BYTE = 0x1D
#: A lone ESC is the Esc key once nothing has followed it for this long.
ESC_TIMEOUT = 0.05
#: At most this many frames per second.
FRAME_RATE = 30
#: Virtual time per machine slice (the console reads the terminal between slices).
SLICE_SECONDS = 0.01

ENTER_SCREEN = ESC + "[?1049h" + ESC + "[?25l"      # alternate screen, cursor off
LEAVE_SCREEN = ESC + "[0m" + ESC + "[?25h" + ESC + "[?1049l"


# ---- the keyboard ---------------------------------------------------------------------

LCTRL, LALT, LSHIFT = 0x14, 0x11, 0x12

# Keys with E0-prefixed set 2 codes, and the function keys.
EXTENDED = {
    "up": 0x75, "down": 0x72, "right": 0x74, "left": 0x6B,
    "home": 0x6C, "end": 0x69, "insert": 0x70, "delete": 0x71,
    "pageup": 0x7D, "pagedown": 0x7A,
}
FUNCTION = {
    "f1": 0x05, "f2": 0x06, "f3": 0x04, "f4": 0x0C, "f5": 0x03, "f6": 0x0B,
    "f7": 0x83, "f8": 0x0A, "f9": 0x01, "f10": 0x09, "f11": 0x78, "f12": 0x07,
}
# CSI/SS3 final bytes (ESC [ A, ESC O A) and CSI "n ~" numbers (xterm, VT220, Linux console).
_CSI_FINAL = {"A": "up", "B": "down", "C": "right", "D": "left", "H": "home", "F": "end",
              "P": "f1", "Q": "f2", "R": "f3", "S": "f4"}
_CSI_TILDE = {1: "home", 2: "insert", 3: "delete", 4: "end", 5: "pageup", 6: "pagedown",
              7: "home", 8: "end", 11: "f1", 12: "f2", 13: "f3", 14: "f4", 15: "f5",
              17: "f6", 18: "f7", 19: "f8", 20: "f9", 21: "f10", 23: "f11", 24: "f12"}
# Linux console: ESC [ [ A .. E are F1-F5.
_LINUX_F = {"A": "f1", "B": "f2", "C": "f3", "D": "f4", "E": "f5"}
# Ctrl with a key that is not a letter: the byte the terminal sends -> the key.
_CTRL_OTHER = {0x00: "2", 0x1C: "\\", 0x1E: "6", 0x1F: "-"}


def named_key(name: str) -> bytes:
    """Set 2 make and break codes of a named key ('up', 'f1', ...)."""
    if name in EXTENDED:
        code = EXTENDED[name]
        return bytes([0xE0, code, 0xE0, 0xF0, code])
    code = FUNCTION[name]
    return bytes([code, 0xF0, code])


def with_modifiers(key: bytes, shift=False, alt=False, ctrl=False) -> bytes:
    """``key`` pressed while holding modifiers: their makes before it, their
    breaks after."""
    mods = [m for m, on in ((LCTRL, ctrl), (LALT, alt), (LSHIFT, shift)) if on]
    return bytes(mods) + key + b"".join(bytes([0xF0, m]) for m in reversed(mods))


class Quit:
    """What :meth:`KeyDecoder.feed` returns for Ctrl-]."""

    def __repr__(self):
        return "QUIT"


QUIT = Quit()


class KeyDecoder:
    """Terminal input bytes -> key events: bytes of set 2 make/break codes
    (one key each, modifiers included), or :data:`QUIT` for Ctrl-].

    Escape sequences may arrive split across reads, so an incomplete one is
    kept; a lone ESC becomes the Esc key when :meth:`flush` is called
    ``ESC_TIMEOUT`` after it arrived with nothing following.  Bytes with no
    key (non-ASCII text, unknown sequences) are dropped."""

    def __init__(self, esc_timeout: float = ESC_TIMEOUT):
        self.esc_timeout = esc_timeout
        self._pending = b""
        self._since = 0.0

    def feed(self, data: bytes, now: float | None = None) -> list:
        now = time.monotonic() if now is None else now
        if not self._pending:
            self._since = now
        buf = self._pending + bytes(data)
        self._pending = b""
        events = []
        i = 0
        while i < len(buf):
            b = buf[i]
            if b == 0x1B:
                used, event = self._escape(buf, i)
                if used == 0:               # incomplete: wait for more
                    self._pending = buf[i:]
                    break
                if event is not None:
                    events.append(event)
                i += used
                continue
            event = self._byte(b)
            if event is not None:
                events.append(event)
            i += 1
        return events

    def flush(self, now: float | None = None) -> list:
        """Key events for an incomplete escape that has waited long enough:
        a lone ESC is the Esc key; the bytes after it are typed as they are."""
        now = time.monotonic() if now is None else now
        if not self._pending or now - self._since < self.esc_timeout:
            return []
        rest, self._pending = self._pending[1:], b""
        return [key_bytes("\x1b")] + self.feed(rest, now)

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def _byte(self, b: int):
        if b == QUIT_BYTE:
            return QUIT
        if b in (0x0D, 0x0A):
            return key_bytes("\r")
        if b == 0x09:
            return key_bytes("\t")
        if b in (0x08, 0x7F):
            return key_bytes("\b")
        if 0x01 <= b <= 0x1A:               # Ctrl+letter
            return with_modifiers(key_bytes(chr(b + 0x60)), ctrl=True)
        if b in _CTRL_OTHER:
            return with_modifiers(key_bytes(_CTRL_OTHER[b]), ctrl=True)
        if 0x20 <= b < 0x7F:
            return key_bytes(chr(b))
        return None                         # non-ASCII: no key on a US keyboard

    def _escape(self, buf: bytes, i: int):
        """(bytes used, event) for the escape at buf[i]; (0, None) if incomplete."""
        n = len(buf) - i
        if n < 2:
            return 0, None
        kind = buf[i + 1]
        if kind == 0x5B:                    # CSI: ESC [ params final
            if n >= 3 and buf[i + 2] == 0x5B:   # Linux console F1-F5: ESC [ [ A
                if n < 4:
                    return 0, None
                name = _LINUX_F.get(chr(buf[i + 3]))
                return 4, named_key(name) if name else None
            j = i + 2
            while j < len(buf) and 0x20 <= buf[j] <= 0x3F:
                j += 1
            if j == len(buf):
                return (0, None) if j - i < 16 else (j - i, None)
            final = chr(buf[j])
            params = buf[i + 2 : j].decode("ascii", "replace").split(";")
            used = j + 1 - i
            try:
                nums = [int(p) if p else 1 for p in params]
            except ValueError:
                return used, None
            if final == "~":
                name = _CSI_TILDE.get(nums[0])
            else:
                name = _CSI_FINAL.get(final)
            if name is None:
                return used, None
            mod = nums[1] - 1 if len(nums) > 1 else 0   # xterm: 1 + shift|alt<<1|ctrl<<2
            return used, with_modifiers(named_key(name), shift=bool(mod & 1),
                                        alt=bool(mod & 2), ctrl=bool(mod & 4))
        if kind == 0x4F:                    # SS3: ESC O P
            if n < 3:
                return 0, None
            name = _CSI_FINAL.get(chr(buf[i + 2]))
            return 3, named_key(name) if name else None
        if kind == 0x1B:                    # ESC ESC: the first is the Esc key
            return 1, key_bytes("\x1b")
        # ESC then a key: that key with Alt (the terminal's meta-sends-escape).
        event = self._byte(kind)
        if event is None or event is QUIT:
            return 1, key_bytes("\x1b")
        return 2, with_modifiers(event, alt=True)


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


@dataclass
class ConsoleResult:
    status: int
    reason: str      # "quit", "timeout", "limit", "signal", or a Stop reason
    message: str | None


class Console:
    """Runs ``pc`` (a :class:`hvmm.pc.PC`, best made with ``realtime=True``)
    with the terminal as its screen and keyboard, or with ``serial=True`` as
    COM1's line.  :meth:`run` returns a :class:`ConsoleResult`; the terminal
    is restored whatever happens."""

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
        self._resized = True            # ask the terminal its size before drawing

    def _on_signal(self, signum, frame):
        self._signal = signum
        raise _Signalled()

    def _on_winch(self, signum, frame):
        self._resized = True

    def run(self) -> ConsoleResult:
        handlers = {}
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
                    return ConsoleResult(128 + signum, "signal",
                                         f"stopped by {signal.Signals(signum).name}")
        finally:
            for sig, old in handlers.items():
                signal.signal(sig, old)

    def _loop(self, term: Terminal) -> ConsoleResult:
        from hvmm.headless import describe_stop

        pc, cpu = self.pc, self.pc.cpu
        slice_insns = max(1000, int(cpu.ips * SLICE_SECONDS))
        slice_ns = int(SLICE_SECONDS * 1e9)
        start_insns = cpu.instructions
        t0 = time.monotonic()
        next_frame = 0.0
        stdin_open = True
        while True:
            now = time.monotonic()
            if self.timeout is not None and now - t0 >= self.timeout:
                return ConsoleResult(4, "timeout", f"timed out after {self.timeout:g} s")
            budget = slice_insns
            if self.max_instructions is not None:
                budget = min(budget, start_insns + self.max_instructions - cpu.instructions)
                if budget <= 0:
                    return ConsoleResult(3, "limit", "instruction limit reached: "
                                         f"{self.max_instructions} instructions")
            # Bounded in virtual time too: an idle guest retires almost nothing.
            stop = pc.run(budget, max_ns=slice_ns)
            self._serial_out(term)
            if stop.reason == "interrupted":
                raise _Signalled()
            if stop.reason != "limit":
                if not self.serial:
                    self._draw(term)
                status, message = describe_stop(cpu, stop)
                return ConsoleResult(status, stop.reason, message)
            if stdin_open:
                data = term.read(0)
                if data is None:
                    stdin_open = False
                elif self._input(data) or self._input_events(self.keys.flush()):
                    if self.serial and term.raw:
                        term.write(b"\r\n")   # what follows on a line of its own
                    return ConsoleResult(0, "quit", None)
            if self._serial_in:
                self._serial_in = self._serial_in[cpu.serial_feed(self._serial_in):]
            now = time.monotonic()
            if not self.serial and now >= next_frame:
                self._draw(term)
                next_frame = now + self.frame_interval

    def _serial_out(self, term: Terminal) -> None:
        out = self.pc.cpu.serial_drain()
        if out and self.serial:
            term.write(out)

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


def run_console(pc, **kwargs) -> ConsoleResult:
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
