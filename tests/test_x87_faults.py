"""The x87 and the 686's rows under precise faults (docs/faults.md): an x87
memory operand past the segment limit faults before anything changes, LOCK
before an x87 form is #UD, the 686's length limit and shapes, and the FPU
and MSR state in a snapshot of the CPU."""
import json
import struct

import pytest

from hvmm import Cpu

CODE_SEG = 0x1000
STUBS = 0x0050          # vector v's handler: a HLT at 0050:v
DS = 0x2000


def machine(model, code):
    cpu = Cpu(memory_size=1 << 20, model=model, devices=False)
    cpu.invalid_opcode_exits = False
    mem = cpu.memory
    for v in range(32):
        mem[v * 4:v * 4 + 4] = struct.pack("<HH", v, STUBS)
        mem[STUBS * 16 + v] = 0xF4
    mem[CODE_SEG * 16:CODE_SEG * 16 + len(code)] = bytes(code)
    cpu.cs, cpu.ip = CODE_SEG, 0
    cpu.ds = cpu.es = DS
    cpu.ss, cpu.sp = 0x3000, 0x1000
    return cpu


def taken(cpu):
    """The vector whose handler the run stopped in, or None."""
    return cpu.ip - 1 if cpu.cs == STUBS else None


def pushed_ip(cpu):
    return struct.unpack_from("<H", cpu.memory, cpu.ss * 16 + cpu.sp)[0]


def top(cpu):
    return (struct.unpack_from("<H", cpu.fpu_image, 2)[0] >> 11) & 7


@pytest.mark.parametrize("model", ["386", "686"])
def test_x87_store_past_the_limit_faults_with_nothing_written(model):
    # fninit; fld1; fstp tword [FFF8h]: bytes FFF8-10001, past DS's limit
    # (the 686 comes out of reset with every x87 exception unmasked)
    cpu = machine(model, bytes.fromhex("dbe3" "d9e8" "db3ef8ff" "f4"))
    cpu.memory[DS * 16 + 0xFFF0:DS * 16 + 0x10010] = b"\x77" * 32
    cpu.run(10)
    assert taken(cpu) == 13 and pushed_ip(cpu) == 4
    assert cpu.memory[DS * 16 + 0xFFF0:DS * 16 + 0x10010] == b"\x77" * 32
    assert top(cpu) == 7            # ST(0) = 1.0 still on the stack
    # the same store inside the limit is written and pops
    cpu = machine(model, bytes.fromhex("dbe3" "d9e8" "db3ef0ff" "f4"))
    cpu.run(10)
    assert taken(cpu) is None and top(cpu) == 0
    assert cpu.memory[DS * 16 + 0xFFF0:DS * 16 + 0xFFFA] == bytes.fromhex("0000000000000080ff3f")


@pytest.mark.parametrize("model", ["386", "686"])
def test_x87_load_past_the_limit_faults_before_the_stack_moves(model):
    cpu = machine(model, bytes.fromhex("db2efaff" "f4"))     # fld tword [FFFAh]
    cpu.run(10)
    assert taken(cpu) == 13 and pushed_ip(cpu) == 0 and top(cpu) == 0


@pytest.mark.parametrize("model", ["386", "686"])
@pytest.mark.parametrize("code,ud", [
    ("f0d9e8", True),               # lock fld1
    ("f0d9060010", True),           # lock fld dword [1000h]
    ("f0dd1e0010", True),           # lock fstp qword [1000h]
    ("d9e8", False),
])
def test_lock_before_an_x87_form_is_ud(model, code, ud):
    cpu = machine(model, bytes.fromhex(code) + b"\xf4")
    cpu.run(5)
    assert (taken(cpu) == 6) == ud
    if ud:
        assert pushed_ip(cpu) == 0


def test_lock_cmpxchg8b_is_lockable_on_the_686_only():
    code = bytes.fromhex("f00fc70e0010" "f4")               # lock cmpxchg8b [1000h]
    cpu = machine("686", code)
    cpu.run(5)
    assert taken(cpu) is None and cpu.memory[DS * 16 + 0x1000] == 0
    cpu = machine("686", bytes.fromhex("f00fc7c8f4"))      # register form
    cpu.run(5)
    assert taken(cpu) == 6
    cpu = machine("386", code)
    cpu.run(5)
    assert taken(cpu) == 6


@pytest.mark.parametrize("prefixes,fault", [(9, False), (10, True)])
def test_686_length_limit_counts_its_own_forms(prefixes, fault):
    # ds: x n, cmove eax,[bp+1000h] (66 0F 44 86 0010): 6 bytes after the
    # prefixes; only the 686's shape table knows 0F 44 has a ModRM
    code = b"\x3e" * prefixes + bytes.fromhex("660f44860010") + b"\xf4"
    cpu = machine("686", code)
    cpu.memory[DS * 16 + 0x1000:DS * 16 + 0x1004] = b"\x11\x22\x33\x44"
    cpu.run(5)
    if fault:
        assert taken(cpu) == 13 and pushed_ip(cpu) == 0
    else:
        assert taken(cpu) is None


def test_cpu_state_carries_the_x87_and_the_msrs():
    # fninit; fld1; fldpi; wrmsr SYSENTER_CS (ECX=174h, EDX:EAX = 0:0008); hlt
    code = bytes.fromhex("dbe3" "d9e8" "d9eb" "66b974010000" "66b808000000" "6631d2" "0f30" "f4")
    cpu = machine("686", code)
    cpu.run(20)
    assert taken(cpu) is None and top(cpu) == 6
    state = json.loads(json.dumps(cpu.get_cpu_state()))
    other = Cpu(memory_size=1 << 20, model="686", devices=False)
    assert other.fpu_image != cpu.fpu_image
    other.set_cpu_state(state)
    assert other.fpu_image == cpu.fpu_image
    assert other.get_cpu_state() == cpu.get_cpu_state()
    assert state["msr"]["sysenter"][0] == 8
