"""Disk images for the PC's BIOS disks (see docs/firmware.md).

    from hvmm.disks import FloppyImage
    fd = FloppyImage("dos.img")              # read-only; guest writes stay in memory
    fd = FloppyImage("dos.img", write=True)  # guest writes go to the file
    fd = FloppyImage.from_bytes(data)        # an image built in memory

A raw floppy image is the sectors in LBA order; its geometry follows from
its size.  A missing, unreadable or wrongly sized file raises
:class:`hvmm.errors.ConfigError` with a one-line message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hvmm.errors import ConfigError

SECTOR = 512


@dataclass(frozen=True)
class Geometry:
    cylinders: int
    heads: int
    sectors: int  # per track
    floppy_type: int = 0  # CMOS / INT 13h AH=08h BL code; 0 for hard disks

    @property
    def total(self) -> int:
        return self.cylinders * self.heads * self.sectors


#: Image size -> geometry of the standard PC floppy formats.
FLOPPY_GEOMETRIES = {
    368_640: Geometry(40, 2, 9, 1),      # 360 KiB 5.25"
    737_280: Geometry(80, 2, 9, 3),      # 720 KiB 3.5"
    1_228_800: Geometry(80, 2, 15, 2),   # 1.2 MiB 5.25"
    1_474_560: Geometry(80, 2, 18, 4),   # 1.44 MiB 3.5"
    2_949_120: Geometry(80, 2, 36, 5),   # 2.88 MiB 3.5"
}


def _sizes() -> str:
    return ", ".join(f"{n // 1024}K" for n in FLOPPY_GEOMETRIES)


class FloppyImage:
    """A raw floppy image held in memory.

    Reads come from the in-memory copy; guest writes change it (copy on
    write: the file is untouched) unless ``write=True``, when they are also
    written through to the file.
    """

    def __init__(self, path, write: bool = False):
        self.path = os.fspath(path)
        self.writable = bool(write)
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise ConfigError(f"floppy image {self.path}: no such file") from None
        except IsADirectoryError:
            raise ConfigError(f"floppy image {self.path}: is a directory") from None
        except OSError as exc:
            raise ConfigError(f"floppy image {self.path}: cannot read: {exc.strerror or exc}") from None
        self._init(data)
        self._file = None
        if self.writable:
            try:
                self._file = open(self.path, "r+b")
            except OSError as exc:
                raise ConfigError(
                    f"floppy image {self.path}: cannot open for writing: {exc.strerror or exc}"
                ) from None

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<memory>") -> "FloppyImage":
        self = cls.__new__(cls)
        self.path = name
        self.writable = False
        self._file = None
        self._init(bytes(data))
        return self

    def _init(self, data: bytes) -> None:
        geometry = FLOPPY_GEOMETRIES.get(len(data))
        if geometry is None:
            raise ConfigError(
                f"floppy image {self.path}: {len(data)} bytes is not a floppy size ({_sizes()})"
            )
        self.geometry = geometry
        self.data = bytearray(data)
        self.dirty = False

    @property
    def sectors(self) -> int:
        return len(self.data) // SECTOR

    def read(self, lba: int, count: int) -> bytes:
        """``count`` sectors from ``lba`` (the caller checks the range)."""
        return bytes(self.data[lba * SECTOR : (lba + count) * SECTOR])

    def write(self, lba: int, data: bytes) -> None:
        """Write whole sectors at ``lba``."""
        start = lba * SECTOR
        self.data[start : start + len(data)] = data
        self.dirty = True
        if self._file is not None:
            self._file.seek(start)
            self._file.write(data)
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __repr__(self) -> str:
        g = self.geometry
        mode = "rw" if self.writable else "ro"
        return f"<FloppyImage {self.path} {g.cylinders}/{g.heads}/{g.sectors} {mode}>"
