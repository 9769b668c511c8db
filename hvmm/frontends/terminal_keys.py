"""Terminal input to PC keys: :class:`KeyDecoder` turns the bytes a
terminal sends (escape sequences for arrows, function keys and modifiers
included) into PS/2 set 2 make/break sequences for the console
(:mod:`hvmm.frontends.console`); Ctrl-] is :data:`QUIT`, Ctrl-\\ is
:data:`SAVE`."""

from __future__ import annotations

import time

from hvmm.keyboard import key_bytes, named_key, with_modifiers

#: The byte Ctrl-] sends: leave the console (telnet's and QEMU's choice).
QUIT_BYTE = 0x1D
#: The byte Ctrl-\ sends: save the machine's state (the guest never sees it).
SAVE_BYTE = 0x1C
#: A lone ESC is the Esc key once nothing has followed it for this long.
ESC_TIMEOUT = 0.05


# ---- the keyboard ---------------------------------------------------------------------

# CSI/SS3 final bytes (ESC [ A, ESC O A) and CSI "n ~" numbers (xterm, VT220, Linux console).
_CSI_FINAL = {"A": "up", "B": "down", "C": "right", "D": "left", "H": "home", "F": "end",
              "P": "f1", "Q": "f2", "R": "f3", "S": "f4"}
_CSI_TILDE = {1: "home", 2: "insert", 3: "delete", 4: "end", 5: "pageup", 6: "pagedown",
              7: "home", 8: "end", 11: "f1", 12: "f2", 13: "f3", 14: "f4", 15: "f5",
              17: "f6", 18: "f7", 19: "f8", 20: "f9", 21: "f10", 23: "f11", 24: "f12"}
# Linux console: ESC [ [ A .. E are F1-F5.
_LINUX_F = {"A": "f1", "B": "f2", "C": "f3", "D": "f4", "E": "f5"}
# Ctrl with a key that is not a letter: the byte the terminal sends -> the key.
_CTRL_OTHER = {0x00: "2", 0x1E: "6", 0x1F: "-"}


class Quit:
    """What :meth:`KeyDecoder.feed` returns for Ctrl-]."""

    def __repr__(self):
        return "QUIT"


QUIT = Quit()


class Save:
    """What :meth:`KeyDecoder.feed` returns for Ctrl-\\."""

    def __repr__(self):
        return "SAVE"


SAVE = Save()


class KeyDecoder:
    """Terminal input bytes -> key events: bytes of set 2 make/break codes
    (one key each, modifiers included), :data:`QUIT` for Ctrl-] or
    :data:`SAVE` for Ctrl-\\.

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
        if b == SAVE_BYTE:
            return SAVE
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
