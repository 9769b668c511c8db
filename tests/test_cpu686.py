"""The 686 model's integer and system additions (CMOVcc and CMPXCHG8B are
in the Unicorn differential suite): CPUID, RDTSC, the MSRs, RDPMC, the
multi-byte NOP, SYSENTER/SYSEXIT in real mode, and `--cpu 686`."""
import struct

import pytest

from hvmm._core import Cpu

IVT_HLT = 0x500          # every vector points at a HLT here; the frame tells which


def run(code: bytes, model="686", regs=None, cr4=0, budget=1000):
    cpu = Cpu(memory_size=1 << 20, model=model, devices=False)
    cpu.invalid_opcode_exits = False
    for v in range(32):                               # vector v -> 0050:v (a HLT)
        cpu.memory[4 * v:4 * v + 4] = struct.pack("<HH", v, IVT_HLT >> 4)
    cpu.memory[IVT_HLT:IVT_HLT + 32] = b"\xf4" * 32
    cpu.memory[0x7C00:0x7C00 + len(code) + 1] = code + b"\xf4"
    cpu.cs, cpu.eip, cpu.ss, cpu.esp = 0, 0x7C00, 0, 0x7000
    for k, v in (regs or {}).items():
        setattr(cpu, k, v)
    ex = cpu.run(budget)
    fault = cpu.eip - 1 if cpu.cs == IVT_HLT >> 4 else None
    return cpu, ex, fault


def cpuid(leaf, model="686"):
    cpu, _, _ = run(b"\x0f\xa2", model, {"eax": leaf})
    return cpu.eax, cpu.ebx, cpu.ecx, cpu.edx


def test_cpuid_leaves():
    assert cpuid(0)[0] == 2 and struct.pack("<3I", *(cpuid(0)[i] for i in (1, 3, 2))) == b"GenuineIntel"
    eax, ebx, ecx, edx = cpuid(1)
    assert (eax >> 8) & 0xF == 6                               # family 6
    features = {n: bool(edx >> b & 1) for n, b in (("fpu", 0), ("vme", 1), ("de", 2), ("pse", 3),
                ("tsc", 4), ("msr", 5), ("pae", 6), ("mce", 7), ("cx8", 8), ("apic", 9), ("sep", 11),
                ("mtrr", 12), ("pge", 13), ("mca", 14), ("cmov", 15), ("pat", 16), ("pse36", 17),
                ("mmx", 23), ("fxsr", 24))}
    assert {n for n, on in features.items() if on} == {"fpu", "vme", "de", "pse", "tsc", "msr", "mce", "cx8", "sep",
                                                         "mtrr", "pge", "mca", "cmov", "fxsr"}
    assert cpuid(2)[0] & 0xFF == 1                             # one CPUID(2) round
    assert cpuid(0x80000000)[0] == 0x80000004
    brand = b"".join(struct.pack("<4I", *cpuid(0x80000002 + i)) for i in range(3))
    assert brand.rstrip(b"\0").startswith(b"hvmm ")
    assert cpuid(0x1234) == cpuid(2)                           # beyond the last leaf: leaf 2
    assert cpuid(1, "386")[0] == 0x0480                        # the 386 model keeps its own


def test_rdtsc_is_the_virtual_clock():
    # rdtsc; mov esi, eax; nop x 98; rdtsc
    code = b"\x0f\x31\x66\x89\xc6" + b"\x90" * 98 + b"\x0f\x31"
    a, _, _ = run(code)
    b, _, _ = run(code)
    assert (a.eax, a.esi) == (b.eax, b.esi)                    # deterministic
    assert a.eax - a.esi == 100                                # one cycle per instruction at 100 MIPS



@pytest.mark.parametrize("icount", [10**9, 2**64 // 10**9 + 5, 10**12])
def test_virtual_clock_and_tsc_keep_counting_past_2_64_ns_products(icount):
    """Time is icount * 10^9 / ips with a 128-bit product: cut to 64 bits,
    it ran backwards after 2^64 / 10^9 instructions (184 s at 100 MIPS), so a
    Linux guest idle at its shell lost its timer and stopped."""
    cpu = Cpu(memory_size=1 << 20, model="686", devices=False)
    state = cpu.get_cpu_state()
    state["run"]["icount"] = icount
    cpu.set_cpu_state(state)
    assert cpu.time_ns == icount * 10**9 // cpu.ips
    cpu.memory[0x7C00:0x7C03] = b"\x0f\x31\xf4"                 # rdtsc; hlt
    cpu.cs, cpu.eip = 0, 0x7C00
    cpu.run(10)
    tsc = cpu.edx << 32 | cpu.eax
    assert cpu.ips == 10**8 and tsc == icount + 1    # one cycle per instruction, RDTSC included

def test_msrs():
    # wrmsr TSC = 0x1000; rdmsr TSC
    cpu, _, fault = run(b"\x0f\x30\x0f\x32", regs={"ecx": 0x10, "eax": 0x1000, "edx": 5})
    assert fault is None and cpu.edx == 0 and 0x1000 <= cpu.eax < 0x1010   # the high half is cleared
    for msr, value in ((0xFE, 0x508), (0x1B, 0xFEE00100), (0x2FF, 0)):
        cpu, _, fault = run(b"\x0f\x32", regs={"ecx": msr})
        assert fault is None and (cpu.edx << 32 | cpu.eax) == value
    cpu, _, fault = run(b"\x0f\x30\x0f\x32", regs={"ecx": 0x200, "eax": 0x12345006, "edx": 0})
    assert fault is None and cpu.eax == 0x12345006
    for msr in (0x3A, 0xC0000080, 0x1A0):                      # not on this CPU
        _, _, fault = run(b"\x0f\x32", regs={"ecx": msr})
        assert fault == 13
    _, _, fault = run(b"\x0f\x30", regs={"ecx": 0xFE})         # MTRRcap is read-only
    assert fault == 13
    _, _, fault = run(b"\x0f\x30", regs={"ecx": 0x2FF, "eax": 2})   # type 2 is reserved
    assert fault == 13


def test_rdpmc_nop_sysenter_ud2():
    cpu, _, fault = run(b"\x0f\x33", regs={"ecx": 1})
    assert fault is None and (cpu.eax, cpu.edx) == (0, 0)
    _, _, fault = run(b"\x0f\x33", regs={"ecx": 2})
    assert fault == 13
    # nop word [0xFFFF] (no access: no wrap, no fault), then ud2
    cpu, _, fault = run(b"\x0f\x1f\x06\xff\xff\x0f\x0b")
    assert fault == 6 and cpu.memory[0x7000 - 6:0x7000 - 4] == b"\x05\x7c"  # #UD at the UD2
    for code in (b"\x0f\x34", b"\x0f\x35"):                    # SYSENTER/SYSEXIT: #GP(0)
        _, _, fault = run(code)
        assert fault == 13
    for code in (b"\x0f\x31", b"\x0f\x44\xc0", b"\x0f\xc7\x0e\x00\x08"):   # not on the 386
        _, _, fault = run(code, model="386")
        assert fault == 6


def test_cli_accepts_686(hvmm_main):
    status, out, err = hvmm_main("exec", "--cpu", "686", "--help")
    assert status == 0
    with pytest.raises(ValueError, match="686"):
        Cpu(model="586")


MOV_CR4_EAX = b"\x0f\x22\xe0"
MOV_EAX_CR4 = b"\x0f\x20\xe0"


@pytest.mark.parametrize("model, value, ok", [
    ("686", 0x3DF, True),           # VME PVI TSD DE PSE MCE PGE PCE OSFXSR
    ("686", 0x001, True), ("686", 0x002, True), ("686", 0x020, False),      # VME PVI PAE
    ("686", 0x400, False), ("686", 0x800, False), ("686", 0x80000000, False),
    ("386", 0x090, True),           # PSE PGE: what its paging honours
    ("386", 0x004, False), ("386", 0x008, False), ("386", 0x040, False),    # TSD DE MCE
    ("386", 0x100, False), ("386", 0x001, False), ("386", 0x200, False),    # PCE VME OSFXSR
    ("386", 0x002, False),          # PVI
])
def test_cr4_reserved_bits_are_gp(model, value, ok):
    """MOV CR4 setting a bit the model does not implement: #GP(0), CR4
    unchanged (SDM Vol. 3A 2.5)."""
    cpu, _, fault = run(MOV_CR4_EAX + MOV_EAX_CR4, model, {"eax": value, "ecx": 0})
    if ok:
        assert fault is None and cpu.cr4 == value and cpu.eax == value
    else:
        assert fault == 13 and cpu.cr4 == 0
        assert cpu.memory[0x7000 - 6:0x7000 - 4] == b"\x00\x7c"    # at the MOV
        assert cpu.memory[0x7000 - 8:0x7000 - 6] == b"\x00\x00"    # real mode: no error code


def test_the_286_has_no_cr4():
    for code in (MOV_CR4_EAX, MOV_EAX_CR4):
        _, _, fault = run(code, "286", {"eax": 0x10})
        assert fault == 6


def wrmsr(n, value):
    return run(b"\x0f\x30", regs={"ecx": n, "eax": value & 0xFFFFFFFF, "edx": value >> 32})


def rdmsr(n):
    cpu2, _, fault = run(b"\x0f\x32", regs={"ecx": n})
    return None if fault else cpu2.edx << 32 | cpu2.eax


def test_machine_check_msrs():
    """P6 MCA: MCG_CAP 0x105 read-only; MCG_STATUS bits 0-2; MCG_CTL and
    MCi_CTL (all 0s or all 1s) hold what was written; MCi_STATUS/ADDR read 0
    and take only 0; MCi_MISC and banks past 4 do not exist."""
    assert rdmsr(0x179) == 0x105
    assert wrmsr(0x179, 0x105)[2] == 13
    for n in range(5):
        assert rdmsr(0x400 + 4 * n) == 0 and rdmsr(0x401 + 4 * n) == 0 and rdmsr(0x402 + 4 * n) == 0
        assert rdmsr(0x403 + 4 * n) is None                    # MCi_MISC
    assert rdmsr(0x414) is None and rdmsr(0x17C) is None
    ones = (1 << 64) - 1
    for n, value, ok in ((0x17A, 7, True), (0x17A, 8, False), (0x17B, 0x1234, True),
                         (0x404, ones, True), (0x404, 0, True), (0x404, 1, False),
                         (0x405, 0, True), (0x405, 1 << 63, False), (0x406, 0, True),
                         (0x406, 0x1000, False), (0x407, 0, False)):
        assert (wrmsr(n, value)[2] is None) == ok, (hex(n), value)
    code = b"\x0f\x30\x0f\x32"                                  # wrmsr; rdmsr
    for n, value in ((0x17A, 5), (0x17B, ones), (0x410, ones)):
        cpu, _, fault = run(code, regs={"ecx": n, "eax": value & 0xFFFFFFFF, "edx": value >> 32})
        assert fault is None and cpu.edx << 32 | cpu.eax == value
        state = cpu.get_cpu_state()["msr"]                      # what a snapshot keeps
        assert value in (state["mcg_status"], state["mcg_ctl"], state["mc_ctl"][4])
        other = Cpu(memory_size=1 << 20, model="686", devices=False)
        other.set_cpu_state(cpu.get_cpu_state())
        assert other.get_cpu_state()["msr"] == state
        cpu.reset()
        assert cpu.get_cpu_state()["msr"]["mc_ctl"] == [0] * 5
        assert cpu.get_cpu_state()["msr"]["mcg_status"] == cpu.get_cpu_state()["msr"]["mcg_ctl"] == 0


VIF_VIP = 0x180000


def popfd_pushfd(image):        # push dword image; popfd; pushfd; pop eax
    return b"\x66\x68" + struct.pack("<I", image) + b"\x66\x9d\x66\x9c\x66\x58"


@pytest.mark.parametrize("model", ["686", "386"])
@pytest.mark.parametrize("before", [0, VIF_VIP])
def test_popfd_never_changes_vif_vip(model, before):
    """POPFD leaves VIF and VIP as they were (SDM POPF: "VIP, VIF, VM
    unaffected"); PUSHFD shows them (they change only through CR4.VME/PVI,
    IRETD at CPL 0 and task switches: guests/pm/pm_vme.asm)."""
    cpu, _, fault = run(popfd_pushfd(2 | (before ^ VIF_VIP)), model, {"eflags": 2 | before})
    assert fault is None
    assert cpu.eax & VIF_VIP == before and cpu.eflags & VIF_VIP == before
