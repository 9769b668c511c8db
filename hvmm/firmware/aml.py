"""Just enough of an AML encoder (ACPI 6.4, chapter 20; resource
descriptors, 6.4) to write a static DSDT: scopes, devices, named integers,
packages and resource templates. Each function returns the bytes
of one AML term; nesting them reads like the ASL they stand for:

    device("RTC", name("_HID", dword(eisa_id("PNP0B00"))),
           name("_CRS", resources(io(0x70, 2), irq(8))))

is `Device (RTC) { Name (_HID, EisaId ("PNP0B00")) Name (_CRS,
ResourceTemplate () { IO (Decode16, 0x70, 0x70, 1, 2) IRQNoFlags () {8} }) }`.
"""

from __future__ import annotations

import struct

ZERO_OP, ONE_OP, BYTE_PREFIX, WORD_PREFIX, DWORD_PREFIX = 0x00, 0x01, 0x0A, 0x0B, 0x0C
NAME_OP, SCOPE_OP, BUFFER_OP, PACKAGE_OP = 0x08, 0x10, 0x11, 0x12
EXT_OP_PREFIX, DEVICE_OP = 0x5B, 0x82
ROOT_CHAR = 0x5C                    # '\'


def pkg_length(payload: int) -> bytes:
    """PkgLength for `payload` bytes; the length counts its own bytes too.
    One byte up to 63; else a lead byte (count of bytes that follow in bits
    7-6, the low nibble in bits 3-0) and the rest, low byte first."""
    if payload + 1 < 0x40:
        return bytes([payload + 1])
    for extra in (1, 2, 3):
        total = payload + 1 + extra
        if total < 1 << (4 + 8 * extra):
            return bytes([extra << 6 | total & 0x0F]) + (total >> 4).to_bytes(extra, "little")
    raise ValueError(f"AML package of {payload} bytes is too long")


def name_seg(seg: str) -> bytes:
    """A 4-character NameSeg, padded with '_' as ASL does (ISA -> ISA_)."""
    if not 1 <= len(seg) <= 4 or not (seg[0] == "_" or seg[0].isupper()):
        raise ValueError(f"bad AML name {seg!r}")
    return seg.ljust(4, "_").encode("ascii")


def name_string(path: str) -> bytes:
    """A NameSeg, or a root-relative one-segment path such as \\_SB."""
    if path.startswith("\\"):
        return bytes([ROOT_CHAR]) + name_seg(path[1:])
    return name_seg(path)


def integer(value: int) -> bytes:
    """The shortest integer constant: Zero, One or a byte/word/dword."""
    if value in (0, 1):
        return bytes([value])
    for prefix, fmt, limit in ((BYTE_PREFIX, "<B", 0xFF), (WORD_PREFIX, "<H", 0xFFFF),
                               (DWORD_PREFIX, "<I", 0xFFFFFFFF)):
        if 0 <= value <= limit:
            return bytes([prefix]) + struct.pack(fmt, value)
    raise ValueError(f"AML integer {value} out of range")


def dword(value: int) -> bytes:
    """A DWord constant whatever its value, as ASL compilers write EisaId()."""
    return bytes([DWORD_PREFIX]) + struct.pack("<I", value)


def eisa_id(text: str) -> int:
    """EisaId("PNP0B00"): three letters in 5 bits each and four hex digits,
    stored big endian (so "PNP0A03" is the integer 0x030AD041)."""
    if len(text) != 7 or not text[:3].isalpha() or not text[:3].isupper():
        raise ValueError(f"bad EISA id {text!r}")
    vendor = (ord(text[0]) - 0x40) << 10 | (ord(text[1]) - 0x40) << 5 | ord(text[2]) - 0x40
    return int.from_bytes(struct.pack(">HH", vendor, int(text[3:], 16)), "little")


def name(seg: str, value: bytes) -> bytes:
    """Name (seg, value): `value` is already encoded (integer(), package(), ...)."""
    return bytes([NAME_OP]) + name_seg(seg) + value


def package(*elements: bytes) -> bytes:
    body = bytes([len(elements)]) + b"".join(elements)
    return bytes([PACKAGE_OP]) + pkg_length(len(body)) + body


def scope(path: str, *terms: bytes) -> bytes:
    body = name_string(path) + b"".join(terms)
    return bytes([SCOPE_OP]) + pkg_length(len(body)) + body


def device(seg: str, *terms: bytes) -> bytes:
    body = name_seg(seg) + b"".join(terms)
    return bytes([EXT_OP_PREFIX, DEVICE_OP]) + pkg_length(len(body)) + body


def buffer(data: bytes) -> bytes:
    body = integer(len(data)) + data
    return bytes([BUFFER_OP]) + pkg_length(len(body)) + body


# --- resource descriptors (ACPI 6.4, 6.4.2 small and 6.4.3 large items)

def io(port: int, length: int) -> bytes:
    """IO (Decode16, port, port, 1, length): a fixed range of ports."""
    return struct.pack("<BBHHBB", 0x47, 0x01, port, port, 1, length)


def irq(number: int) -> bytes:
    """IRQNoFlags () {number}: edge triggered, active high, exclusive."""
    return struct.pack("<BH", 0x22, 1 << number)


# General flags of an address space descriptor: MinFixed, MaxFixed,
# positive decode, and bit 0 clear: a bridge producing the range for the
# devices below it.
_PRODUCER_FIXED = 0x0C


def bus_numbers(first: int, last: int) -> bytes:
    """WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, ...)."""
    return struct.pack("<BHBBBHHHHH", 0x88, 13, 2, _PRODUCER_FIXED, 0,
                       0, first, last, 0, last - first + 1)


def io_window(first: int, last: int) -> bytes:
    """WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, ...)."""
    return struct.pack("<BHBBBHHHHH", 0x88, 13, 1, _PRODUCER_FIXED, 0x03,
                       0, first, last, 0, last - first + 1)


def memory_window(first: int, last: int, cacheable: bool) -> bytes:
    """DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
    Cacheable or NonCacheable, ReadWrite, ...)."""
    flags = 0x03 if cacheable else 0x01
    return struct.pack("<BHBBBIIIII", 0x87, 23, 0, _PRODUCER_FIXED, flags,
                       0, first, last, 0, last - first + 1)


def resources(*descriptors: bytes) -> bytes:
    """ResourceTemplate () {...}: the descriptors and an End Tag (a zero
    checksum: "valid, not computed")."""
    return buffer(b"".join(descriptors) + bytes([0x79, 0x00]))
