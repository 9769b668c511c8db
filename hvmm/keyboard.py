"""The keyboard as typed from a host: characters of the US layout as PS/2
scan code set 2 make/break sequences (what the 8042's keyboard sends; the
8042 translates them to set 1 for the BIOS), and the pace at which
:meth:`hvmm.machine.Machine.type` delivers them."""

from __future__ import annotations

#: Virtual time between two typed keys: the 8042 holds 64 bytes, so keys
#: are fed one at a time on the virtual clock, not all at once.
KEY_INTERVAL_NS = 5_000_000

# US layout: character -> (set 2 make code, shift).
_SET2 = {}
for _chars, _codes in (
    ("abcdefghijklmnopqrstuvwxyz",
     [0x1C, 0x32, 0x21, 0x23, 0x24, 0x2B, 0x34, 0x33, 0x43, 0x3B, 0x42, 0x4B, 0x3A,
      0x31, 0x44, 0x4D, 0x15, 0x2D, 0x1B, 0x2C, 0x3C, 0x2A, 0x1D, 0x22, 0x35, 0x1A]),
    ("1234567890", [0x16, 0x1E, 0x26, 0x25, 0x2E, 0x36, 0x3D, 0x3E, 0x46, 0x45]),
    ("-=[]\\;',./`", [0x4E, 0x55, 0x54, 0x5B, 0x5D, 0x4C, 0x52, 0x41, 0x49, 0x4A, 0x0E]),
):
    for _c, _code in zip(_chars, _codes):
        _SET2[_c] = (_code, False)
for _plain, _shifted in zip("1234567890-=[]\\;',./`", "!@#$%^&*()_+{}|:\"<>?~"):
    _SET2[_shifted] = (_SET2[_plain][0], True)
for _c in "abcdefghijklmnopqrstuvwxyz":
    _SET2[_c.upper()] = (_SET2[_c][0], True)
_SET2.update({
    " ": (0x29, False), "\r": (0x5A, False), "\n": (0x5A, False),
    "\t": (0x0D, False), "\b": (0x66, False), "\x1b": (0x76, False),
})
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
KEY_NAMES = tuple(EXTENDED) + tuple(FUNCTION)
# A named key inside typed text: one character of Unicode's private use
# area each (what hvmm.headless.decode_keys makes of \{up}).
_NAMED_BASE = 0xE000


def named_key(name: str) -> bytes:
    """Set 2 make and break codes of a named key ('up', 'f1', ...)."""
    if name in EXTENDED:
        code = EXTENDED[name]
        return bytes([0xE0, code, 0xE0, 0xF0, code])
    code = FUNCTION[name]
    return bytes([code, 0xF0, code])


def named_key_char(name: str) -> str:
    """The character that stands for the named key in typed text."""
    return chr(_NAMED_BASE + KEY_NAMES.index(name))


def with_modifiers(key: bytes, shift=False, alt=False, ctrl=False) -> bytes:
    """``key`` pressed while holding modifiers: their makes before it, their
    breaks after."""
    mods = [m for m, on in ((LCTRL, ctrl), (LALT, alt), (LSHIFT, shift)) if on]
    return bytes(mods) + key + b"".join(bytes([0xF0, m]) for m in reversed(mods))


def key_bytes(ch: str) -> bytes:
    """Set 2 make and break codes that type ``ch`` (US layout): a control
    character other than Enter, Tab, Backspace and Esc is Ctrl with its
    letter (\x0e is Ctrl-N), a private-use character from
    :func:`named_key_char` its named key."""
    n = ord(ch)
    if _NAMED_BASE <= n < _NAMED_BASE + len(KEY_NAMES):
        return named_key(KEY_NAMES[n - _NAMED_BASE])
    if 0x01 <= n <= 0x1A and ch not in _SET2:
        return with_modifiers(key_bytes(chr(n + 0x60)), ctrl=True)
    try:
        code, shift = _SET2[ch]
    except KeyError:
        raise ValueError(f"cannot type {ch!r}: no key for it on a US keyboard") from None
    seq = [code, 0xF0, code]
    if shift:
        seq = [LSHIFT] + seq + [0xF0, LSHIFT]
    return bytes(seq)
