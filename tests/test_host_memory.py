"""Host memory and bad disk files: disk images are checked before anything
is read and mapped (not read whole), guest RAM is taken only as the guest
touches it.  Each run is `hvmm.cli.main` in a subprocess, which reports its
peak resident set size (VmHWM) on its last stderr line."""

import os
import subprocess
import sys

import pytest

import hvmm

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(hvmm.__file__)))
MIB = 1 << 20

# Runs main(argv) and reports the peak RSS; an address-space limit (bytes,
# 0 = none) turns "read the whole file" into a MemoryError instead of
# letting it eat the host.
RUNNER = """
import resource, sys
limit = int(sys.argv[1])
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from hvmm.cli import main
status = main(sys.argv[2:])
sys.stdout.flush()
# VmHWM: this process image's peak (ru_maxrss would include the forking
# parent's, which Linux carries across exec).
with open("/proc/self/status") as f:
    hwm = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
print("maxrss_kib", hwm, file=sys.stderr)
sys.exit(status)
"""


def run_cli(*args, cwd, as_limit=0, timeout=60):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(as_limit), *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def peak_rss(proc) -> int:
    """The subprocess's peak resident set size in bytes."""
    last = proc.stderr.strip().splitlines()[-1].split()
    assert last[0] == "maxrss_kib", proc.stderr
    return int(last[1]) * 1024


def error_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if not line.startswith("maxrss_kib")]


def boot_sector() -> bytes:
    # cli; hlt, with the boot signature
    return b"\xfa\xf4".ljust(510, b"\0") + b"\x55\xaa"


def sparse_disk(path, size) -> str:
    with open(path, "wb") as f:
        f.write(boot_sector())
        f.truncate(size)
    return str(path)


# ---- files that are not disk images -------------------------------------------------

GIB = 1 << 30


@pytest.mark.parametrize("args, message", [
    (["/dev/zero"], "hard-disk image /dev/zero: is a character device"),
    (["--hda", "/dev/zero"], "hard-disk image /dev/zero: is a character device"),
    (["--floppy", "/dev/urandom"], "floppy image /dev/urandom: is a character device"),
    (["--hda", "{fifo}"], "hard-disk image {fifo}: is a FIFO"),
    (["--floppy", "{dir}"], "floppy image {dir}: is a directory"),
    (["--floppy", "{big}"], "floppy image {big}: 2147483648 bytes is not a floppy size"),
    (["--hda", "{odd}"], "hard-disk image {odd}: 1000 bytes is not a positive multiple of 512"),
])
def test_not_a_disk_image_is_a_one_line_error(tmp_path, args, message):
    """Refused from the file's type and size, before anything is read: under
    a 1 GiB address-space limit, reading /dev/zero or a 2 GiB file whole
    would fail with a MemoryError (or never end)."""
    names = {"fifo": tmp_path / "fifo", "dir": tmp_path / "dir", "big": tmp_path / "big.img",
             "odd": tmp_path / "odd.img"}
    os.mkfifo(names["fifo"])
    names["dir"].mkdir()
    with open(names["big"], "wb") as f:
        f.truncate(2 * GIB)
    names["odd"].write_bytes(bytes(1000))
    args = [a.format(**names) for a in args]
    proc = run_cli("boot", *args, "--headless", cwd=tmp_path, as_limit=GIB, timeout=30)
    assert proc.returncode == 2
    lines = error_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("hvmm: " + message.format(**names)), lines


# ---- mapped disks ----------------------------------------------------------------------


@pytest.mark.parametrize("write", [False, True])
def test_large_sparse_hard_disk_boots_in_little_memory(tmp_path, write):
    """A 20 GiB sparse --hda boots with about the memory of a 1 MiB one: the
    image is mapped, and only the sectors read become resident."""
    small = sparse_disk(tmp_path / "small.img", MIB)
    big = sparse_disk(tmp_path / "big.img", 20 * GIB)
    extra = ["--write"] if write else []
    runs = {}
    for name, path in (("small", small), ("big", big)):
        proc = run_cli("boot", "--hda", path, "--headless", "--max-instructions", 5_000_000,
                       *extra, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr     # the boot sector halts
        runs[name] = peak_rss(proc)
    assert runs["big"] - runs["small"] < 100 * MIB, runs
    assert os.path.getsize(big) == 20 * GIB
    with open(big, "rb") as f:
        assert f.read(512) == boot_sector()          # untouched


def test_mapped_image_copy_on_write_and_write_through(tmp_path):
    from hvmm.disks import HardDiskImage

    path = sparse_disk(tmp_path / "c.img", 64 * 512)
    image = HardDiskImage(path)
    image.write(3, b"\xAA" * 512)
    assert image.read(3, 1) == b"\xAA" * 512 and image.dirty
    image.close()
    with open(path, "rb") as f:
        assert f.read()[3 * 512 : 4 * 512] == bytes(512)      # copy on write
    image = HardDiskImage(path, write=True)
    image.write(3, b"\xBB" * 512)
    image.close()
    with open(path, "rb") as f:
        assert f.read()[3 * 512 : 4 * 512] == b"\xBB" * 512    # written through


# ---- guest RAM ----------------------------------------------------------------------------


def test_guest_ram_is_taken_as_touched(tmp_path):
    """--memory 3072: 3 GiB of guest RAM, of which a halting guest touches a
    page or two; the process stays small."""
    guest = tmp_path / "hlt.bin"
    guest.write_bytes(b"\xfa\xf4")                  # cli; hlt
    proc = run_cli("exec", guest, "--memory", 3072, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert peak_rss(proc) < 200 * MIB


def test_guest_ram_reads_as_zero_and_is_writable():
    from hvmm import Cpu

    cpu = Cpu(memory_size=64 * MIB)
    memory = cpu.memory
    assert len(memory) == 64 * MIB and not memory.readonly
    assert bytes(memory[64 * MIB - 4096:]) == bytes(4096)
    memory[0x3EFFFFE:0x3F00000] = b"\x12\x34"     # (A20 gate off: bit 20 clear)
    assert cpu.read_linear(0x3EFFFFE, 2) == b"\x12\x34"     # the core sees it
