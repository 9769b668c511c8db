"""Disk images for the PC's BIOS disks (see docs/firmware.md).

    from hvmm.disks import FloppyImage, HardDiskImage, open_image
    fd = FloppyImage("dos.img")              # mapped copy on write: the file is untouched
    fd = FloppyImage("dos.img", write=True)  # mapped shared: guest writes go to the file
    fd = FloppyImage.from_bytes(data)        # an image built in memory
    hd = HardDiskImage("c.img")              # any multiple of 512 bytes
    img = open_image("x.img")                # floppy or hard disk, by its size

A raw image is the sectors in LBA order.  A floppy's geometry follows from
its size; a hard disk's from its partition table or else from a standard
translation (see HardDiskImage).  Images are mapped, not read: a large
sparse disk costs only the sectors the guest touches.  A missing,
unreadable or wrongly sized file, or one that is not a regular file or a
block device (a directory, /dev/zero, a FIFO), raises
:class:`hvmm.errors.ConfigError` with a one-line message before anything
is read.
"""

from __future__ import annotations

import mmap
import os
import stat
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


#: Image size -> geometry of the standard PC floppy formats.  The
#: single-sided and 8-sector 5.25" formats go in a 360K drive (type 1).
FLOPPY_GEOMETRIES = {
    163_840: Geometry(40, 1, 8, 1),      # 160 KiB 5.25" single-sided
    184_320: Geometry(40, 1, 9, 1),      # 180 KiB 5.25" single-sided
    327_680: Geometry(40, 2, 8, 1),      # 320 KiB 5.25"
    368_640: Geometry(40, 2, 9, 1),      # 360 KiB 5.25"
    737_280: Geometry(80, 2, 9, 3),      # 720 KiB 3.5"
    1_228_800: Geometry(80, 2, 15, 2),   # 1.2 MiB 5.25"
    1_474_560: Geometry(80, 2, 18, 4),   # 1.44 MiB 3.5"
    2_949_120: Geometry(80, 2, 36, 5),   # 2.88 MiB 3.5"
}

#: CHS addressing reaches 1024 cylinders (10 bits in INT 13h CH/CL).
MAX_CHS_CYLINDERS = 1024
#: The disk port's 32-bit LBA (and EDD's sector count as the BIOS reports
#: it) reaches 2 TiB.
MAX_HARD_DISK = (1 << 32) * SECTOR


def _sizes() -> str:
    return ", ".join(f"{n // 1024}K" for n in FLOPPY_GEOMETRIES)


class RawImage:
    """A raw disk image, mapped into memory (``mmap``) rather than read.

    The file is opened, checked (a regular file or a block device, of a
    size the drive takes) and only then mapped: the host reads the sectors
    the guest reads, when it reads them.  Without ``write`` the mapping is
    private (copy on write): the guest sees its own writes, the file is
    untouched.  With ``write=True`` it is shared, so guest writes go to the
    file.  Subclasses say what sizes are valid (``_check_size``) and what
    the geometry is (``_geometry``) and name the kind in errors.
    """

    kind = "disk image"

    def __init__(self, path, write: bool = False):
        self.path = os.fspath(path)
        self.writable = bool(write)
        self._file = None
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is
        # refused below, as is anything but a regular file or block device).
        flags = (os.O_RDWR if self.writable else os.O_RDONLY) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.path, flags | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise ConfigError(f"{self.kind} {self.path}: no such file") from None
        except IsADirectoryError:
            raise ConfigError(f"{self.kind} {self.path}: is a directory") from None
        except OSError as exc:
            what = "cannot open for writing" if self.writable else "cannot read"
            raise ConfigError(f"{self.kind} {self.path}: {what}: {exc.strerror or exc}") from None
        try:
            size = self._file_size(fd)
            self._check_size(size)
            data = mmap.mmap(fd, size, access=mmap.ACCESS_WRITE if self.writable
                             else mmap.ACCESS_COPY)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.kind} {self.path}: cannot map: "
                              f"{getattr(exc, 'strerror', None) or exc}") from None
        finally:
            os.close(fd)    # the mapping keeps the file
        self._file = data
        self._init(data)

    def _file_size(self, fd: int) -> int:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            return st.st_size
        if stat.S_ISBLK(st.st_mode):
            return os.lseek(fd, 0, os.SEEK_END)
        if stat.S_ISDIR(st.st_mode):
            raise ConfigError(f"{self.kind} {self.path}: is a directory")
        if stat.S_ISCHR(st.st_mode):
            what = "is a character device"
        elif stat.S_ISFIFO(st.st_mode):
            what = "is a FIFO"
        elif stat.S_ISSOCK(st.st_mode):
            what = "is a socket"
        else:
            what = "is a special file"
        raise ConfigError(f"{self.kind} {self.path}: {what}, not a disk image "
                          "(a regular file or a block device)")

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<memory>"):
        self = cls.__new__(cls)
        self.path = name
        self.writable = False
        self._file = None
        self._check_size(len(data))
        self._init(bytearray(data))
        return self

    def _init(self, data) -> None:
        self.data = data            # the sectors: an mmap or a bytearray
        self.geometry = self._geometry(data)
        self.dirty = False
        self.changed: set[int] = set()     # LBAs the guest wrote (snapshots)
        self.change_sources = []    # callables -> LBAs written elsewhere (IDE)

    def _check_size(self, size: int) -> None:
        raise NotImplementedError

    def _geometry(self, data) -> Geometry:
        raise NotImplementedError

    @property
    def sectors(self) -> int:
        return len(self.data) // SECTOR

    def read(self, lba: int, count: int) -> bytes:
        """``count`` sectors from ``lba`` (the caller checks the range)."""
        return self.data[lba * SECTOR : (lba + count) * SECTOR]

    def write(self, lba: int, data: bytes) -> None:
        """Write whole sectors at ``lba`` (to the file too with ``write``:
        the mapping is shared)."""
        start = lba * SECTOR
        self.data[start : start + len(data)] = data
        self.dirty = True
        self.changed.update(range(lba, lba + len(data) // SECTOR))

    # ---- snapshots (hvmm.snapshot): the guest's changes -----------------------

    def sync_changes(self) -> None:
        """Fold in the sectors written around ``write()``: the in-kernel IDE
        controller writes the mapping directly and keeps its own record."""
        for source in self.change_sources:
            lbas = source()
            if lbas:
                self.changed.update(lbas)
                self.dirty = True

    def overlay(self) -> dict[int, bytes]:
        """The sectors the guest wrote since the image was opened: {LBA: data}."""
        self.sync_changes()
        return {lba: self.read(lba, 1) for lba in sorted(self.changed)}

    def restore_overlay(self, sectors: dict[int, bytes]) -> None:
        """Make the guest's changes exactly ``sectors`` (an ``overlay()``):
        sectors changed since then go back to the file's contents."""
        self.sync_changes()
        revert = self.changed - set(sectors)
        if revert:
            if self.path.startswith("<") or self.writable:
                raise ConfigError(f"{self.kind} {self.path}: cannot undo the guest's writes "
                                  "to restore a snapshot")
            with open(self.path, "rb") as f:
                for lba in sorted(revert):
                    f.seek(lba * SECTOR)
                    self.data[lba * SECTOR : (lba + 1) * SECTOR] = f.read(SECTOR)
        for lba, data in sectors.items():
            self.write(lba, data)
        self.changed = set(sectors)

    def close(self) -> None:
        """Flush guest writes to the file (with ``write``) and unmap."""
        self.sync_changes()
        if self._file is not None:
            data, self._file = self._file, None
            if self.writable:
                data.flush()
            # Another holder of the mapping's buffer (a memoryview) keeps it
            # mapped until it goes; the data are flushed either way.
            try:
                data.close()
            except BufferError:
                pass

    def __repr__(self) -> str:
        g = self.geometry
        mode = "rw" if self.writable else "ro"
        return f"<{type(self).__name__} {self.path} {g.cylinders}/{g.heads}/{g.sectors} {mode}>"


class FloppyImage(RawImage):
    """A raw floppy image: one of the sizes in FLOPPY_GEOMETRIES."""

    kind = "floppy image"

    def _check_size(self, size: int) -> None:
        if size not in FLOPPY_GEOMETRIES:
            raise ConfigError(
                f"floppy image {self.path}: {size} bytes is not a floppy size ({_sizes()})"
            )

    def _geometry(self, data) -> Geometry:
        return FLOPPY_GEOMETRIES[len(data)]


class HardDiskImage(RawImage):
    """A raw hard-disk image: any positive multiple of 512 bytes.

    The CHS geometry (what INT 13h AH=02h/08h use; LBA access reaches every
    sector) comes from the MBR when its partition entries agree on one: the
    end head + 1 and end sector of each entry, checked against the entry's
    last LBA.  Otherwise the usual BIOS translation: 16 heads x 63 sectors,
    or 255 heads when that would need more than 1024 cylinders.  Cylinders
    are capped at 1024; a disk smaller than one cylinder still has one.
    """

    kind = "hard-disk image"

    def _check_size(self, size: int) -> None:
        if not size or size % SECTOR:
            raise ConfigError(
                f"hard-disk image {self.path}: {size} bytes is not a positive multiple of 512"
            )
        if size > MAX_HARD_DISK:
            raise ConfigError(
                f"hard-disk image {self.path}: {size} bytes is more than 2 TiB, "
                "the most the BIOS's 32-bit sector numbers reach"
            )

    def _geometry(self, data) -> Geometry:
        total = len(data) // SECTOR
        heads, spt = mbr_geometry(data[:SECTOR]) or default_geometry(total)
        cylinders = min(max(total // (heads * spt), 1), MAX_CHS_CYLINDERS)
        return Geometry(cylinders, heads, spt)


class CdImage(RawImage):
    """A CD-ROM image (an ISO 9660 file): whole 2048-byte sectors, read
    only (the ATAPI drive on the secondary IDE channel; kernel/atapi.pxi)."""

    kind = "CD image"

    def __init__(self, path):
        super().__init__(path, write=False)

    def _check_size(self, size: int) -> None:
        if not size or size % 2048:
            raise ConfigError(
                f"CD image {self.path}: {size} bytes is not a positive multiple of 2048")

    def _geometry(self, data) -> Geometry:
        return Geometry(0, 0, 0)


def default_geometry(total: int) -> tuple[int, int]:
    """(heads, sectors per track) of the standard translation for a disk
    of ``total`` sectors."""
    if total > MAX_CHS_CYLINDERS * 16 * 63:
        return 255, 63
    return 16, 63


def mbr_geometry(mbr: bytes) -> tuple[int, int] | None:
    """(heads, sectors per track) that the MBR's partition entries were
    written for, or None when there is no MBR, no entry, or the entries do
    not agree.  An entry counts when its end CHS addresses its last LBA
    under that geometry (or is the 1023-cylinder "beyond CHS" marker)."""
    if len(mbr) < SECTOR or mbr[510:512] != b"\x55\xaa":
        return None
    found = None
    for i in range(4):
        entry = mbr[446 + 16 * i : 462 + 16 * i]
        if entry[4] == 0:  # unused entry
            continue
        end_head, end_cs, end_cyl = entry[5], entry[6], entry[7]
        heads, spt = end_head + 1, end_cs & 0x3F
        cylinder = end_cyl | (end_cs & 0xC0) << 2
        start = int.from_bytes(entry[8:12], "little")
        count = int.from_bytes(entry[12:16], "little")
        if spt == 0 or count == 0 or found not in (None, (heads, spt)):
            return None
        last = start + count - 1
        chs_last = (cylinder * heads + end_head) * spt + spt - 1
        if chs_last != last and not (cylinder == 1023 and last > chs_last):
            return None
        found = (heads, spt)
    return found


def is_floppy_size(size: int) -> bool:
    """A bare image of ``size`` bytes is taken as a floppy (drive A:)."""
    return size in FLOPPY_GEOMETRIES


def is_floppy_image(path) -> bool:
    """Whether the file at ``path`` has a standard floppy size (else it is
    taken as a hard disk)."""
    try:
        return is_floppy_size(os.stat(path).st_size)
    except FileNotFoundError:
        raise ConfigError(f"disk image {os.fspath(path)}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"disk image {os.fspath(path)}: cannot read: {exc.strerror or exc}") from None


def open_image(path, write: bool = False) -> RawImage:
    """A FloppyImage when the file has a standard floppy size, else a
    HardDiskImage."""
    cls = FloppyImage if is_floppy_image(path) else HardDiskImage
    return cls(path, write=write)
