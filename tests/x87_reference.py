"""The x87 differential suite's machinery: generated cases, the host's x87
as the reference (tests/x87_host.c, built by the test run), and hvmm's
686/386 models running the same cases as real-mode guest code.

A case is an FPU state (control, status and tag words, TOP, eight 80-bit
registers), one x87 instruction (opcode + ModRM; a memory form's operand is
16 bytes), and the arithmetic flags (FCMOVcc reads them, FCOMI writes them).
The guest loads the state with FRSTOR, runs the instruction, stores with
FNSAVE (16- or 32-bit image, alternately by batch) and PUSHF; the host does
the same from the 32-bit protected-mode image. Compared bit for bit: the
control, status and tag words, the eight registers, the memory operand
after a store, and the flags. Not compared, with the reason:

* the instruction and data pointers and the last opcode of the image: the
  host's are host addresses (and recent hosts no longer keep FCS/FDS/FOP);
* FNSTSW AX's AX: the status word is compared through the image;
* FLDENV, FNSTENV, FRSTOR, FNSAVE as the case's instruction: they are the
  harness's own loads and stores (every case goes through FRSTOR and FNSAVE
  in both sizes); their pointer fields are tested in tests/test_x87.py;
* FISTTP (DB/1, DD/1, DF/1): SSE3, #UD on the P6 (tests/test_x87.py);
* a state with an exception already pending: the host process would take
  SIGFPE; #MF and FERR# delivery are tested in tests/test_x87.py.
"""
from __future__ import annotations

import ctypes
import random
import shutil
import struct
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Register forms that do not exist ((opcode & 7) -> ModRM & 63); the
# P6-only ones (FCMOVcc, FCOMI, FUCOMI) are valid on the 686 model.
INVALID_REG = {1: {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x22, 0x23, 0x26, 0x27, 0x2F},
               2: {0x20 + i for i in range(32) if i != 9},
               3: {0x25, 0x26, 0x27} | set(range(0x38, 0x40)),
               5: set(range(0x30, 0x40)),
               6: {0x18} | set(range(0x1A, 0x20)),
               7: set(range(0x21, 0x28)) | set(range(0x38, 0x40))}
P6_REG = {2: set(range(0x20)), 3: set(range(0x20)) | set(range(0x28, 0x38)), 7: set(range(0x28, 0x38))}
# Memory forms, (opcode & 7, reg) -> operand kind; absent ones are
# excluded (see the module docstring) or invalid.
MEM_FORMS = {}
for _r in range(8):
    MEM_FORMS[(0, _r)] = "m32r"
    MEM_FORMS[(2, _r)] = "m32i"
    MEM_FORMS[(4, _r)] = "m64r"
    MEM_FORMS[(6, _r)] = "m16i"
MEM_FORMS.update({(1, 0): "m32r", (1, 2): "st4", (1, 3): "st4", (1, 5): "cw", (1, 7): "st2",
                  (3, 0): "m32i", (3, 2): "st4", (3, 3): "st4", (3, 5): "m80r", (3, 7): "st10",
                  (5, 0): "m64r", (5, 2): "st8", (5, 3): "st8", (5, 7): "st2",
                  (7, 0): "m16i", (7, 2): "st2", (7, 3): "st2", (7, 4): "bcd", (7, 5): "m64i",
                  (7, 6): "st10", (7, 7): "st8"})


def reg_forms(p6: bool = True):
    out = []
    for op in range(8):
        for m in range(64):
            if m in INVALID_REG.get(op, ()):
                continue
            if not p6 and m in P6_REG.get(op, ()):
                continue
            out.append((0xD8 + op, 0xC0 | m))
    return out


def all_forms(p6: bool = True):
    forms = reg_forms(p6)
    forms += [(0xD8 + op, reg << 3 | 6) for (op, reg) in sorted(MEM_FORMS)]
    return forms


# ---- values ----------------------------------------------------------------------

def ext(sign, exp, mant):
    return (mant & (2**64 - 1)).to_bytes(8, "little") + ((sign << 15) | exp).to_bytes(2, "little")


def special80(rng: random.Random) -> bytes:
    s = rng.getrandbits(1)
    kind = rng.randrange(14)
    top = 1 << 63
    if kind == 0:
        return ext(s, 0, 0)                                       # zero
    if kind == 1:
        return ext(s, 0, rng.getrandbits(62) | 1)                 # denormal
    if kind == 2:
        return ext(s, 0, top | rng.getrandbits(63))               # pseudo-denormal
    if kind == 3:
        return ext(s, 0x7FFF, top)                                # infinity
    if kind == 4:
        return ext(s, 0x7FFF, top | 1 << 62 | rng.getrandbits(62))   # QNaN
    if kind == 5:
        return ext(s, 0x7FFF, top | (rng.getrandbits(62) or 1))   # SNaN
    if kind == 6:
        return ext(s, rng.randrange(1, 0x7FFF), rng.getrandbits(63))  # unnormal (unsupported)
    if kind == 7:
        return ext(s, 0x7FFF, rng.getrandbits(63))                # pseudo-NaN/infinity (unsupported)
    if kind == 8:
        return ext(s, rng.choice((1, 2, 0x7FFE, 0x7FFD)), top | rng.getrandbits(63))  # range edges
    if kind == 9:                                                 # small integers, halves
        v = rng.randrange(-40, 40) / rng.choice((1, 2, 4))
        return float_to_ext(v)
    if kind == 10:                                                # near 1, pi, etc.
        return ext(s, 0x3FFF + rng.randrange(-3, 4), top | rng.getrandbits(63))
    if kind == 11:                                                # around 2^63 (FIST limits)
        return ext(s, 0x3FFF + rng.choice((14, 15, 16, 30, 31, 32, 62, 63, 64)), top | rng.getrandbits(63))
    if kind == 12:                                                # float/double range edges
        return ext(s, 0x3FFF + rng.choice((-126, -127, -149, -150, 127, 128, -1022, -1023,
                                           -1074, -1075, 1023, 1024)), top | rng.getrandbits(63))
    return ext(s, 0x3FFF + rng.randrange(-70, 70), top | rng.getrandbits(63))


def float_to_ext(v: float) -> bytes:
    if v == 0:
        return ext(1 if str(v).startswith("-") else 0, 0, 0)
    import math
    m, e = math.frexp(abs(v))
    return ext(1 if v < 0 else 0, 0x3FFF + e - 1, int(m * 2**64))


def operand(kind: str, rng: random.Random) -> bytes:
    if kind.startswith("st"):
        return rng.randbytes(16)        # a store must overwrite it (or leave it)
    if kind == "cw":
        cw = rng.choice((0x37F, 0x27F, 0x7F, 0xB7F, 0xF7F, 0x37E, 0x360, 0x340, 0x1372))
        if rng.random() < 0.3:
            cw = rng.getrandbits(16)
        return cw.to_bytes(2, "little") + bytes(14)
    if kind == "m32r":
        b = _ieee(rng, 8, 23)
    elif kind == "m64r":
        b = _ieee(rng, 11, 52)
    elif kind == "m80r":
        b = special80(rng)
    elif kind in ("m16i", "m32i", "m64i"):
        n = {"m16i": 2, "m32i": 4, "m64i": 8}[kind]
        v = rng.choice((0, 1, -1, 2**(8 * n - 1) - 1, -2**(8 * n - 1), rng.getrandbits(8 * n - 1),
                        -rng.getrandbits(8 * n - 1), rng.randrange(-1000, 1000)))
        b = (v & (2**(8 * n) - 1)).to_bytes(n, "little")
    else:                                                         # packed BCD
        if rng.random() < 0.8:
            digits = [rng.randrange(10) for _ in range(18)]
        else:
            digits = [rng.randrange(16) for _ in range(18)]       # invalid digits
        b = bytes((digits[2 * i] | digits[2 * i + 1] << 4) for i in range(9))
        b += bytes([rng.choice((0, 0x80, rng.getrandbits(8)))])
    return b + bytes(16 - len(b))


def _ieee(rng, ebits, mbits) -> bytes:
    emax = (1 << ebits) - 1
    s = rng.getrandbits(1)
    k = rng.randrange(8)
    if k == 0:
        e, m = 0, 0
    elif k == 1:
        e, m = 0, rng.getrandbits(mbits) or 1                     # denormal
    elif k == 2:
        e, m = emax, 0                                            # infinity
    elif k == 3:
        e, m = emax, rng.getrandbits(mbits) or 1                  # NaN (quiet or signalling)
    elif k == 4:
        e, m = (emax >> 1) + rng.randrange(-3, 4), rng.getrandbits(mbits)
    elif k == 5:
        e, m = rng.choice((1, emax - 1)), rng.getrandbits(mbits)
    else:
        e, m = rng.randrange(1, emax), rng.getrandbits(mbits)
    v = (s << (ebits + mbits)) | (e << mbits) | m
    return v.to_bytes((1 + ebits + mbits) // 8, "little")


def make_state(rng: random.Random) -> bytes:
    """A 108-byte FSAVE image (32-bit layout, pointers zero) with no
    exception pending."""
    rc = rng.randrange(4) << 10
    pc = rng.choice((0, 2, 3)) << 8
    masks = 0x3F if rng.random() < 0.6 else rng.getrandbits(6)
    cw = 0x40 | rc | pc | masks | (rng.getrandbits(1) << 12)
    flags = rng.getrandbits(6) & masks                            # nothing pending
    top = rng.randrange(8)
    cond = rng.getrandbits(4)
    sw = flags | (rng.getrandbits(1) << 6 if flags & 1 else 0)   # SF only with IE
    sw |= (cond & 7) << 8 | (cond >> 3) << 14 | top << 11
    regs = [special80(rng) for _ in range(8)]
    r = rng.random()
    if r < 0.5:
        empty = [rng.random() < 0.2 for _ in range(8)]
    elif r < 0.75:
        empty = [False] * 8                                       # full: overflow on a push
    else:
        empty = [True] * 8                                        # empty: underflow
    tag = 0
    for i in range(8):                                            # physical register i
        tag |= (3 if empty[i] else rng.choice((0, 1, 2))) << (2 * i)
    env = struct.pack("<IIIIIII", 0xFFFF0000 | cw, 0xFFFF0000 | sw, 0xFFFF0000 | tag, 0, 0, 0, 0xFFFF0000)
    return env + b"".join(regs)


def make_cases(n: int, seed: int, p6: bool = True, forms=None):
    rng = random.Random(seed)
    forms = forms or all_forms(p6)
    cases = []
    for i in range(n):
        op, modrm = forms[i % len(forms)] if i < len(forms) else rng.choice(forms)
        kind = MEM_FORMS.get((op - 0xD8, (modrm >> 3) & 7)) if modrm < 0xC0 else None
        mem = operand(kind, rng) if kind else bytes(16)
        cases.append((op, modrm, make_state(rng), mem, rng.getrandbits(16) & 0x8D5))
    return cases


# ---- the host ------------------------------------------------------------------------

def build_host(tmpdir: Path):
    """Compile x87_host.c into a shared object; None without a C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    so = Path(tmpdir) / "x87_host.so"
    subprocess.run([cc, "-O1", "-shared", "-fPIC", "-o", str(so), str(HERE / "x87_host.c")],
                   check=True, capture_output=True)
    lib = ctypes.CDLL(str(so))
    lib.x87_run.restype = ctypes.c_int
    return lib


def run_host(lib, cases):
    n = len(cases)
    insn = bytes(b for c in cases for b in c[:2])
    state_in = b"".join(c[2] for c in cases)
    mem = ctypes.create_string_buffer(b"".join(c[3] for c in cases), 16 * n)
    out = ctypes.create_string_buffer(108 * n)
    flags = (ctypes.c_uint16 * (2 * n))()
    for i, c in enumerate(cases):
        flags[2 * i] = c[4]
    result = (ctypes.c_int * n)()
    if lib.x87_run(n, insn, state_in, mem, out, flags, result) != 0:
        raise RuntimeError("x87_host: mmap failed")
    out, mem = out.raw, mem.raw
    return [(out[108 * i:108 * i + 108], mem[16 * i:16 * i + 16], flags[2 * i + 1], result[i])
            for i in range(n)]


# ---- hvmm ------------------------------------------------------------------------------

CODE_SEG, DATA_SEG = 0x1000, 0x2000
RECORD = 108 + 16 + 108 + 2


def guest_program(cases, o32: bool = True):
    """The cases as one real-mode guest program: (code at CODE_SEG:0, data
    at DATA_SEG:0, each case's code offsets). Per case: load the flags,
    FRSTOR the state (32- or 16-bit image), run the instruction, FNSAVE,
    PUSHF; the program ends with HLT."""
    code = bytearray()
    data = bytearray(RECORD * len(cases))
    size = 108 if o32 else 94
    pre = b"\x66" if o32 else b""
    starts = []
    for i, (op, modrm, state, mem, fl) in enumerate(cases):
        base = RECORD * i
        starts.append(len(code))
        if o32:
            img = state[:12] + bytes(16) + state[28:]
        else:
            img = b"".join(state[k:k + 2] for k in (0, 4, 8)) + bytes(8) + state[28:]
        data[base:base + size] = img
        data[base + 108:base + 124] = mem
        code += b"\x68" + struct.pack("<H", fl | 2) + b"\x9d"                  # push imm; popf
        code += pre + b"\xdd\x26" + struct.pack("<H", base)                     # frstor [in]
        if modrm >= 0xC0:
            code += bytes((op, modrm))
        else:
            code += bytes((op, (modrm & 0x38) | 6)) + struct.pack("<H", base + 108)
        code += pre + b"\xdd\x36" + struct.pack("<H", base + 124)               # fnsave [out]
        code += b"\x9c\x8f\x06" + struct.pack("<H", base + 232)                 # pushf; pop [flags]
    code += b"\xf4"
    assert len(code) < 0x10000 and len(data) <= 0x10000
    return bytes(code), bytes(data), starts


def program_results(data: bytes, n: int, o32: bool = True):
    """The n cases' results (as run_host's) from the program's data segment
    after it ran."""
    size = 108 if o32 else 94
    out = []
    for i in range(n):
        base = RECORD * i
        img = data[base + 124:base + 124 + size]
        if not o32:                                   # as the 32-bit image
            img = b"".join(img[k:k + 2] + b"\xff\xff" for k in (0, 2, 4)) + bytes(16) + img[14:]
        out.append((img, data[base + 108:base + 124],
                    struct.unpack_from("<H", data, base + 232)[0] & 0x8D5, 0))
    return out


def run_hvmm(cases, model: str = "686", o32: bool = True):
    """The cases as one real-mode guest program; results as run_host's."""
    from hvmm._core import Cpu
    cpu = Cpu(memory_size=1 << 20, model=model, devices=False)
    code, data, _ = guest_program(cases, o32)
    cpu.memory[CODE_SEG * 16:CODE_SEG * 16 + len(code)] = code
    cpu.memory[DATA_SEG * 16:DATA_SEG * 16 + len(data)] = data
    cpu.cs, cpu.ds, cpu.ss = CODE_SEG, DATA_SEG, 0x8000
    cpu.eip, cpu.esp = 0, 0xFFF0
    cpu.cr0 = 0x10 | 0x20                                                  # ET, NE
    ex = cpu.run(len(cases) * 8 + 10)
    if ex.reason != "hlt":
        raise RuntimeError(f"the guest stopped early: {ex!r}")
    return program_results(bytes(cpu.memory[DATA_SEG * 16:DATA_SEG * 16 + len(data)]), len(cases), o32)


def compare(case, want, got, names=("host", "hvmm")):
    """Differences as text lines (empty: bit-exact); `names` label want and got."""
    w, g = names
    diffs = []
    (wimg, wmem, wfl, wsig), (gimg, gmem, gfl, _) = want, got
    if wsig:
        return [f"the {w} took signal {wsig}"]
    for name, a, b in (("cw", 0, 2), ("sw", 4, 6), ("tag", 8, 10)):
        if wimg[a:b] != gimg[a:b]:
            diffs.append(f"{name}: {w} {wimg[a:b][::-1].hex()} {g} {gimg[a:b][::-1].hex()}")
    for i in range(8):
        a = 28 + 10 * i
        if wimg[a:a + 10] != gimg[a:a + 10]:
            diffs.append(f"ST({i}): {w} {wimg[a:a+10][::-1].hex()} {g} {gimg[a:a+10][::-1].hex()}")
    if wmem != gmem:
        diffs.append(f"memory: {w} {wmem.hex()} {g} {gmem.hex()}")
    if wfl != gfl:
        diffs.append(f"flags: {w} {wfl:03x} {g} {gfl:03x}")
    return diffs


def describe(case) -> str:
    op, modrm, state, mem, fl = case
    return (f"{op:02X} {modrm:02X}: cw={state[0:2][::-1].hex()} sw={state[4:6][::-1].hex()} "
            f"tag={state[8:10][::-1].hex()} mem={mem.hex()} flags={fl:03x}\n  regs: "
            + " ".join(state[28 + 10 * i:38 + 10 * i][::-1].hex() for i in range(8)))
