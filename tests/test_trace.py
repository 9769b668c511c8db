"""--trace and --trace-int (hvmm/trace.py over core/debug.pxi) on
hvmm/guests/debug_demo.bin, whose instruction sequence is known from its
source (guests/debug_demo.asm)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from hvmm.commands.execute import build_machine
from hvmm.trace import Tracer

REPO = Path(__file__).resolve().parents[1]
GUEST = REPO / "hvmm" / "guests" / "debug_demo.bin"

PROLOGUE = [(0x7C00, "cli"), (0x7C01, "xor ax,ax"), (0x7C03, "mov ds,ax"),
            (0x7C05, "mov es,ax"), (0x7C07, "mov ss,ax"), (0x7C09, "mov sp,7C00h"),
            (0x7C0C, "cld"), (0x7C0D, "jmp short 7C50h")]
LOOP = [(0x7C80, "inc word [7C40h]"), (0x7C84, "loop 7C80h")] * 5
SKIP2 = [(0x7CB0, "push bp"), (0x7CB1, "mov bp,sp"), (0x7CB3, "add word [bp+2],2"),
         (0x7CB7, "pop bp"), (0x7CB8, "iret")]


def expected_sequence(want_ud: bool):
    seq = PROLOGUE + [(0x7C50 + 6 * i, None) for i in range(6)]
    seq += [(0x7C74, "mov cx,5"), (0x7C77, "jmp short 7C80h")] + LOOP
    seq += [(0x7C86 + i, "nop") for i in range(10)]
    seq += [(0x7C90, "int 60h"), (0x7CAA, "mov byte [7C42h],1"), (0x7CAF, "iret")]
    seq += [(0x7C92, "xor dx,dx"), (0x7C94, "mov ax,1"), (0x7C97, "xor bx,bx"),
            (0x7C99, "div bx")] + SKIP2
    seq += [(0x7C9B, "cmp byte [7C43h],0"), (0x7CA0, "je short 7CA4h")]
    if want_ud:
        seq += [(0x7CA2, "ud2")] + SKIP2
    return seq + [(0x7CA4, "mov al,[7C40h]"), (0x7CA7, "out 0F4h,al")]


LINE = re.compile(r"^0000:([0-9A-F]{8}) ([0-9A-F]{8})  ((?:[0-9A-F]{2} )+)\s*(.*)$")


def parse(text):
    out = []
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            out.append((int(m.group(1), 16), int(m.group(2), 16),
                        bytes.fromhex(m.group(3)), m.group(4).split("  ;")[0].strip()))
    return out


def test_trace_is_the_instruction_sequence(hvmm_main, tmp_path):
    path = tmp_path / "run.trace"
    status, _, err = hvmm_main("exec", GUEST, "--trace", path)
    assert status == 11, err
    lines = parse(path.read_text())
    want = expected_sequence(want_ud=False)
    assert [(eip, got) for eip, _, _, got in lines] == \
        [(eip, text or got) for (eip, text), (_, _, _, got) in zip(want, lines)]
    assert [eip for eip, *_ in lines] == [eip for eip, _ in want]
    image = GUEST.read_bytes()
    for eip, linear, code, _ in lines:             # bytes as in the image, at CS:IP
        assert linear == eip and code == image[eip - 0x7C00:eip - 0x7C00 + len(code)]
    assert len(lines) == 52                    # what --stats counts as retired (up to the OUT)


def test_trace_range_limit_and_registers(hvmm_main, tmp_path):
    path = tmp_path / "loop.trace"
    status, _, err = hvmm_main("exec", GUEST, "--trace", path, "--trace-regs",
                               "--trace-range", "7C80-7C86", "--trace-limit", "7")
    assert status == 11, err
    text = path.read_text()
    lines = parse(text)
    assert [(eip, t) for eip, _, _, t in lines] == LOOP[:7]
    ecx = [int(m, 16) for m in re.findall(r"ecx=([0-9A-F]{8})", text)]
    assert ecx == [5, 5, 4, 4, 3, 3, 2]           # before each instruction
    assert "(trace limit of 7 instructions reached)" in text


def test_trace_options_need_trace(hvmm_main):
    status, _, err = hvmm_main("exec", GUEST, "--trace-regs")
    assert status == 2 and err.startswith("hvmm: --trace-regs") and len(err.splitlines()) == 1


def test_trace_int_logs_int_n_divide_error_and_invalid_opcode():
    machine = build_machine(GUEST.read_bytes())
    machine.cpu.invalid_opcode_exits = False       # #UD through the IVT
    machine.cpu.memory[0x7C43] = 1                 # want_ud
    log = io.StringIO()
    tracer = Tracer(machine, log, instructions=False, interrupts=True)
    stop = machine.run()
    tracer.close()
    assert stop.reason == "debug_exit" and stop.value == 5
    ints = [line for line in log.getvalue().splitlines() if line.startswith("INT")]
    fields = [re.search(r"v=(\w\w) e=(\S+) i=(\d) cpl=0 IP=0000:(\w+) pc=(\w+) "
                        r"SP=0000:(\w+) -> 0000:(\w+)", line).groups() for line in ints]
    # the state before delivery: SP before the pushes (the guest's stack is at 7C00)
    assert fields == [("60", "----", "1", "00007C90", "00007C90", "00007C00", "00007CAA"),
                      ("00", "----", "0", "00007C99", "00007C99", "00007C00", "00007CB0"),
                      ("06", "----", "0", "00007CA2", "00007CA2", "00007C00", "00007CB0")]


def test_trace_int_page_fault_has_error_code_and_cr2(hvmm_main, tmp_path):
    """hvmm/guests/debug_pm.bin (paging on) stores to C0004000, which is not
    present: a #PF with error code 2 (a supervisor write to a page not
    present) and CR2, logged as QEMU's -d int does, with the state before
    delivery; the handler maps the page and the store is restarted."""
    path = tmp_path / "int.log"
    status, out, err = hvmm_main("exec", "--protected", REPO / "hvmm/guests/debug_pm.bin",
                                 "--trace-int", "--trace", path, "--trace-range",
                                 "C0001018-C0001019")
    assert status == 11 and out == "pm: 5\n", err
    text = path.read_text()
    ints = [line for line in text.splitlines() if line.startswith("INT")]
    assert len(ints) == 1, text
    m = re.fullmatch(r"INT +1: v=0e e=0002 i=0 cpl=0 IP=0008:C0001018 pc=C0001018 "
                     r"SP=0010:00100000 CR2=C0004000 -> 0008:(\w{8}) icount=\d+", ints[0])
    assert m, ints[0]
    image = (REPO / "hvmm/guests/debug_pm.bin").read_bytes()
    handler = int(m.group(1), 16)                  # the #PF handler: mov eax, cr2 after push eax
    assert image[handler - 0x100000:handler - 0x100000 + 4] == bytes.fromhex("500f20d0")
    # the store runs twice, faulting, then restarted (--trace-range: only its
    # line), with the #PF between the two
    assert [line.split()[0] for line in text.splitlines()] == \
        ["0008:C0001018", "INT", "0008:C0001018"], text
    assert "mov dword [0C0004000h],600DF00Dh" in text


def test_interrupt_lines_come_between_the_instructions_around_them():
    """An INT n (counted inside its chunk) and a fault (counted when it is
    delivered) both log the instruction count that puts their line right
    after the instruction that raised them."""
    machine = build_machine(GUEST.read_bytes())
    log = io.StringIO()
    tracer = Tracer(machine, log, interrupts=True)
    machine.run()
    tracer.close()
    lines = log.getvalue().splitlines()
    for what, after, before in (("v=60", "int 60h", "mov byte [7C42h],1"),
                                ("v=00", "div bx", "push bp")):
        i = next(n for n, line in enumerate(lines) if what in line)
        assert lines[i - 1].endswith(after) and lines[i + 1].endswith(before), lines[i - 1:i + 2]
    # without the instruction trace the runs are not stepped: the same counts
    quiet = build_machine(GUEST.read_bytes())
    log2 = io.StringIO()
    tracer = Tracer(quiet, log2, instructions=False, interrupts=True)
    quiet.run()
    tracer.close()
    assert log2.getvalue().splitlines() == [line for line in lines if line.startswith("INT")]


def test_tracing_leaves_the_run_unchanged(tmp_path):
    plain = build_machine(GUEST.read_bytes())
    plain.run()
    traced = build_machine(GUEST.read_bytes())
    tracer = Tracer(traced, io.StringIO(), registers=True, interrupts=True)
    traced.run()
    tracer.close()
    assert traced.cpu.instructions == plain.cpu.instructions
    assert bytes(traced.cpu.memory[:0x8000]) == bytes(plain.cpu.memory[:0x8000])
