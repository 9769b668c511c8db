"""Helpers for the console tests (test_console.py, test_console_view.py):
text-mode cells to render, a reading of the screen an ANSI terminal shows,
and `python -m hvmm` in a pseudo-terminal. A support module, not a test
module."""

import os
import re
import select
import signal
import sys
import time

import hvmm

# The subprocesses import this checkout's hvmm.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(hvmm.__file__)))
ESC = "\x1b"


def blank(columns=80, rows=25, attr=0x07):
    return bytearray(bytes([0x20, attr]) * (columns * rows))


def put(cells, columns, row, col, text, attr):
    for i, ch in enumerate(text.encode("cp437")):
        at = (row * columns + col + i) * 2
        cells[at : at + 2] = bytes([ch, attr])


_CSI = re.compile(r"\x1b\[([?\d;]*)([A-Za-z])")


def screen_of(stream: bytes, columns=80, rows=25) -> list[str]:
    """The screen an ANSI terminal shows after ``stream`` (only the escapes
    the console writes: cursor moves, clears, SGR, modes)."""
    grid = [[" "] * columns for _ in range(rows)]
    r = c = 0
    text = stream.decode("utf-8", "replace")
    i = 0
    while i < len(text):
        m = _CSI.match(text, i)
        if m:
            args, final = m.groups()
            if final == "H":
                nums = [int(x) for x in args.split(";")] if args else [1, 1]
                r, c = nums[0] - 1, nums[1] - 1
            elif final == "J":
                grid = [[" "] * columns for _ in range(rows)]
            i = m.end()
            continue
        if 0 <= r < rows and 0 <= c < columns and text[i] >= " ":
            grid[r][c] = text[i]
            c += 1
        i += 1
    return ["".join(row).rstrip() for row in grid]


class PtyHvmm:
    """`python -m hvmm ARGS` with a pseudo-terminal as its stdin, stdout and
    stderr; everything it writes is kept in ``self.out``."""

    def __init__(self, *args, cwd, size=(30, 100)):
        import pty

        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
        env["TERM"] = "xterm-256color"
        self.pid, self.fd = pty.fork()
        if self.pid == 0:   # pragma: no cover (the child)
            import fcntl
            import struct
            import termios

            # a terminal's size (a new pty has 0x0, which tqdm draws as nothing)
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "hvmm", *map(str, args)], env)
        self.out = b""
        self.status = None

    def read_until(self, pattern: bytes, timeout=15.0, start=0) -> bool:
        """Read until ``pattern`` is in the output (after ``start``)."""
        return self._until(lambda: pattern in self.out[start:], timeout)

    def read_until_screen(self, text: str, timeout=15.0) -> bool:
        """Read until ``text`` is on the screen the output draws."""
        return self._until(lambda: any(text in row for row in screen_of(self.out)), timeout)

    def _until(self, done, timeout) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(min(left, 0.1)):
                if left <= 0 or self.status is not None:
                    return done()
        return True

    def _read(self, timeout) -> bool:
        r, _, _ = select.select([self.fd], [], [], timeout)
        if r:
            try:
                data = os.read(self.fd, 65536)
            except OSError:                 # the child is gone (EIO)
                data = b""
            if data:
                self.out += data
                return True
            self.wait(0)
            return False
        return True

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def resize(self, rows: int, columns: int) -> None:
        """Set the terminal's size (the child gets SIGWINCH)."""
        import fcntl
        import struct
        import termios

        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    def wait(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while self.status is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
                break
            if time.monotonic() > deadline:
                return None
            self._read(0.05)
        return self.status

    def close(self):
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.status = -9
        os.close(self.fd)
