"""Decimal-adjust instructions in the core (hvmm/core/bcd.pxi): behaviour that
differs between the CPU models and that the conformance subsets do not
exercise."""
from __future__ import annotations

import pytest

pytest.importorskip("hvmm._core", reason="hvmm._core is not built "
                    "(python setup.py build_ext --inplace)")

from hvmm._core import Cpu  # noqa: E402

CF, PF, ZF, SF = 0x0001, 0x0004, 0x0040, 0x0080
CODE = (0x2000, 0x0100)     # CS:IP of the AAM
HANDLER = (0x1000, 0x0040)  # INT 0's vector
STACK = (0x3000, 0x0200)    # SS:SP


def _aam_zero(model: str, al: int, flags: int):
    """AAM 0 (D4 00) once; returns the CPU and the FLAGS word it pushed."""
    cpu = Cpu(memory_size=1 << 20, model=model, devices=False)
    cpu.invalid_opcode_exits = False
    mem = cpu.memory
    mem[0:4] = bytes((HANDLER[1] & 0xFF, HANDLER[1] >> 8, HANDLER[0] & 0xFF, HANDLER[0] >> 8))
    code = (CODE[0] << 4) + CODE[1]
    mem[code:code + 2] = b"\xd4\x00"
    cpu.cs, cpu.ip = CODE
    cpu.ss, cpu.sp = STACK
    cpu.ax = 0x1200 | al
    cpu.flags = flags
    ex = cpu.step()
    assert ex.reason == "budget"
    assert (cpu.cs, cpu.ip) == HANDLER            # the divide error was taken
    assert cpu.sp == STACK[1] - 6
    top = (STACK[0] << 4) + cpu.sp
    ip, cs, pushed = (int.from_bytes(mem[top + i:top + i + 2], "little") for i in (0, 2, 4))
    assert cs == CODE[0]
    return cpu, ip, pushed


@pytest.mark.parametrize("al", [0x00, 0x81, 0x7F])
def test_aam_zero_on_the_8086_sets_szp_as_for_a_zero_result(al):
    # SF set, ZF and PF clear before: all three change
    cpu, ip, pushed = _aam_zero("8086", al, 0xF000 | SF | CF)
    assert cpu.ax == 0x1200 | al                   # AX unchanged
    for flags in (cpu.flags, pushed):
        assert flags & (SF | ZF | PF) == ZF | PF, hex(flags)
        assert flags & CF                           # the others are left alone
    assert ip == CODE[1] + 2                        # the 8086 returns past it


def test_aam_zero_on_the_386_leaves_the_flags():
    cpu, ip, pushed = _aam_zero("386", 0x81, SF | CF | 0x0002)
    assert cpu.ax == 0x1281
    for flags in (cpu.flags, pushed):
        assert flags & (SF | ZF | PF | CF) == SF | CF, hex(flags)
    assert ip == CODE[1]                            # a fault: back to the AAM


def test_aam_nonzero_base_unchanged_by_the_fix():
    # AAM 10 on the 8086: AH = AL / 10, AL = AL % 10, SZP from AL
    cpu = Cpu(memory_size=1 << 20, model="8086", devices=False)
    code = (CODE[0] << 4) + CODE[1]
    cpu.memory[code:code + 2] = b"\xd4\x0a"
    cpu.cs, cpu.ip = CODE
    cpu.ax, cpu.flags = 0x0050, 0xF000 | SF
    cpu.step()
    assert cpu.ax == 0x0800 and cpu.flags & (SF | ZF | PF) == ZF | PF
