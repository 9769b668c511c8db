"""I/O breakpoints (core/debugreg.pxi) on the paths guests/pm/pm_iobreak
does not reach: ports a Python device serves (the 'io' exit), where the
#DB frame is pushed before the exit returns and the access completes
before the handler's first instruction; REP OUTSB/INSB to such a port
trapping after every element (one element per exit instead of one block);
a data breakpoint inside REP INSB on an unclaimed port (the trap after
the element that hit, the instruction count exact) and on the source of
REP OUTSB to a Python port (the block ends with that element). Real-mode guests on the
bare 686 core with CR4.DE set through the API (nasm needed)."""

import shutil
import subprocess

import pytest

from hvmm import Cpu

NASM = shutil.which("nasm")
PORT = 0x510                    # claimed by "Python" (the test answers the exits)
FREE = 0x300                    # nobody's: reads all ones
HANDLER = 0x7D00
LOG = 0x600                     # count, then IP, CX, DR6 per #DB (4 bytes each)

# vector 1 -> HANDLER, which logs the frame's IP, CX and DR6 and clears DR6
PROLOGUE = """
    bits 16
    org 0x7C00
    jmp main
    times 0x100 - ($ - $$) db 0
handler:
    push bp
    mov bp, sp
    push bx
    push eax
    mov bx, [0x600]
    shl bx, 2
    mov ax, [bp + 2]
    mov [0x610 + bx], ax
    mov [0x650 + bx], cx
    mov eax, dr6
    mov [0x690 + bx], eax
    xor eax, eax
    mov dr6, eax
    inc word [0x600]
    pop eax
    pop bx
    pop bp
    iret
main:
"""


def build(tmp_path, body):
    """The image and its labels' addresses (nasm's symbol map)."""
    src = tmp_path / "g.asm"
    src.write_text(f"[map symbols {tmp_path / 'g.map'}]" + PROLOGUE + body)
    out = tmp_path / "g.bin"
    subprocess.run([NASM, "-f", "bin", "-o", str(out), str(src)], check=True)
    image = out.read_bytes()
    assert image[0x100:0x101] == b"\x55"        # handler at 0x7D00 (push bp)
    at = {}
    for line in (tmp_path / "g.map").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and all(c in "0123456789ABCDEF" for c in parts[0]):
            at[parts[2]] = int(parts[1], 16)
    return image, at


def machine(image, dr0, dr7):
    cpu = Cpu(memory_size=1 << 20, model="686")
    cpu.memory[0x7C00:0x7C00 + len(image)] = image
    cpu.memory[4:8] = HANDLER.to_bytes(2, "little") + b"\0\0"
    cpu.cs = cpu.ds = cpu.es = cpu.ss = 0
    cpu.ip, cpu.sp = 0x7C00, 0x7000
    cpu.cr4 = 0x8                               # DE
    state = cpu.get_cpu_state()
    state["dr"][0], state["dr"][7] = dr0, dr7
    cpu.set_cpu_state(state)
    cpu.claim_ports(PORT, PORT)
    return cpu


def log(cpu):
    n = int.from_bytes(cpu.memory[LOG:LOG + 2], "little")
    word = lambda a: int.from_bytes(cpu.memory[a:a + 2], "little")
    return [(word(0x610 + 4 * i), word(0x650 + 4 * i),
             int.from_bytes(cpu.memory[0x690 + 4 * i:0x694 + 4 * i], "little") & 0x400F)
            for i in range(n)]


def run(cpu, reads=()):
    """Run to the HLT, answering the exits; each exit as (direction, count,
    data or value, IP at the exit, #DBs logged so far)."""
    reads, exits = list(reads), []
    while True:
        ex = cpu.run(100_000)
        if ex.reason != "io":
            assert ex.reason == "hlt", (ex.reason, ex.detail)
            return exits
        seen = len(log(cpu))
        if ex.direction == "out":
            exits.append(("out", ex.count, getattr(ex, "data", None) or ex.value, cpu.ip, seen))
        else:
            exits.append(("in", ex.count, None, cpu.ip, seen))
            cpu.complete_io(reads.pop(0))


@pytest.mark.skipif(NASM is None, reason="nasm not installed")
def test_out_and_in_on_a_python_port(tmp_path):
    image, at = build(tmp_path, f"""
    mov dx, {PORT}
    mov al, 0x5A
o1: out dx, al
o2: in al, dx
o3: mov [0x700], al
    hlt
""")
    cpu = machine(image, PORT, 0x00020002)          # G0, I/O, 1 byte
    exits = run(cpu, reads=[0x77])
    # each exit comes with the #DB frame pushed (IP at the handler) and the
    # handler not yet run; the IN's value is in AL before it runs
    assert exits == [("out", 1, 0x5A, HANDLER, 0), ("in", 1, None, HANDLER, 1)]
    assert log(cpu) == [(at["o2"], 0, 1), (at["o3"], 0, 1)]
    assert cpu.memory[0x700] == 0x77


@pytest.mark.skipif(NASM is None, reason="nasm not installed")
@pytest.mark.parametrize("dr7, traps", [(0x00020002, True), (0x00020000, False)])
def test_rep_outsb_and_insb_on_a_python_port(tmp_path, dr7, traps):
    image, at = build(tmp_path, f"""
    cld
    mov dx, {PORT}
    mov si, src
    mov cx, 3
r1: rep outsb
r2: mov di, dst
    mov cx, 2
r3: rep insb
r4: hlt
src: db 1, 2, 3
dst: db 0, 0
""")
    cpu = machine(image, PORT, dr7)
    exits = run(cpu, reads=[b"\x0a", b"\x0b"] if traps else [b"\x0a\x0b"])
    dst = at["r4"] + 4
    assert bytes(cpu.memory[dst:dst + 2]) == b"\x0a\x0b"
    if not traps:                                   # one block each way
        assert [(d, n, v) for d, n, v, _, _ in exits] == [("out", 3, b"\1\2\3"), ("in", 2, None)]
        assert log(cpu) == []
        return
    # an element per exit, and a #DB after each: IP on the REP while CX is left
    assert [(d, n, v) for d, n, v, _, _ in exits] == [
        ("out", 1, b"\1"), ("out", 1, b"\2"), ("out", 1, b"\3"), ("in", 1, None), ("in", 1, None)]
    assert all(ip == HANDLER for _, _, _, ip, _ in exits)
    assert log(cpu) == [(at["r1"], 2, 1), (at["r1"], 1, 1), (at["r2"], 0, 1),
                        (at["r3"], 1, 1), (at["r4"], 0, 1)]


@pytest.mark.skipif(NASM is None, reason="nasm not installed")
def test_data_breakpoint_inside_rep_insb(tmp_path):
    """A write breakpoint on the third byte REP INSB stores (from the empty
    bus): #DB after that element with IP on the REP and CX 5, the rest then
    runs; the instruction count is each element plus the handler's."""
    image, at = build(tmp_path, f"""
    cld
    mov dx, {FREE}
    mov di, buf
    mov cx, 8
r1: rep insb
r2: hlt
    align 4
buf: times 8 db 0
""")
    buf = at["r2"] + 1
    buf += (-buf) % 4
    cpu = machine(image, buf + 2, 0x00010002)       # G0, write, 1 byte
    assert run(cpu) == []
    assert log(cpu) == [(at["r1"], 5, 1)]
    assert bytes(cpu.memory[buf:buf + 8]) == b"\xff" * 8
    handler = 18                                    # the handler's instructions, IRET included
    assert cpu.instructions == 1 + 4 + 8 + handler + 1   # jmp, set-up, elements, handler, hlt


@pytest.mark.skipif(NASM is None, reason="nasm not installed")
def test_data_breakpoint_on_the_source_of_rep_outsb_to_a_python_port(tmp_path):
    image, at = build(tmp_path, f"""
    cld
    mov dx, {PORT}
    mov si, src
    mov cx, 5
r1: rep outsb
r2: hlt
    align 4
src: db 1, 2, 3, 4, 5
""")
    src = at["src"]
    cpu = machine(image, src + 1, 0x00030002)       # G0, read or write, 1 byte
    exits = run(cpu)
    assert [(d, n, v) for d, n, v, _, _ in exits] == [("out", 2, b"\1\2"), ("out", 3, b"\3\4\5")]
    assert log(cpu) == [(at["r1"], 3, 1)]
