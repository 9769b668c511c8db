"""x87 speed: `pytest bench/test_fpu_speed.py` (pytest-benchmark).

An FPU loop (load, multiply-add, store, compare) beside the integer loop
of test_cpu_speed.py (inc/dec/jnz), in MIPS, on the 686 and 386 models.
The x87 instructions run on the host's x87 (docs/x87.md): each moves the
guest's FPU state in and out of the host unit, which is what this measures.
Nothing here asserts a speed.
"""
import struct

import pytest
from benchutil import load_guest, run_to_halt

#         fninit
#         mov cx, 50000
#         mov bx, 0x2000
#         fld1
# top:    fld qword [bx]
#         fmul qword [bx+8]
#         fadd qword [bx+16]
#         fstp qword [bx+24]
#         fcom qword [bx+24]
#         fnstsw ax
#         loop top
#         cli
#         hlt
FPU_LOOP = bytes.fromhex("dbe3b950c3bb0020d9e8dd07dc4f08dc4710dd5f18dc5718dfe0e2eefaf4")
FPU_LOOP_INSTRUCTIONS = 4 + 50000 * 7 + 2
#         mov cx, 30 ... (test_cpu_speed.TIGHT)
TIGHT = bytes.fromhex("b91e0031db404b75fce2f8faf4")
TIGHT_INSTRUCTIONS = 1 + 30 * (1 + 65536 * 3 + 1) + 2


def _load(image, model):
    cpu = load_guest(image, model)
    cpu.memory[0x2000:0x2018] = struct.pack("<3d", 1.5, 2.25, -0.125)
    return cpu


@pytest.mark.parametrize("model", ["686", "386"])
def test_fpu_loop(benchmark, mips, model):
    benchmark.group = "x87"
    cpus = []

    def setup():
        cpus.append(_load(FPU_LOOP, model))
        return (cpus[-1],), {}

    benchmark.pedantic(run_to_halt, setup=setup, rounds=3, iterations=1, warmup_rounds=1)
    cpu = cpus[-1]
    assert cpu.instructions == FPU_LOOP_INSTRUCTIONS
    assert struct.unpack("<d", bytes(cpu.memory[0x2018:0x2020]))[0] == 1.5 * 2.25 - 0.125
    mips(benchmark, f"x87 load/mul/add/store/compare loop ({model})", FPU_LOOP_INSTRUCTIONS)


@pytest.mark.parametrize("model", ["686"])
def test_integer_loop_686(benchmark, mips, model):
    benchmark.group = "x87"
    cpus = []

    def setup():
        cpus.append(_load(TIGHT, model))
        return (cpus[-1],), {}

    benchmark.pedantic(run_to_halt, setup=setup, rounds=3, iterations=1, warmup_rounds=1)
    assert cpus[-1].instructions == TIGHT_INSTRUCTIONS
    mips(benchmark, f"inc/dec/jnz loop ({model})", TIGHT_INSTRUCTIONS)
