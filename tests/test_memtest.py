"""memtest86+ 6.10 on the 686 model, boot's default (issue 10's acceptance): its boot
sector enters 32-bit protected mode with a far JMP from 16-bit code to
EIP 0x10000, then it runs with paging, x87 code, CPUID, RDTSC and the
MSRs. The screen names the CPU by CPUID's brand string, shows the cache
sizes of leaf 2 and a CPU clock from the TSC."""
import re

import pytest

from hvmm._core import Cpu

from conftest import SHARED

MEMTEST = SHARED / "images" / "memtest-floppy.img"


def test_far_jump_from_16_bit_code_to_a_32_bit_eip_above_64k():
    """The transfer that memtest86+'s boot sector makes: the 16-bit loop's
    IP mask must not cut the 32-bit target (it once landed at 0010:0000)."""
    cpu = Cpu(memory_size=1 << 21, model="386", devices=False)
    # lgdt [gdtr]; mov eax,cr0; or al,1; mov cr0,eax; jmp dword 08h:12345h
    # gdtr: dw 15, dd gdt; gdt: null, flat 32-bit code
    code = bytes.fromhex("0f0116157c0f20c00c010f22c066ea4523010008000f00207c00009090909090"
                         "0000000000000000ffff0000009acf00")
    cpu.memory[0x7C00:0x7C00 + len(code)] = code
    cpu.memory[0x12345] = 0xF4                              # hlt
    cpu.cs, cpu.eip, cpu.ss, cpu.esp = 0, 0x7C00, 0, 0x7000
    cpu.run(100)
    assert (cpu.cs, cpu.eip) == (0x08, 0x12346)


def test_memtest_reaches_testing(hvmm_cmd, tmp_path):
    if not MEMTEST.is_file():
        pytest.skip(f"needs {MEMTEST} (the ../shared test data, see README 'Test data'; "
                    "HVMM_SHARED=DIR looks elsewhere)")
    # the command: boot's default CPU is the 686
    proc = hvmm_cmd("boot", MEMTEST, "--headless", "--wait", "Status: Testing",
                    "--print-screen", "--timeout", "300", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    screen = proc.stdout
    assert "Memtest86+ v6.10" in screen
    assert "hvmm virtual Pentium Pro-class CPU" in screen         # CPUID 0x80000002-4
    assert re.search(r"L2 Cache:\s+512KB", screen)                 # CPUID 2's descriptor 0x43
    clock = re.search(r"CLK/Temp:\s+(\d+)MHz", screen)            # measured with the TSC
    assert clock and int(clock.group(1)) > 0
    assert "Traceback" not in proc.stderr
