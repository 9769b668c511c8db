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
LSHIFT = 0x12


def key_bytes(ch: str) -> bytes:
    """Set 2 make and break codes that type ``ch`` (US layout)."""
    try:
        code, shift = _SET2[ch]
    except KeyError:
        raise ValueError(f"cannot type {ch!r}: no key for it on a US keyboard") from None
    seq = [code, 0xF0, code]
    if shift:
        seq = [LSHIFT] + seq + [0xF0, LSHIFT]
    return bytes(seq)
