"""ANSI rendering of the guest's text screen for a terminal (the console's
drawing; see docs/console.md).

    from hvmm.frontends.ansi import ScreenRenderer
    r = ScreenRenderer(size=(24, 80))       # the terminal's rows, columns
    out = r.render(read_screen(cpu))        # escapes since the last frame
"""

from __future__ import annotations

from hvmm.display import COLOURS, CP437, TextScreen

#: Unchanged cells between two changed ones that are rewritten rather than skipped.
MERGE_GAP = 4

ESC = "\x1b"
SHOW_CURSOR = ESC + "[?25h"
HIDE_CURSOR = ESC + "[?25l"


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
    whole; after that only the cells that changed are.

    ``size``: the terminal's (rows, columns), None for no limit.  A screen
    larger than the terminal (25 rows on the common 80x24 one) is shown
    through a view of the terminal's size that scrolls to keep the cursor
    in it: it moves only when the cursor would leave it, so a command line
    on the last row shows rows 2-25, and a full-screen program that hides
    the cursor keeps the view it had."""

    def __init__(self, size: tuple[int, int] | None = None):
        self._last: TextScreen | None = None
        self._sgr_cache: dict = {}
        self.size = size
        self._view = (0, 0, 0, 0)      # top row, left column, rows, columns shown

    def invalidate(self) -> None:
        """Draw the next frame whole (after the terminal was resized or
        scribbled on)."""
        self._last = None

    def resize(self, size: tuple[int, int] | None) -> None:
        """The terminal is now ``size`` (rows, columns): draw it whole."""
        self.size = size
        self.invalidate()

    def _viewport(self, screen: TextScreen) -> tuple[int, int, int, int]:
        """(top, left, rows, columns) of the part of ``screen`` shown."""
        rows, cols = screen.rows, screen.columns
        if self.size is not None:
            rows, cols = min(rows, max(1, self.size[0])), min(cols, max(1, self.size[1]))
        top, left = self._view[0], self._view[1]
        if screen.cursor is not None:
            row, col = screen.cursor
            top = min(max(top, row - rows + 1), row)
            left = min(max(left, col - cols + 1), col)
        top = max(0, min(top, screen.rows - rows))
        left = max(0, min(left, screen.columns - cols))
        return top, left, rows, cols

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
        view = self._viewport(screen)
        top, left, vrows, vcols = view
        full = (last is None or last.notice is not None or last.columns != screen.columns
                or last.rows != screen.rows or last.blink != screen.blink
                or last.mono != screen.mono or view != self._view)
        self._view = view
        if full:
            out.append(ESC + "[0m" + ESC + "[2J")
        cells, old = screen.cells, None if full else last.cells
        cols = screen.columns
        cur_sgr = None
        for r in range(top, top + vrows):
            row = slice(r * cols * 2, (r + 1) * cols * 2)
            if old is not None and cells[row] == old[row]:
                continue
            for first, last_col in self._changed_runs(cells, old, r * cols, left, vcols):
                out.append(f"{ESC}[{r - top + 1};{first - left + 1}H")
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
                out.append(f"{ESC}[{row - top + 1};{col - left + 1}H" + SHOW_CURSOR)
            else:
                out.append(HIDE_CURSOR)
        return "".join(out)

    @staticmethod
    def _changed_runs(cells: bytes, old: bytes | None, first_cell: int, left: int, width: int):
        """(first, last) columns of the runs of changed cells among the
        ``width`` columns from ``left`` of a row; runs closer than MERGE_GAP
        cells are joined (rewriting a few unchanged cells is shorter than
        another cursor move)."""
        if old is None:
            return [(left, left + width - 1)]
        runs = []
        for c in range(left, left + width):
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
