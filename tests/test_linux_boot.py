"""Direct kernel boot (hvmm/firmware/linux_boot.py, `hvmm boot --kernel`):
the setup header checks, the memory layout, and Debian's 686 kernel's
real-mode setup code running on our BIOS."""

import pytest

from hvmm.errors import ConfigError
from hvmm.firmware import linux_boot
from hvmm.firmware.linux_boot import load_linux, parse_header, plan
from hvmm.pc import PC

from conftest import SHARED

KERNEL = SHARED / "images" / "vmlinuz-686"
INITRD = SHARED / "images" / "initrd-busybox.gz"
MiB = 1 << 20


@pytest.fixture
def kernel():
    if not KERNEL.is_file() or not INITRD.is_file():
        pytest.skip(f"needs {KERNEL} and {INITRD} (the ../shared test data)")
    return KERNEL.read_bytes(), INITRD.read_bytes()


def fake_kernel(version=0x020F, loadflags=0x01, setup_sects=4, size=0x10000):
    k = bytearray(size)
    k[0x1F1] = setup_sects
    k[0x1FE:0x200] = b"\x55\xaa"
    k[0x202:0x206] = b"HdrS"
    k[0x206:0x208] = version.to_bytes(2, "little")
    k[0x211] = loadflags
    k[0x22C:0x230] = (0x37FFFFFF).to_bytes(4, "little")
    k[0x238:0x23C] = (2048).to_bytes(4, "little")
    return bytes(k)


def test_header_of_the_686_kernel(kernel):
    k, initrd = kernel
    h = parse_header(k)
    assert h["protocol"] == 0x020F and h["setup_sects"] == 39
    assert h["initrd_addr_max"] == 0x7FFFFFFF and h["cmdline_size"] == 2047
    assert h["init_size"] > len(k)        # the decompressor's room
    lay = plan(k, initrd, "console=ttyS0", 128 * MiB)
    assert lay.setup_size == 40 * 512 and lay.kernel_size == len(k) - 40 * 512
    assert lay.entry == (0x9020, 0) and lay.stack == (0x9000, 0xE000)
    # the initrd at the top of RAM, page aligned, above the kernel's room
    assert lay.initrd_addr == (128 * MiB - len(initrd)) & ~0xFFF
    assert lay.initrd_addr >= lay.kernel_base + lay.init_size


def test_loader_writes_the_boot_parameters(kernel):
    k, initrd = kernel
    pc = PC(memory_mb=128, debug_stream=None)
    lay = load_linux(pc, k, initrd, "console=ttyS0 quiet")
    mem = pc.cpu.memory
    hdr = bytes(mem[0x90000:0x90000 + lay.setup_size])
    assert hdr[0x202:0x206] == b"HdrS"
    assert hdr[0x210] == 0xFF                                     # type_of_loader
    assert hdr[0x211] & 0x81 == 0x81                              # LOADED_HIGH | CAN_USE_HEAP
    assert int.from_bytes(hdr[0x224:0x226], "little") == 0xDE00   # heap_end_ptr
    assert int.from_bytes(hdr[0x228:0x22C], "little") == 0x9E000  # cmd_line_ptr
    assert int.from_bytes(hdr[0x218:0x21C], "little") == lay.initrd_addr
    assert int.from_bytes(hdr[0x21C:0x220], "little") == len(initrd)
    assert bytes(mem[0x9E000:0x9E014]) == b"console=ttyS0 quiet\0"
    assert bytes(mem[0x100000:0x100000 + 4096]) == k[lay.setup_size:lay.setup_size + 4096]
    assert bytes(mem[lay.initrd_addr:lay.initrd_addr + len(initrd)]) == initrd
    assert pc.disk.kernel_entry == (0x9000, 0xE000)


def test_bad_kernels_and_initrds():
    with pytest.raises(ConfigError, match="not a Linux kernel image"):
        parse_header(bytes(0x2000))
    with pytest.raises(ConfigError, match="2.01 is too old"):
        parse_header(fake_kernel(version=0x0201))
    with pytest.raises(ConfigError, match="zImage"):
        parse_header(fake_kernel(loadflags=0))
    with pytest.raises(ConfigError, match="do not fit"):
        plan(fake_kernel(), bytes(15 * MiB), "", 16 * MiB)
    with pytest.raises(ConfigError, match="--append"):
        plan(fake_kernel(), None, "x" * 3000, 16 * MiB)
    lay = plan(fake_kernel(), bytes(MiB), "", 16 * MiB)
    assert lay.initrd_addr == 15 * MiB


def test_setup_code_runs_on_our_bios(kernel, hvmm_main):
    """The kernel's real-mode setup code runs with our BIOS's services: it
    prints through INT 10h that this CPU model is too old for the 686 kernel
    (the 386 model has no CPUID and shows as a 486; a CPU with CPUID but no
    CMOV would get the feature list instead)."""
    status, out, err = hvmm_main(
        "boot", "--kernel", KERNEL, "--initrd", INITRD, "--append", "console=ttyS0",
        "--cpu", "386", "--memory", "128", "--headless", "--wait", "Unable to boot", "--print-screen",
        "--max-instructions", "50000000")
    assert status == 0, err
    assert "This kernel requires an i586 CPU, but only detected an i486 CPU." in out


def test_command_line_errors(kernel, hvmm_main, tmp_path):
    status, _, err = hvmm_main("boot", "--kernel", KERNEL, "--headless")
    assert status == 2 and err.startswith("hvmm: ") and "MiB of RAM" in err
    bad = tmp_path / "notlinux"
    bad.write_bytes(bytes(4096))
    status, _, err = hvmm_main("boot", "--kernel", bad, "--headless")
    assert status == 2 and "not a Linux kernel image" in err and len(err.splitlines()) == 1
    status, _, err = hvmm_main("boot", "--initrd", INITRD, "--headless")
    assert status == 2 and "--initrd and --append need --kernel" in err
    status, _, err = hvmm_main("boot", "--kernel", KERNEL, "--initrd", bad.parent / "none",
                               "--memory", "128", "--headless")
    assert status == 2 and "cannot read" in err


def test_setup_code_accepts_the_686(kernel, hvmm_main):
    """On the 686 model (family 6 with FPU, CX8 and CMOV in CPUID) the
    setup code's CPU check passes: it goes on to probe EDD, which comes
    after the check, and prints no "requires" line."""
    status, out, err = hvmm_main(
        "boot", "--kernel", KERNEL, "--initrd", INITRD, "--append", "console=ttyS0",
        "--cpu", "686", "--memory", "128", "--headless", "--wait", "Probing EDD",
        "--print-screen", "--max-instructions", "50000000")
    assert status == 0, err
    assert "requires" not in out and "Unable to boot" not in out
    assert "Probing EDD" in out
