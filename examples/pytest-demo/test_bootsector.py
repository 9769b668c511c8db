"""Testing a boot sector and a FreeDOS program with hvmm's pytest plugin
(docs/testing.md).  Run it with:

    pytest -p hvmm.testing examples/pytest-demo          # -p: if hvmm is not installed
    pytest -p hvmm.testing -p xdist -n 2 examples/pytest-demo

The boot sector is hvmm's own hello_boot guest (guests/hello_boot.asm):
it greets, prints a string from its second sector, waits for a key and
exits through port 0xF4 with the key's code.  The FreeDOS tests need
FreeDOS's floppy image (HVMM_FREEDOS, or ../shared/images/freedos.img).
"""

import os
from pathlib import Path

import pytest

import hvmm

BOOT_SECTOR = Path(hvmm.__file__).parent / "guests" / "hello_boot.bin"
FREEDOS = Path(os.environ.get("HVMM_FREEDOS",
                              Path(__file__).resolve().parents[3] / "shared/images/freedos.img"))


def test_boot_sector_greets_and_reads_its_second_sector(hvmm_machine):
    pc = hvmm_machine(floppy=BOOT_SECTOR.read_bytes())
    pc.expect_screen("Hello from the boot sector")
    pc.expect_screen("Sector 2 says hello too")
    pc.expect_screen("Press a key:")


def test_boot_sector_exits_with_the_key(hvmm_machine):
    pc = hvmm_machine(floppy=BOOT_SECTOR.read_bytes(), cpu="8086")
    pc.expect_screen("Press a key:")
    pc.type("x")
    stop = pc.run(50_000_000)
    assert stop.reason == "debug_exit" and stop.value == ord("x")


@pytest.fixture(scope="session")
def dos_prompt(hvmm_snapshot):
    """FreeDOS booted to its prompt once per session; each test restores it."""
    if not FREEDOS.is_file():
        pytest.skip(f"needs FreeDOS's floppy image at {FREEDOS} (or set HVMM_FREEDOS)")
    return hvmm_snapshot("dos-prompt", lambda pc: pc.expect_screen("A:\\>"), floppy=FREEDOS)


def test_dos_ver(hvmm_machine, dos_prompt):
    pc = hvmm_machine(snapshot=dos_prompt)
    pc.type("ver\r")
    pc.expect_screen("FreeCom version")


def test_dos_program_writes_a_file(hvmm_machine, dos_prompt):
    # A "program" of the DOS kind: the shell's own ECHO redirected to a
    # file, then TYPE shows it back. Writes go to the in-memory disk only.
    pc = hvmm_machine(snapshot=dos_prompt)
    pc.type("echo hvmm was here > HELLO.TXT\r")
    pc.type("type HELLO.TXT\r")
    pc.expect_screen("hvmm was here\n")
