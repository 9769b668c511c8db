"""Hard disks: hvmm.disks.HardDiskImage, the BIOS's INT 13h hard-disk and
EDD services (41h-48h), booting from hard disk 80h (INT 19h), `hvmm boot
--hda`, the MBR guest (guests/mbr_boot.asm) and FreeDOS reading a FAT hard
disk that the test builds with mtools.

The BIOS services are called by a small boot sector (STUB) on the hard disk
itself: it loads the registers from a table in its own sector, calls the
interrupt and halts, so each test reads the results from the CPU."""

import shutil
import struct
import subprocess
from importlib.resources import files

import pytest

from hvmm.disks import (
    FloppyImage, HardDiskImage, default_geometry, is_floppy_size, mbr_geometry, open_image,
)
from hvmm.errors import ConfigError
from hvmm.pc import PC

PROMPT = "A:\\>"

SECTOR = 512
FLOPPY_144 = 1_474_560
MBR_GUEST = files("hvmm").joinpath("guests/mbr_boot.bin")
MBR_OUTPUT = ("hvmm MBR: EDD 3.0, 63 sectors/track, 16 heads; stage 2 loaded from LBA 1 "
              "(2 sectors); disk: 3 sectors of 512 bytes; done")
MBR_EXIT = (0x2A << 1) | 1

# The register-call stub (at 0000:7C00; the table at 7D00):
#   xor ax, ax / mov ds, ax
#   mov bx, [7D02h] / mov cx, [7D04h] / mov dx, [7D06h] / mov si, [7D08h]
#   mov di, [7D0Ah] / mov es, [7D0Ch] / mov ax, [7D00h] / mov ds, [7D0Eh]
#   int 13h / cli / hlt / jmp $-1
STUB = bytes.fromhex(
    "31c08ed88b1e027d8b0e047d8b16067d8b36087d8b3e0a7d8e060c7da1007d8e1e0e7d"
    "cd13faf4ebfd")
# The same, then mov ah, 01h / int 13h (the status of that call) before cli.
STUB_STATUS = STUB[:-6] + bytes.fromhex("cd13b401cd13faf4ebfd")
TABLE = 0x100        # offset of the register table in the sector
PACKET = 0x7D40      # free space in the stub's sector for a packet / buffer
BUFFER = 0x8000      # where reads land


def pattern(lba: int) -> bytes:
    """Sector ``lba`` of the test disks: its number, repeated."""
    return struct.pack("<I", lba) * (SECTOR // 4)


def disk_bytes(sectors: int, mbr: bytes = b"") -> bytearray:
    """``sectors`` sectors: ``mbr``, then pattern(lba) up to LBA 4095, zeros."""
    data = bytearray(b"".join(pattern(i) for i in range(min(sectors, 4096))))
    data.extend(bytes((sectors - min(sectors, 4096)) * SECTOR))
    data[:SECTOR] = bytes(SECTOR)
    data[: len(mbr)] = mbr
    return data


def call_sector(ax=0, bx=0, cx=0, dx=0x80, si=0, di=0, es=0, ds=0, extra=b"",
                partitions=b"", then_status=False) -> bytes:
    """A boot sector that calls INT 13h with these registers (and then
    AH=01h if ``then_status``); ``extra`` lands at PACKET (0000:7D40),
    ``partitions`` at the partition table."""
    sector = bytearray((STUB_STATUS if then_status else STUB).ljust(SECTOR, b"\0"))
    sector[TABLE : TABLE + 16] = struct.pack("<8H", ax, bx, cx, dx, si, di, es, ds)
    sector[PACKET - 0x7C00 : PACKET - 0x7C00 + len(extra)] = extra
    sector[446 : 446 + len(partitions)] = partitions
    sector[510:512] = b"\x55\xaa"
    return bytes(sector)


def int13(sectors=40 * 16 * 63, hdb=None, image=None, **regs):
    """Boot a hard disk of ``sectors`` (or ``image``, its sector 0 replaced)
    whose MBR calls INT 13h with ``regs``; return the PC, halted after the
    call."""
    if image is None:
        image = HardDiskImage.from_bytes(disk_bytes(sectors, call_sector(**regs)))
    else:
        image.write(0, call_sector(**regs))
    pc = PC(hda=image, hdb=hdb, debug_stream=None)
    stop = pc.run(5_000_000)
    assert stop.reason == "hlt", (stop.reason, pc.screen_text())
    assert pc.cpu.cs == 0 and 0x7C00 <= pc.cpu.ip < 0x7E00, "the stub did not run"
    return pc


def cf(pc):
    return pc.cpu.flags & 1


def mem(pc, linear, n):
    return bytes(pc.cpu.memory[linear : linear + n])


def packet(count, lba, buffer=BUFFER, size=0x10):
    return struct.pack("<BBHHHQ", size, 0, count, buffer & 0xF, buffer >> 4, lba)


# ---- images and geometry -----------------------------------------------------------


def chs_entry(start, count, heads, spt, kind=0x06):
    def chs(lba):
        c, rest = divmod(lba, heads * spt)
        h, s = divmod(rest, spt)
        if c > 1023:  # beyond CHS: the largest address, as partitioners write it
            c, h, s = 1023, heads - 1, spt - 1
        return bytes([h, (s + 1) | (c >> 8) << 6, c & 0xFF])
    return bytes([0x80]) + chs(start) + bytes([kind]) + chs(start + count - 1) + \
        struct.pack("<II", start, count)


def test_geometry_from_the_partition_table_or_the_default():
    # A partition written for 64 heads x 32 sectors, ending on a cylinder.
    sectors = 100 * 64 * 32
    mbr = call_sector(partitions=chs_entry(32, sectors - 32, 64, 32))
    image = HardDiskImage.from_bytes(disk_bytes(sectors, mbr))
    g = image.geometry
    assert (g.cylinders, g.heads, g.sectors, g.floppy_type) == (100, 64, 32, 0)
    assert image.sectors == sectors
    # End CHS that does not match the entry's last LBA: the default.
    bad = bytearray(chs_entry(32, sectors - 32, 64, 32))
    bad[12:16] = struct.pack("<I", sectors - 100)
    assert mbr_geometry(call_sector(partitions=bytes(bad))) is None
    assert mbr_geometry(bytes(SECTOR)) is None                 # no 55AA
    assert mbr_geometry(call_sector()) is None                 # no partitions
    g = HardDiskImage.from_bytes(bytes(3 * SECTOR)).geometry   # smaller than a cylinder
    assert (g.cylinders, g.heads, g.sectors) == (1, 16, 63)
    assert default_geometry(1024 * 16 * 63) == (16, 63)
    assert default_geometry(1024 * 16 * 63 + 1) == (255, 63)
    # Beyond 1024 cylinders even with 255 heads: CHS stops at cylinder 1023.
    big = bytearray(SECTOR)
    big[446:462] = chs_entry(63, 2_000_000 * 63 - 63, 255, 63)
    big[510:512] = b"\x55\xaa"
    assert mbr_geometry(bytes(big)) == (255, 63)


@pytest.mark.parametrize("size, floppy", [
    (163_840, True), (184_320, True), (327_680, True), (368_640, True), (737_280, True),
    (1_228_800, True), (1_474_560, True), (2_949_120, True),
    (512, False), (1_474_560 + 512, False), (32 << 20, False),
])
def test_bare_image_classified_by_size(tmp_path, size, floppy):
    path = tmp_path / "x.img"
    path.write_bytes(bytes(size))
    assert is_floppy_size(size) == floppy
    image = open_image(path)
    assert isinstance(image, FloppyImage if floppy else HardDiskImage)
    image.close()


@pytest.mark.parametrize("make, expect", [
    (None, "hard-disk image {}: no such file"),
    (b"", "hard-disk image {}: 0 bytes is not a positive multiple of 512"),
    (b"\0" * 1000, "hard-disk image {}: 1000 bytes is not a positive multiple of 512"),
    ("dir", "hard-disk image {}: is a directory"),
])
def test_hard_disk_image_errors(tmp_path, make, expect):
    path = tmp_path / "c.img"
    if make == "dir":
        path.mkdir()
    elif make is not None:
        path.write_bytes(make)
    with pytest.raises(ConfigError) as exc:
        HardDiskImage(path)
    assert str(exc.value) == expect.format(path)
    with pytest.raises(ConfigError):
        PC(hda=path)


# ---- INT 13h on hard disks ----------------------------------------------------------


def test_int13_08_parameters_and_bda():
    # 20 MiB, no partitions: 40 cylinders of 16 heads x 63 sectors.
    pc = int13(ax=0x0800)
    assert not cf(pc) and pc.cpu.ah == 0
    assert pc.cpu.ch == 39 and pc.cpu.cl == 63            # last cylinder, sectors
    assert pc.cpu.dh == 15 and pc.cpu.dl == 1             # last head, hard disks
    assert mem(pc, 0x475, 1) == b"\x01"                   # 0040:0075 hard disks
    assert mem(pc, 0x474, 1) == b"\x00"                   # 0040:0074 last status
    # A second disk: two hard disks; an absent third one fails.
    hdb = HardDiskImage.from_bytes(bytes(2 * 16 * 63 * SECTOR))
    pc = int13(ax=0x0800, dx=0x0081, hdb=hdb)
    assert not cf(pc) and pc.cpu.dl == 2 and pc.cpu.dh == 15
    assert pc.cpu.ch == 1 and pc.cpu.cl == 63
    pc = int13(ax=0x0800, dx=0x0082)
    assert cf(pc) and pc.cpu.ah != 0
    # Cylinder bits 8-9 in CL bits 6-7: 700 cylinders of a partition table's
    # 2 heads x 4 sectors.
    pc = int13(sectors=700 * 2 * 4, ax=0x0800, partitions=chs_entry(4, 700 * 8 - 4, 2, 4))
    assert not cf(pc) and pc.cpu.dh == 1
    assert pc.cpu.ch == 699 & 0xFF and pc.cpu.cl == 4 | (699 >> 8) << 6
    # ... and CHS reads reach them: C/H/S 699/1/4 is the last sector.
    pc = int13(sectors=700 * 2 * 4, ax=0x0201, cx=(699 & 0xFF) << 8 | (699 >> 8) << 6 | 4,
               dx=0x0180, bx=BUFFER, partitions=chs_entry(4, 700 * 8 - 4, 2, 4))
    assert not cf(pc) and mem(pc, BUFFER, 4) == bytes(4)        # past the pattern


def test_int13_15_drive_type_and_16_floppy_only():
    pc = int13(ax=0x1500)
    assert not cf(pc) and pc.cpu.ah == 3
    assert pc.cpu.cx << 16 | pc.cpu.dx == 40 * 16 * 63
    pc = int13(ax=0x1500, dx=0x81)                         # no such disk
    assert not cf(pc) and pc.cpu.ah == 0
    pc = int13(ax=0x1600)
    assert cf(pc) and pc.cpu.ah == 0x01


@pytest.mark.parametrize("ah", [0x00, 0x0C, 0x0D, 0x10, 0x11])
def test_int13_reset_seek_ready_recalibrate(ah):
    pc = int13(ax=ah << 8)
    assert not cf(pc) and pc.cpu.ah == 0
    if ah:
        pc = int13(ax=ah << 8, dx=0x81)                    # no such disk
        assert cf(pc) and pc.cpu.ah == 0x80


def test_int13_chs_read_and_status():
    # C/H/S 1/2/3: LBA (1 * 16 + 2) * 63 + 2 = 1136; two sectors.
    pc = int13(ax=0x0202, cx=0x0103, dx=0x0280, bx=BUFFER)
    assert not cf(pc) and pc.cpu.ax == 0x0002
    assert mem(pc, BUFFER, 2 * SECTOR) == pattern(1136) + pattern(1137)
    # Sector 64 does not exist (63 per track): status 04h, kept in the BDA
    # and reported by AH=01h.
    pc = int13(ax=0x0201, cx=0x0040, bx=BUFFER)
    assert cf(pc) and pc.cpu.ah == 0x04
    assert mem(pc, 0x474, 1) == b"\x04"
    pc = int13(ax=0x0201, cx=0x0040, bx=BUFFER, then_status=True)
    assert cf(pc) and pc.cpu.ax == 0x0404
    pc = int13(ax=0x0201, cx=0x0001, bx=BUFFER, then_status=True)
    assert not cf(pc) and pc.cpu.ax == 0x0000


def test_int13_41_installation_check():
    pc = int13(ax=0x4100, bx=0x55AA)
    assert not cf(pc) and pc.cpu.bx == 0xAA55 and pc.cpu.ah == 0x30
    assert pc.cpu.cx & 0x0001 and pc.cpu.cx & 0x0004
    pc = int13(ax=0x4100, bx=0x1234)                       # no signature asked
    assert cf(pc) and pc.cpu.ah == 0x01
    pc = int13(ax=0x4100, bx=0x55AA, dx=0x00)              # a floppy drive
    assert cf(pc) and pc.cpu.bx == 0x55AA


def test_int13_42_extended_read():
    pc = int13(ax=0x4200, si=PACKET, extra=packet(3, 2000))
    assert not cf(pc) and pc.cpu.ah == 0
    assert mem(pc, BUFFER, 3 * SECTOR) == pattern(2000) + pattern(2001) + pattern(2002)
    assert struct.unpack_from("<H", mem(pc, PACKET + 2, 2))[0] == 3
    # Past the end: status 04h and a block count of 0.
    last = 40 * 16 * 63
    pc = int13(ax=0x4200, si=PACKET, extra=packet(2, last - 1))
    assert cf(pc) and pc.cpu.ah == 0x04
    assert struct.unpack_from("<H", mem(pc, PACKET + 2, 2))[0] == 0
    assert mem(pc, BUFFER, SECTOR) == bytes(SECTOR)
    pc = int13(ax=0x4200, si=PACKET, extra=packet(1, 1 << 32))
    assert cf(pc) and pc.cpu.ah == 0x04
    pc = int13(ax=0x4200, si=PACKET, extra=packet(1, 5, size=0x08))   # not a packet
    assert cf(pc) and pc.cpu.ah == 0x01


def write_disk(tmp_path, **kw):
    """A 1 MiB disk file whose MBR writes itself (0000:7C00) to LBA 100
    with AH=43h; the PC after the call."""
    path = tmp_path / "c.img"
    mbr = call_sector(ax=0x4300, si=PACKET, extra=packet(1, 100, buffer=0x7C00))
    path.write_bytes(disk_bytes(2048, mbr))
    pc = PC(hda=path, debug_stream=None, **kw)
    assert pc.run(5_000_000).reason == "hlt"
    assert not cf(pc) and pc.cpu.ah == 0, pc.screen_text()
    pc.close()
    return path, mbr


def test_int13_43_write_is_copy_on_write_unless_write(tmp_path):
    path, mbr = write_disk(tmp_path)
    assert path.read_bytes()[100 * SECTOR : 101 * SECTOR] == pattern(100)    # file untouched
    path, mbr = write_disk(tmp_path, write=True)
    assert path.read_bytes()[100 * SECTOR : 101 * SECTOR] == mbr


def test_int13_43_then_42_reads_back():
    # Write the MBR to LBA 7, then read LBA 7 back in a second boot of the
    # same image (the writes are in its memory copy).
    image = HardDiskImage.from_bytes(disk_bytes(2048))
    writer = call_sector(ax=0x4300, si=PACKET, extra=packet(1, 7, buffer=0x7C00))
    pc = int13(image=image, ax=0x4300, si=PACKET, extra=packet(1, 7, buffer=0x7C00))
    assert not cf(pc) and image.dirty
    pc = int13(image=image, ax=0x4200, si=PACKET, extra=packet(2, 7))
    assert not cf(pc) and mem(pc, BUFFER, 2 * SECTOR) == writer + pattern(8)
    pc = int13(ax=0x4400, si=PACKET, extra=packet(4, 10))          # verify
    assert not cf(pc) and mem(pc, BUFFER, SECTOR) == bytes(SECTOR)   # nothing read
    pc = int13(ax=0x4700, si=PACKET, extra=packet(0, 40 * 16 * 63 - 1))   # seek
    assert not cf(pc)
    pc = int13(ax=0x4700, si=PACKET, extra=packet(0, 40 * 16 * 63))
    assert cf(pc) and pc.cpu.ah == 0x04


def test_int13_48_drive_parameters():
    pc = int13(ax=0x4800, si=PACKET, extra=struct.pack("<H", 0x1E).ljust(0x1E, b"\xee"))
    assert not cf(pc) and pc.cpu.ah == 0
    size, flags, cyl, heads, spt, total, bps, dpte = struct.unpack(
        "<HHIIIQHI", mem(pc, PACKET, 0x1E))
    assert (size, flags, cyl, heads, spt) == (0x1E, 0x0002, 40, 16, 63)
    assert (total, bps, dpte) == (40 * 16 * 63, 512, 0xFFFFFFFF)
    # A 1Ah buffer gets 1Ah bytes; a smaller one is an error.
    pc = int13(ax=0x4800, si=PACKET, extra=struct.pack("<H", 0x1A).ljust(0x1E, b"\xee"))
    assert not cf(pc) and mem(pc, PACKET, 2) == b"\x1a\x00"
    assert mem(pc, PACKET + 0x1A, 4) == b"\xee" * 4
    pc = int13(ax=0x4800, si=PACKET, extra=struct.pack("<H", 0x18))
    assert cf(pc) and pc.cpu.ah == 0x01
    # Total sectors beyond CHS: an odd size, not a whole cylinder.
    pc = int13(sectors=40 * 16 * 63 + 5, ax=0x4800, si=PACKET, extra=struct.pack("<H", 0x1A))
    assert struct.unpack_from("<Q", mem(pc, PACKET + 16, 8))[0] == 40 * 16 * 63 + 5


# ---- booting ----------------------------------------------------------------------


def test_boot_order_floppy_then_hard_disk():
    # A bootable floppy wins (DL = 00h); one without 55AA is reported and
    # the hard disk boots (DL = 80h).  The boot sectors are cli; hlt, which
    # leaves DL as the BIOS set it.
    halt = b"\xfa\xf4".ljust(510, b"\0") + b"\x55\xaa"
    hd = HardDiskImage.from_bytes(disk_bytes(2048, halt))
    pc = PC(floppy=FloppyImage.from_bytes(halt.ljust(FLOPPY_144, b"\0")), hda=hd,
            debug_stream=None)
    assert pc.run(5_000_000).reason == "hlt" and pc.cpu.dl == 0x00
    pc = PC(floppy=FloppyImage.from_bytes(bytes(FLOPPY_144)), hda=hd, debug_stream=None)
    assert pc.run(5_000_000).reason == "hlt" and pc.cpu.dl == 0x80
    assert (pc.cpu.cs, pc.cpu.ip) == (0, 0x7C02)
    assert "no boot signature (55AA) on drive A:" in pc.screen_text()
    # A hard disk without 55AA: both reported, then INT 18h.
    pc = PC(hda=HardDiskImage.from_bytes(bytes(2048 * SECTOR)), debug_stream=None)
    assert pc.run(5_000_000).reason == "no_boot"
    screen = pc.screen_text()
    assert "no boot signature (55AA) on hard disk 80h" in screen
    assert "drive A:" not in screen                        # no floppy drive: not tried
    assert "no bootable device (INT 18h)" in screen


def test_pc_hdb_needs_hda():
    with pytest.raises(ConfigError, match="hdb without hda"):
        PC(hdb=HardDiskImage.from_bytes(bytes(SECTOR)))


@pytest.mark.parametrize("cpu", ["386", "8086"])
def test_mbr_guest_boots_from_hda(no_traceback, hvmm_cmd, tmp_path, cpu):
    proc = hvmm_cmd("boot", "--hda", MBR_GUEST, "--headless", "--cpu", cpu, cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == MBR_EXIT, proc.stderr
    assert proc.stdout.strip() == MBR_OUTPUT
    assert "exit status 85" in proc.stderr


def test_bare_image_boots_as_hard_disk(hvmm_cmd, tmp_path):
    # 1536 bytes is no floppy size: IMAGE is hard disk 80h.
    proc = hvmm_cmd("boot", MBR_GUEST, "--headless", "--print-screen", cwd=tmp_path)
    assert proc.returncode == MBR_EXIT, proc.stderr
    assert MBR_OUTPUT in proc.stdout.replace("\n", "")


@pytest.mark.parametrize("args, expect", [
    ([], "no disk: give IMAGE, --floppy, --hda or a --bios"),
    (["--hdb", "{mbr}"], "--hdb needs --hda"),
    (["--hda", "{tmp}/missing.img"], "no such file"),
    (["--hda", "{tmp}/odd.img"], "1000 bytes is not a positive multiple of 512"),
    (["--floppy", "{mbr}"], "1536 bytes is not a floppy size"),
    (["{mbr}", "--hda", "{mbr}"], "is a first hard disk image, and --hda gives one too"),
])
def test_boot_disk_arguments(no_traceback, hvmm_cmd, tmp_path, args, expect):
    (tmp_path / "odd.img").write_bytes(bytes(1000))
    args = [a.format(tmp=tmp_path, mbr=MBR_GUEST) for a in args]
    proc = hvmm_cmd("boot", *args, "--headless", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and expect in proc.stderr, proc.stderr


# ---- FreeDOS on a FAT hard disk (the acceptance test) --------------------------------

HELLO = "Hello from the hvmm hard disk!"
needs_mtools = pytest.mark.skipif(
    shutil.which("mformat") is None or shutil.which("mcopy") is None,
    reason="mtools (mformat, mcopy, mmd) not installed: apt-get install mtools")


def make_fat_disk(path, mib=32):
    """A hard-disk image: an MBR with one FAT16 partition (type 04h) from
    LBA 63 (cylinder 0, head 1) to the last whole cylinder, CHS fields for
    16 heads x 63 sectors (the BIOS's geometry for it), formatted by mformat
    with those heads, sectors and 63 hidden sectors; HELLO.TXT and a
    directory GAMES with README.TXT in it."""
    heads, spt, start = 16, 63, 63
    sectors = (mib << 20) // SECTOR
    count = sectors // (heads * spt) * heads * spt - start
    mbr = bytearray(SECTOR)
    mbr[446:462] = chs_entry(start, count, heads, spt, kind=0x04)
    mbr[510:512] = b"\x55\xaa"
    path.write_bytes(bytes(mbr).ljust(sectors * SECTOR, b"\0"))
    part = f"{path}@@{start * SECTOR}"

    def mtool(*args):
        subprocess.run(args, check=True, capture_output=True, timeout=60)

    mtool("mformat", "-i", part, "-T", str(count), "-h", str(heads), "-s", str(spt),
          "-H", str(start), "-v", "HVMMDISK", "::")
    hello = path.parent / "hello.txt"
    hello.write_bytes(HELLO.encode() + b"\r\n")
    mtool("mcopy", "-i", part, str(hello), "::HELLO.TXT")
    mtool("mmd", "-i", part, "::GAMES")
    mtool("mcopy", "-i", part, str(hello), "::GAMES/README.TXT")
    return count


@needs_mtools
def test_freedos_reads_a_fat_hard_disk(freedos, no_traceback, hvmm_cmd, tmp_path):
    disk = tmp_path / "c.img"
    count = make_fat_disk(disk)
    assert HardDiskImage(disk).geometry.heads == 16          # from the partition table
    before = disk.read_bytes()
    proc = hvmm_cmd("boot", "--floppy", freedos, "--hda", disk, "--headless",
                    "--timeout", "120",
                    # the kernel's partition list: C: is the partition we wrote
                    "--wait", f"C: HD1, Pri[ 1], CHS=    0-1-1, start=     0 MB, "
                              f"size=    {(count * SECTOR) >> 20} MB",
                    "--wait", PROMPT,
                    "--type", r"dir c:\r", "--wait", "GAMES", "--wait", PROMPT,
                    "--type", r"dir c:\games\r", "--wait", "README", "--wait", PROMPT,
                    "--type", r"type c:\hello.txt\r", "--wait", HELLO, "--wait", PROMPT,
                    "--print-screen", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    screen = proc.stdout
    assert "Volume in drive C is HVMMDISK" in screen
    assert f"HELLO    TXT            {len(HELLO) + 2}" in screen
    assert "GAMES                <DIR>" in screen
    assert "Directory of C:\\GAMES" in screen and "README   TXT" in screen
    assert PROMPT + "type c:\\hello.txt\n" + HELLO in screen
    assert disk.read_bytes() == before                        # read-only by default


@needs_mtools
@pytest.mark.parametrize("write", [False, True])
def test_freedos_writes_a_fat_hard_disk(freedos, no_traceback, hvmm_cmd, tmp_path, write):
    # FreeDOS copies a file on C:; with --write, mtools finds the copy in
    # the image file afterwards, without it the file is unchanged.
    disk = tmp_path / "c.img"
    make_fat_disk(disk)
    before = disk.read_bytes()
    proc = hvmm_cmd("boot", "--floppy", freedos, "--hda", disk, "--headless",
                    *(["--write"] if write else []),
                    "--wait", PROMPT,
                    "--type", r"copy c:\hello.txt c:\games\copy.txt\r",
                    "--wait", r"c:\hello.txt => c:\games\copy.txt", "--wait", PROMPT,
                    "--timeout", "60", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    if not write:
        assert disk.read_bytes() == before
        return
    out = tmp_path / "copy.txt"
    subprocess.run(["mcopy", "-i", f"{disk}@@{63 * SECTOR}", "::GAMES/COPY.TXT", str(out)],
                   check=True, capture_output=True, timeout=60)
    assert out.read_bytes() == HELLO.encode() + b"\r\n"
