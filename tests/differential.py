"""Differential testing of hvmm's ``--cpu 386`` model against Unicorn.

This module holds no tests; ``tests/test_differential.py`` drives it.

* :class:`Generator` builds, from a fixed seed, one random instruction per
  case (encoded with iced-x86 for 16-bit code, i.e. real mode with a 16-bit
  code segment) together with a random initial machine state: the eight
  32-bit GPRs, EFLAGS, the six segment selectors, CS:IP and the contents of a
  data window.  The instruction forms are those the 8086 conformance set
  cannot check: 32-bit operands (0x66), 32-bit addressing with ModRM+SIB
  (0x67), the 0x0F opcodes, 186/386 additions, 32-bit string operations...
  Effective addresses are solved so that every memory access lands inside
  the data window (and below 0x10000 within its segment, so real-mode limit
  checks are never hit).
* :class:`UnicornRef` runs a case on Unicorn (UC_MODE_16; segment selectors
  are written, which in real mode loads base = selector << 4).
* :class:`HvmmRunner` runs a case on ``hvmm._core.Cpu(model="386")`` with one
  ``step()``.
* :func:`compare` reports the differences: GPRs, EIP, selectors, the data
  window, and EFLAGS masked to the flags the instruction defines.

Memory layout (linear):

    0x00000-0x003FF  IVT: vector n -> 0300:(4n), i.e. linear 0x3000 + 4n
    0x03000-0x033FF  HLT "handlers" (so a fault in hvmm is recognisable)
    0x20000-0x24FFF  data: DS=2000 ES=2100 FS=2200 GS=2300 SS=2400, each
                     segment's first 4 KiB (WINDOW) is its window
    0x40000-...      code: each case gets a fresh 16-byte slot (so Unicorn's
                     translation cache never sees stale code), reached
                     through a random CS:IP pair
"""
from __future__ import annotations

import dataclasses
import random
from typing import Callable

import iced_x86 as X
from iced_x86 import Code as C, Register as R, RflagsBits as RF, OpCodeOperandKind as K

# --------------------------------------------------------------------------
# layout

WINDOW = 0x1000
MARGIN = 0x100
DATA_SEGS = {"ds": 0x2000, "es": 0x2100, "fs": 0x2200, "gs": 0x2300, "ss": 0x2400}
DATA_LO = 0x20000
DATA_HI = 0x25000
IVT_HANDLER_SEG = 0x0300
CODE_LO = 0x40000
CODE_HI = 0xF0000
CODE_SLOT = 16
MEM_SIZE = 0x110000          # 1 MiB + 64 KiB

SEG_NAMES = ("es", "cs", "ss", "ds", "fs", "gs")
SEG_REG = {"es": R.ES, "cs": R.CS, "ss": R.SS, "ds": R.DS, "fs": R.FS, "gs": R.GS}
REG_SEG = {v: k for k, v in SEG_REG.items()}
GPR_NAMES = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")

R8 = (R.AL, R.CL, R.DL, R.BL, R.AH, R.CH, R.DH, R.BH)
R16 = (R.AX, R.CX, R.DX, R.BX, R.SP, R.BP, R.SI, R.DI)
R32 = (R.EAX, R.ECX, R.EDX, R.EBX, R.ESP, R.EBP, R.ESI, R.EDI)
# iced register -> (gpr index, bit shift, width)
REGINFO = {}
for _i, _r in enumerate(R32):
    REGINFO[_r] = (_i, 0, 32)
for _i, _r in enumerate(R16):
    REGINFO[_r] = (_i, 0, 16)
for _i, _r in enumerate(R8):
    REGINFO[_r] = (_i & 3, 8 if _i >= 4 else 0, 8)

EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI = range(8)

# EFLAGS bits
CF, PF, AF, ZF, SF, TF, IF, DF, OF = 1, 4, 0x10, 0x40, 0x80, 0x100, 0x200, 0x400, 0x800
ARITH = CF | PF | AF | ZF | SF | OF
# Bits compared: 0..14 (status, control, IOPL, NT).  Bits 16+ (RF, VM, AC,
# ID...) are not meaningful for the real-mode instructions generated here.
FLAGS_COMPARE = 0x7FFF
_RF_TO_EFL = {RF.CF: CF, RF.PF: PF, RF.AF: AF, RF.ZF: ZF, RF.SF: SF, RF.OF: OF,
              RF.DF: DF, RF.IF: IF}

FLAG_NAMES = [(CF, "CF"), (PF, "PF"), (AF, "AF"), (ZF, "ZF"), (SF, "SF"),
              (TF, "TF"), (IF, "IF"), (DF, "DF"), (OF, "OF"), (0x3000, "IOPL"),
              (0x4000, "NT"), (2, "bit1")]


def flag_str(v: int) -> str:
    return ",".join(n for b, n in FLAG_NAMES if v & b) or "-"


def iced_flags_to_eflags(bits: int) -> int:
    out = 0
    for k, v in _RF_TO_EFL.items():
        if bits & k:
            out |= v
    return out


_CODE_NAMES = {v: k for k, v in vars(C).items() if not k.startswith("_") and isinstance(v, int)}
_CODE_BY_NAME = {k: v for v, k in _CODE_NAMES.items()}
_FORMATTER = X.Formatter(X.FormatterSyntax.INTEL)


def code_name(code: int) -> str:
    return _CODE_NAMES[code]


def disasm(b: bytes, ip: int = 0) -> str:
    d = X.Decoder(16, b, ip=ip)
    ins = d.decode()
    return _FORMATTER.format(ins)


# --------------------------------------------------------------------------
# a generated case


@dataclasses.dataclass
class Case:
    index: int
    family: str
    code: str                   # iced Code name
    tags: frozenset
    insn: bytes
    text: str
    regs: list                  # 8 x u32 in GPR order
    eflags: int
    segs: dict                  # selectors, incl. cs
    eip: int
    mem: bytes                  # DATA_LO..DATA_HI
    undef_flags: int            # EFLAGS bits not compared
    branch: bool                # control transfer (run with count=1)
    rep: bool                   # REP string (run until next instruction)
    expect_fault: int | None = None   # vector both sides must raise (or None)
    note: str = ""

    @property
    def linear(self) -> int:
        return (self.segs["cs"] << 4) + self.eip

    def memory_operand(self):
        """(linear address, segment name) of the explicit memory operand, or None."""
        d = X.Decoder(16, self.insn, ip=self.eip).decode()
        if not any(d.op_kind(i) == X.OpKind.MEMORY for i in range(d.op_count)):
            return None
        regs = {}
        for n, r in enumerate(R32):
            regs[r] = (self.regs[n], 0xFFFFFFFF)
        for n, r in enumerate(R16):
            regs[r] = (self.regs[n] & 0xFFFF, 0xFFFF)
        amask = 0xFFFF
        ea = d.memory_displacement
        for r, k in ((d.memory_base, 1), (d.memory_index, d.memory_index_scale)):
            if r != R.NONE:
                v, amask = regs[r]
                ea += v * k
        if d.memory_displ_size == 4:
            amask = 0xFFFFFFFF
        seg = REG_SEG.get(d.memory_segment, "ds")
        return (self.segs[seg] << 4) + (ea & amask), seg

    def describe(self) -> str:
        mo = self.memory_operand()
        memtxt = ""
        if mo is not None and DATA_LO <= mo[0] < DATA_HI - 8:
            o = mo[0] - DATA_LO
            memtxt = (f"\n           memory operand {mo[1]}:{mo[0] - (self.segs[mo[1]] << 4):04x} "
                      f"(linear {mo[0]:#x}) = {self.mem[o:o + 8].hex(' ')}")
        regs = " ".join(f"{n}={v:08x}" for n, v in zip(GPR_NAMES, self.regs))
        segs = " ".join(f"{n}={self.segs[n]:04x}" for n in SEG_NAMES)
        return (f"case #{self.index} [{self.family}/{self.code}] "
                f"{self.insn.hex(' ')}  |  {self.text}\n"
                f"  initial: {regs}\n"
                f"           eip={self.eip:08x} eflags={self.eflags:08x} ({flag_str(self.eflags)}) {segs}"
                + memtxt + "\n"
                f"  undefined flags (not compared): {flag_str(self.undef_flags)}"
                + (f"\n  note: {self.note}" if self.note else ""))


# --------------------------------------------------------------------------
# families

def _codes(*names):
    out = []
    for n in names:
        if n not in _CODE_BY_NAME:
            raise KeyError(n)
        out.append(_CODE_BY_NAME[n])
    return out


def _codes_re(pattern, exclude=None):
    import re
    rx = re.compile(pattern)
    ex = re.compile(exclude) if exclude else None
    out = []
    for name, code in _CODE_BY_NAME.items():
        if rx.fullmatch(name) and not (ex and ex.fullmatch(name)):
            oc = X.OpCodeInfo(code)
            if oc.mode16 and oc.encoding == X.EncodingKind.LEGACY:
                out.append(code)
    return sorted(out)


ALU = "(ADD|OR|ADC|SBB|AND|SUB|XOR|CMP)"
CC = "(O|NO|B|AE|E|NE|BE|A|S|NS|P|NP|L|GE|LE|G)"

FAMILIES: dict[str, list[int]] = {
    "alu8": _codes_re(ALU + r"_(RM8_R8|R8_RM8|AL_IMM8|RM8_IMM8|RM8_IMM8_82)"),
    "alu16": _codes_re(ALU + r"_(RM16_R16|R16_RM16|AX_IMM16|RM16_IMM16|RM16_IMM8)"),
    "alu32": _codes_re(ALU + r"_(RM32_R32|R32_RM32|EAX_IMM32|RM32_IMM32|RM32_IMM8)"),
    "test": _codes_re(r"TEST_(RM8_R8|RM16_R16|RM32_R32|AL_IMM8|AX_IMM16|EAX_IMM32|RM8_IMM8|RM16_IMM16|RM32_IMM32)"),
    "inc_dec": _codes_re(r"(INC|DEC)_(R16|R32|RM8|RM16|RM32)"),
    "neg_not": _codes_re(r"(NEG|NOT)_RM(8|16|32)"),
    "mul_1op": _codes_re(r"I?MUL_RM(8|16|32)"),
    "div": _codes_re(r"I?DIV_RM(8|16|32)"),
    "imul_r_rm": _codes("IMUL_R16_RM16", "IMUL_R32_RM32"),
    "imul_r_rm_imm": _codes_re(r"IMUL_R(16|32)_RM(16|32)_IMM(8|16|32)"),
    "shift_1": _codes_re(r"(ROL|ROR|RCL|RCR|SHL|SHR|SAR)_RM(8|16|32)_1"),
    "shift_cl": _codes_re(r"(ROL|ROR|RCL|RCR|SHL|SHR|SAR)_RM(8|16|32)_CL"),
    "shift_imm": _codes_re(r"(ROL|ROR|RCL|RCR|SHL|SHR|SAR)_RM(8|16|32)_IMM8"),
    "shld_shrd_imm": _codes_re(r"SH[LR]D_RM(16|32)_R(16|32)_IMM8"),
    "shld_shrd_cl": _codes_re(r"SH[LR]D_RM(16|32)_R(16|32)_CL"),
    "bt_reg": _codes_re(r"BT[SRC]?_RM(16|32)_R(16|32)"),        # register destination
    "bt_mem_reg": _codes_re(r"BT[SRC]?_RM(16|32)_R(16|32)"),    # memory + register bit offset
    "bt_imm": _codes_re(r"BT[SRC]?_RM(16|32)_IMM8"),
    "bsf_bsr": _codes_re(r"BS[FR]_R(16|32)_RM(16|32)"),
    "movzx": _codes_re(r"MOVZX_R(16|32)_RM(8|16)"),
    "movsx": _codes_re(r"MOVSX_R(16|32)_RM(8|16)"),
    "setcc": _codes_re(r"SET" + CC + r"_RM8"),
    "jcc_rel16": _codes_re(r"J" + CC + r"_REL16"),
    "jcc_rel8": _codes_re(r"J" + CC + r"_REL8_16"),
    "jcxz": _codes("JCXZ_REL8_16", "JECXZ_REL8_16"),
    "loop": _codes_re(r"LOOP(E|NE)?_REL8_16_E?CX"),
    "bswap": _codes("BSWAP_R32"),   # BSWAP r16 (66-less) is undefined: not generated
    "xadd": _codes_re(r"XADD_RM(8|16|32)_R(8|16|32)"),
    # CMPXCHG486_* (0F A6/A7) is the A-step 486 encoding, not generated.
    "cmpxchg": _codes_re(r"CMPXCHG_RM(8|16|32)_R(8|16|32)"),
    "cbw_cwde": _codes("CBW", "CWDE"),
    "cwd_cdq": _codes("CWD", "CDQ"),
    "push_pop_fs_gs": _codes_re(r"(PUSH|POP)[WD]_(FS|GS)"),
    "push_pop_seg": _codes_re(r"(PUSH[WD]_(ES|CS|SS|DS)|POP[WD]_(ES|SS|DS))"),
    "push_pop_reg": _codes_re(r"(PUSH|POP)_R(16|32)"),
    "push_pop_rm": _codes_re(r"(PUSH|POP)_RM(16|32)"),
    "push_imm": _codes("PUSH_IMM16", "PUSHD_IMM32", "PUSHW_IMM8", "PUSHD_IMM8"),
    "pusha_popa": _codes("PUSHAW", "PUSHAD", "POPAW", "POPAD"),
    "pushf_popf": _codes("PUSHFW", "PUSHFD", "POPFW", "POPFD"),
    "enter_leave": _codes("ENTERW_IMM16_IMM8", "ENTERD_IMM16_IMM8", "LEAVEW", "LEAVED"),
    "lea": _codes("LEA_R16_M", "LEA_R32_M"),
    "xchg": _codes_re(r"XCHG_(RM8_R8|RM16_R16|RM32_R32|R16_AX|R32_EAX)"),
    "lahf_sahf": _codes("LAHF", "SAHF"),
    "flag_ops": _codes("CLC", "STC", "CMC", "CLD", "STD"),
    "bound": _codes("BOUND_R16_M1616", "BOUND_R32_M3232"),
    "lds_les": _codes_re(r"L[DE]S_R(16|32)_M16(16|32)"),
    "lfs_lgs_lss": _codes_re(r"L[FGS]S_R(16|32)_M16(16|32)"),
    "mov": _codes_re(r"MOV_(RM8_R8|RM16_R16|RM32_R32|R8_RM8|R16_RM16|R32_RM32|R8_IMM8|R16_IMM16|R32_IMM32|RM8_IMM8|RM16_IMM16|RM32_IMM32)"),
    "mov_moffs": _codes_re(r"MOV_(AL_MOFFS8|AX_MOFFS16|EAX_MOFFS32|MOFFS8_AL|MOFFS16_AX|MOFFS32_EAX)"),
    # MOV r32, Sreg (66 8C with a register destination) leaves the upper half
    # undefined on the 386, so only its memory form is generated (mov_sreg
    # forces memory for it).
    "mov_sreg": _codes("MOV_RM16_SREG", "MOV_R32M16_SREG", "MOV_SREG_RM16"),
    # near/far control transfers, 16- and 32-bit operand size; every target
    # offset stays <= 0xFFFF (a larger EIP is a #GP on a real-mode 386)
    "branch_near": _codes("CALL_REL16", "CALL_REL32_32", "JMP_REL16", "JMP_REL32_32",
                          "CALL_RM16", "CALL_RM32", "JMP_RM16", "JMP_RM32",
                          "RETNW", "RETND", "RETNW_IMM16", "RETND_IMM16"),
    "branch_far": _codes("CALL_PTR1616", "CALL_PTR1632", "JMP_PTR1616", "JMP_PTR1632",
                         "CALL_M1616", "CALL_M1632", "JMP_M1616", "JMP_M1632",
                         "RETFW", "RETFD", "RETFW_IMM16", "RETFD_IMM16", "IRETW", "IRETD"),
    "string": [],      # filled by the string builder
    "string_rep": [],
    "string_a32": [],
}

STRING_OPS = ("movs", "cmps", "stos", "lods", "scas")

# Tags every suite run must produce at least once (386-specific coverage).
COVERAGE_386 = sorted({
    "op32", "a32", "a32_sib", "a32_sib_scaled", "a32_esp_base", "a32_disp32_only",
    "alu32", "inc_dec/op32", "neg_not/op32", "mul_1op/op32", "div/op32",
    "imul_r_rm", "imul_r_rm_imm", "shift_1/op32", "shift_cl/op32", "shift_imm",
    "shift_imm/op32", "shld_shrd_imm", "shld_shrd_cl", "bt_reg", "bt_mem_reg",
    "bt_imm", "bt_imm/mem", "bsf_bsr", "bsf_bsr/zero_src", "movzx", "movsx", "setcc", "jcc_rel16",
    "jcxz/ecx", "loop/ecx", "bswap", "xadd", "xadd/mem", "cmpxchg", "cmpxchg/equal",
    "cmpxchg/mem", "cbw_cwde/op32", "cwd_cdq/op32", "push_pop_fs_gs", "push_pop_reg/op32",
    "push_pop_rm/op32", "push_imm", "push_imm/op32", "pusha_popa/op32",
    "pushf_popf/op32", "enter_leave/op32", "enter_leave/nested", "lea/a32",
    "lea/op32", "xchg/op32", "lahf_sahf", "bound", "bound/op32", "lfs_lgs_lss",
    "lfs_lgs_lss/op32", "lds_les/op32", "mov/op32", "mov_moffs/a32", "mov_sreg",
    "string/op32", "string_rep/op32", "string_a32", "string_a32/rep", "div/fault",
    "segment_override", "string/segment_override",
    "branch_near/op32", "branch_far/op32", "branch_far/mem", "prefix_reordered",
    "prefix_repeated", "lock",
} | {f"string/{op}" for op in STRING_OPS} | {f"string_rep/{op}" for op in STRING_OPS}
  | {f"string_a32/{op}" for op in STRING_OPS})


class Skip(Exception):
    """Raised by a builder to redraw the case."""


# --------------------------------------------------------------------------
# the generator


class State:
    """Mutable initial state under construction."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.g = [self.rand32() for _ in range(8)]
        self.mem = bytearray(rng.randbytes(DATA_HI - DATA_LO))
        self.segs = dict(DATA_SEGS)
        fl = 0x2 | (rng.getrandbits(12) & (ARITH | DF | IF))
        if rng.random() < 0.15:
            fl |= rng.getrandbits(3) << 12      # IOPL, NT
        self.eflags = fl
        # stack pointer always inside the SS window (upper half random)
        self.g[ESP] = (self.g[ESP] & 0xFFFF0000) | rng.randrange(MARGIN, WINDOW - MARGIN)

    # values -----------------------------------------------------------
    def rand32(self) -> int:
        r = self.rng
        k = r.random()
        if k < 0.45:
            return r.getrandbits(32)
        if k < 0.6:
            return r.getrandbits(8)
        if k < 0.7:
            return r.getrandbits(16)
        if k < 0.85:
            return r.choice((0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                             0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 0x80000001))
        return (r.getrandbits(16) << 16) | r.choice((0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x80, 0x7F, 0xFF))

    def randw(self, width: int) -> int:
        return self.rand32() & ((1 << width) - 1)

    # registers --------------------------------------------------------
    def get(self, reg) -> int:
        i, sh, w = REGINFO[reg]
        return (self.g[i] >> sh) & ((1 << w) - 1)

    def set(self, reg, value: int):
        i, sh, w = REGINFO[reg]
        m = ((1 << w) - 1) << sh
        self.g[i] = (self.g[i] & ~m & 0xFFFFFFFF) | ((value << sh) & m)

    # memory -----------------------------------------------------------
    def rd(self, lin: int, n: int) -> int:
        o = lin - DATA_LO
        assert 0 <= o and o + n <= len(self.mem), hex(lin)
        return int.from_bytes(self.mem[o:o + n], "little")

    def wr(self, lin: int, n: int, value: int):
        o = lin - DATA_LO
        assert 0 <= o and o + n <= len(self.mem), hex(lin)
        self.mem[o:o + n] = (value & ((1 << (8 * n)) - 1)).to_bytes(n, "little")

    def seg_base(self, name: str) -> int:
        return self.segs[name] << 4


@dataclasses.dataclass
class Mem:
    op: X.MemoryOperand
    seg: str            # effective segment name
    offset: int         # effective address (offset in segment)
    linear: int
    a32: bool
    base: object
    index: object
    scale: int


class Generator:
    """Deterministic case generator: ``Generator(seed).case(i)`` is fixed."""

    def __init__(self, seed: int, families: list[str] | None = None):
        self.seed = seed
        self.families = families or [f for f in FAMILIES]
        self.encoder = X.Encoder(16)

    # -- memory operands ----------------------------------------------------
    def mem_operand(self, st: State, reserved=(), a32=None, target=None, seg_override=True,
                    lea=False, span=8, tags=None) -> Mem:
        """Random memory operand whose EA lands in [MARGIN, WINDOW-MARGIN)
        of its segment (unless ``lea``: then the registers are left random).
        GPRs in ``reserved`` are neither used as base/index nor modified."""
        rng = st.rng
        if a32 is None:
            a32 = rng.random() < 0.5
        if target is None:
            target = rng.randrange(MARGIN, WINDOW - MARGIN - span)
        t = target
        reserved = set(reserved)
        if a32:
            bases = [None] + [i for i in range(8) if i not in reserved]
            idxs = [None] + [i for i in range(8) if i not in reserved and i != ESP]
            base = None if rng.random() < 0.12 else rng.choice(bases)
            index = None if rng.random() < 0.35 else rng.choice(idxs)
            scale = rng.choice((1, 2, 4, 8))
            if index is None:
                scale = 1
            dmode = rng.choice((0, 1, 4))
            if base is None:
                dmode = 4           # no base: always disp32 in the encoding
            if dmode == 0:
                disp = 0
            elif dmode == 1:
                disp = rng.randrange(-128, 128)
            else:
                disp = rng.getrandbits(32) if rng.random() < 0.3 else rng.randrange(-0x2000, 0x2000)
            mask = 0xFFFFFFFF
            if lea:
                pass
            elif base is None and index is None:
                disp = t
            elif base is None:
                x = t - disp
                x -= x % scale
                t = x + disp
                st.g[index] = (x // scale) & mask
            elif index is None or index != base:
                if index is not None and rng.random() < 0.5:
                    st.g[index] = rng.randrange(0, 0x400)
                iv = st.g[index] * scale if index is not None else 0
                st.g[base] = (t - iv - disp) & mask
            else:   # base == index
                k = 1 + scale
                x = t - disp
                x -= x % k
                t = x + disp
                st.g[base] = (x // k) & mask
            breg = R32[base] if base is not None else R.NONE
            ireg = R32[index] if index is not None else R.NONE
            dsize = {0: 0, 1: 1, 4: 4}[dmode]
            if dmode == 0 and base == EBP:
                dsize = 1
            default_seg = "ss" if base in (ESP, EBP) else "ds"
            if tags is not None:
                tags.add("a32")
                if index is not None or base == ESP:
                    tags.add("a32_sib")
                if index is not None and scale > 1:
                    tags.add("a32_sib_scaled")
                if base == ESP:
                    tags.add("a32_esp_base")
                if base is None and index is None:
                    tags.add("a32_disp32_only")
        else:
            combos = [(EBX, ESI), (EBX, EDI), (EBP, ESI), (EBP, EDI), (ESI, None), (EDI, None),
                      (EBP, None), (EBX, None), (None, None)]
            combos = [c for c in combos if not (set(x for x in c if x is not None) & reserved)]
            base, index = rng.choice(combos)
            scale = 1
            dmode = rng.choice((0, 1, 2))
            if base is None:
                dmode = 2
            if dmode == 0:
                disp = 0
            elif dmode == 1:
                disp = rng.randrange(-128, 128)
            else:
                disp = rng.getrandbits(16)
            if lea:
                pass
            elif base is None:
                disp = t
            else:
                iv = (st.g[index] & 0xFFFF) if index is not None else 0
                bv = (t - iv - disp) & 0xFFFF
                st.g[base] = (st.g[base] & 0xFFFF0000) | bv
            breg = R16[base] if base is not None else R.NONE
            ireg = R16[index] if index is not None else R.NONE
            dsize = {0: 0, 1: 1, 2: 2}[dmode]
            if dmode == 0 and base == EBP and index is None:
                dsize = 1
            default_seg = "ss" if base == EBP else "ds"
            if dsize == 2 and disp >= 0x8000 and base is not None:
                disp -= 0x10000
        seg = default_seg
        segreg = R.NONE
        if seg_override and rng.random() < 0.3:
            seg = rng.choice(("es", "ss", "ds", "fs", "gs"))
            segreg = SEG_REG[seg]
            if tags is not None:
                tags.add("segment_override")
        op = X.MemoryOperand(breg, ireg, scale, disp, dsize, False, segreg)
        # recompute the EA from the final register values (authoritative)
        ea = disp
        if base is not None:
            ea += st.g[base]
        if index is not None:
            ea += st.g[index] * scale
        ea &= 0xFFFFFFFF if a32 else 0xFFFF
        if not lea:
            assert MARGIN // 2 <= ea < WINDOW - MARGIN // 2, (hex(ea), a32, base, index, scale, disp)
        return Mem(op, seg, ea, st.seg_base(seg) + ea, a32, base, index, scale)

    # -- helpers ----------------------------------------------------------
    def encode(self, ins: X.Instruction, ip: int) -> bytes:
        self.encoder.encode(ins, ip)
        return bytes(self.encoder.take_buffer())

    @staticmethod
    def _create(code, ops):
        """Dispatch to Instruction.create_<kinds>(code, *values)."""
        kinds = []
        vals = []
        for kind, v in ops:
            kinds.append(kind)
            vals.append(v)
        name = "create_" + "_".join(kinds) if kinds else "create"
        return getattr(X.Instruction, name)(code, *vals)

    # -- the case --------------------------------------------------------
    def case(self, index: int) -> Case:
        rng = random.Random((self.seed << 32) ^ (index * 0x9E3779B1))
        for _ in range(100):
            family = rng.choice(self.families)
            try:
                return self._build(index, rng, family)
            except Skip:
                continue
        raise RuntimeError("generator could not build a case")

    def _build(self, index, rng, family) -> Case:
        st = State(rng)
        tags = {family}
        slot = index % ((CODE_HI - CODE_LO) // CODE_SLOT)
        lin = CODE_LO + slot * CODE_SLOT
        k = rng.randrange(0, 0xFFF)
        cs = (lin >> 4) - k
        ip = lin - (cs << 4)
        st.segs["cs"] = cs
        ctx = dict(undef=None, branch=False, rep=False, expect_fault=None, note="")

        if family.startswith("string"):
            ins, code = self._string(st, rng, family, tags, ctx)
        elif family.startswith("branch_"):
            code = rng.choice(FAMILIES[family])
            ins = self._branch(st, rng, family, code, tags, ctx, ip)
        else:
            code = rng.choice(FAMILIES[family])
            ins = self._generic(st, rng, family, code, tags, ctx, ip)
        name = code_name(code)
        oc = X.OpCodeInfo(code)
        if oc.operand_size == 32:
            tags.add("op32")
            tags.add(family + "/op32")
        insn = self.encode(ins, ip)
        # LOCK NEG is left out: Unicorn 2.1.4 computes its SF/PF from the
        # wrong value (e.g. f0 67 f6 1a, [edx]=1c -> e4: Unicorn reports
        # SF=0 PF=0); NEG without LOCK is covered.
        if (oc.can_use_lock_prefix and ins.op_count and ins.op0_kind == X.OpKind.MEMORY
                and not name.startswith("NEG_") and rng.random() < 0.15):
            insn = b"\xf0" + insn          # valid LOCK use: memory destination
            tags.add("lock")
        insn = self._mangle_prefixes(rng, insn, tags)
        assert len(insn) <= CODE_SLOT
        text = disasm(insn, ip)
        undef = ctx["undef"]
        if undef is None:
            undef = iced_flags_to_eflags(ins.rflags_undefined)
        return Case(index=index, family=family, code=name, tags=frozenset(tags), insn=insn,
                    text=text, regs=list(st.g), eflags=st.eflags, segs=dict(st.segs), eip=ip,
                    mem=bytes(st.mem), undef_flags=undef, branch=ctx["branch"], rep=ctx["rep"],
                    expect_fault=ctx["expect_fault"], note=ctx["note"])

    PREFIXES = frozenset((0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3))

    def _mangle_prefixes(self, rng, insn, tags):
        """Legacy prefixes may come in any order and may repeat (with one
        segment override and one REP kind, the meaning is unchanged): shuffle
        them half of the time and sometimes repeat one."""
        k = 0
        while k < len(insn) and insn[k] in self.PREFIXES:
            k += 1
        if k == 0:
            return insn
        pre = list(insn[:k])
        if k > 1 and rng.random() < 0.5:
            rng.shuffle(pre)
            if bytes(pre) != insn[:k]:
                tags.add("prefix_reordered")
        if rng.random() < 0.1 and len(insn) < 15:
            pre.insert(rng.randrange(len(pre) + 1), rng.choice(pre))
            tags.add("prefix_repeated")
        return bytes(pre) + insn[k:]

    # -- near/far control transfers --------------------------------------------
    def _branch(self, st, rng, family, code, tags, ctx, ip):
        name = code_name(code)
        op32 = X.OpCodeInfo(code).operand_size == 32
        n = 4 if op32 else 2
        ctx["branch"] = True
        ss = st.seg_base("ss")

        def sp_lin(delta=0):
            return ss + ((st.g[ESP] + delta) & 0xFFFF)

        def selector():
            while True:
                v = rng.getrandbits(16)
                if v != IVT_HANDLER_SEG:
                    return v

        def offset():
            return rng.getrandbits(16)

        if name.startswith("CALL"):
            # a 32-bit far call pushes CS in a dword slot; pre-zero the upper
            # word (zero-extension and a 16-bit store then agree, see PUSH)
            if name.startswith("CALL_PTR16") or name.startswith("CALL_M16"):
                if op32:
                    st.wr(sp_lin(-4) + 2, 2, 0)
        if name.startswith("RET") or name.startswith("IRET"):
            st.wr(sp_lin(0), n, offset())
            if name.startswith("RETF") or name.startswith("IRET"):
                st.wr(sp_lin(n), n, selector() | (rng.getrandbits(16) << 16 if op32 else 0))
            if name.startswith("IRET"):
                fl = (rng.getrandbits(15) & ~TF & ~0x28) | 2
                st.wr(sp_lin(2 * n), n, fl)
            if name.endswith("IMM16"):
                return X.Instruction.create_u32(code, rng.choice((0, 2, 4, rng.getrandbits(16))))
            return X.Instruction.create(code)
        if "_REL" in name:
            return X.Instruction.create_branch(code, offset())
        if "_PTR" in name:
            return X.Instruction.create_far_branch(code, selector(), offset())
        # r/m forms
        if name.endswith("_M1616") or name.endswith("_M1632"):
            mem = self.mem_operand(st, {ESP}, tags=tags)
            tags.add(family + "/mem")
            st.wr(mem.linear, n, offset())
            st.wr(mem.linear + n, 2, selector())
            return X.Instruction.create_mem(code, mem.op)
        if rng.random() < 0.5:
            mem = self.mem_operand(st, {ESP}, tags=tags)
            st.wr(mem.linear, n, offset())
            return X.Instruction.create_mem(code, mem.op)
        r = rng.choice(R32 if op32 else R16)
        i = REGINFO[r][0]
        if op32:
            st.g[i] = offset()
            if i == ESP:    # keep the stack usable
                st.g[ESP] = rng.randrange(MARGIN, WINDOW - MARGIN)
        elif i == ESP:
            pass
        return X.Instruction.create_reg(code, r)

    # -- string instructions --------------------------------------------------
    def _string(self, st, rng, family, tags, ctx):
        op = rng.choice(STRING_OPS)
        size = rng.choice(("b", "w", "d", "d"))
        a32 = family == "string_a32"
        rep = family == "string_rep" or (a32 and rng.random() < 0.6)
        tags.add(f"{family}/{op}")
        if size == "d":
            tags.add(f"{family}/op32")
        if a32 and rep:
            tags.add("string_a32/rep")
        width = {"b": 1, "w": 2, "d": 4}[size]
        repk = X.RepPrefixKind.NONE
        if rep:
            if op in ("cmps", "scas"):
                repk = rng.choice((X.RepPrefixKind.REPE, X.RepPrefixKind.REPNE))
            else:
                repk = rng.choice((X.RepPrefixKind.REPE, X.RepPrefixKind.REPE, X.RepPrefixKind.REPNE))
        seg = R.NONE
        if op in ("movs", "cmps", "lods") and rng.random() < 0.3:
            segname = rng.choice(("es", "ss", "ds", "fs", "gs"))
            seg = SEG_REG[segname]
            tags.add("string/segment_override")
        else:
            segname = "ds"
        # SI / DI / CX
        for r in (ESI, EDI):
            v = rng.randrange(MARGIN, WINDOW - MARGIN)
            st.g[r] = v if a32 else (st.g[r] & 0xFFFF0000) | v
        count = rng.choice((0, 1, 2, 3, rng.randrange(0, 18), rng.randrange(0, 18)))
        st.g[ECX] = count if a32 else (st.g[ECX] & 0xFFFF0000) | count
        if rng.random() < 0.5:
            st.eflags |= DF
        else:
            st.eflags &= ~DF
        # make equal runs likely for REPE/REPNE comparisons
        if op in ("cmps", "scas") and rng.random() < 0.6:
            n = rng.randrange(0, 18) * width
            step = -width if st.eflags & DF else width
            di = st.seg_base("es") + (st.g[EDI] & 0xFFFF)
            si = st.seg_base(segname) + (st.g[ESI] & 0xFFFF)
            acc = st.g[EAX] & ((1 << (8 * width)) - 1)
            for j in range(n // width):
                if op == "cmps":
                    st.wr(di + j * step, width, st.rd(si + j * step, width))
                else:
                    st.wr(di + j * step, width, acc)
        asz = 32 if a32 else 16
        upper = {"movs": "movs", "cmps": "cmps", "stos": "stos", "lods": "lods", "scas": "scas"}[op]
        fn = getattr(X.Instruction, f"create_{upper}{size}")
        if op in ("movs", "cmps", "lods"):
            ins = fn(asz, seg, repk)
        else:
            ins = fn(asz, repk)
        ctx["rep"] = rep
        return ins, ins.code

    # -- everything else ------------------------------------------------------
    def _generic(self, st, rng, family, code, tags, ctx, ip):
        oc = X.OpCodeInfo(code)
        kinds = list(oc.op_kinds())
        name = code_name(code)
        reserved = set()
        force_mem = family in ("bt_mem_reg",) or name in ("MOV_R32M16_SREG",)
        force_reg = family in ("bt_reg",)
        stack = family in ("push_pop_fs_gs", "push_pop_seg", "push_pop_reg", "push_pop_rm",
                           "push_imm", "pusha_popa", "pushf_popf", "enter_leave")
        if stack:
            reserved.add(ESP)
        if family in ("div", "cmpxchg"):
            reserved |= {EAX, EDX}
        if family in ("shift_cl", "shld_shrd_cl"):
            reserved.add(ECX)       # CL is set after the memory operand is solved
        if family == "enter_leave":
            reserved.add(EBP)
            v = rng.randrange(0x200, WINDOW - MARGIN)
            st.g[EBP] = (st.g[EBP] & 0xFFFF0000) | v
        ops = []
        mem = None
        reg_ops = []
        # first pass: registers (so the memory solver can avoid them if needed)
        chosen = []
        for i, k in enumerate(kinds):
            if k in (K.R8_OR_MEM, K.R16_OR_MEM, K.R32_OR_MEM):
                use_mem = force_mem or (not force_reg and rng.random() < 0.5)
                chosen.append("mem" if use_mem else "reg")
            elif k in (K.MEM, K.MEM_OFFS):
                chosen.append("mem")
            else:
                chosen.append(None)
        for i, k in enumerate(kinds):
            width = {K.R8_OR_MEM: 8, K.R16_OR_MEM: 16, K.R32_OR_MEM: 32, K.R8_REG: 8,
                     K.R16_REG: 16, K.R32_REG: 32, K.R8_OPCODE: 8, K.R16_OPCODE: 16,
                     K.R32_OPCODE: 32}.get(k)
            if width is not None and chosen[i] != "mem":
                regs = {8: R8, 16: R16, 32: R32}[width]
                cand = list(regs)
                if family == "div":    # the divisor must not overlap the dividend
                    cand = [r for r in cand if REGINFO[r][0] not in (EAX, EDX)]
                if stack and name.startswith("POP_"):
                    pass
                if family == "bt_mem_reg" or family == "bound":
                    cand = [r for r in cand if REGINFO[r][0] not in (ESP,)]
                r = rng.choice(cand)
                chosen[i] = r
                reg_ops.append(r)
        if family in ("bt_mem_reg", "bound"):
            reserved |= {REGINFO[r][0] for r in reg_ops}
        if family == "push_pop_rm" and name.startswith("POP") and "mem" in chosen:
            pass
        # memory operand
        for i, k in enumerate(kinds):
            if chosen[i] == "mem":
                if k == K.MEM_OFFS:
                    a32 = rng.random() < 0.5
                    t = rng.randrange(MARGIN, WINDOW - MARGIN)
                    segname = "ds"
                    segreg = R.NONE
                    if rng.random() < 0.3:
                        segname = rng.choice(("es", "ss", "ds", "fs", "gs"))
                        segreg = SEG_REG[segname]
                        tags.add("segment_override")
                    if a32:
                        tags.add("a32")
                        tags.add(family + "/a32")
                    op = X.MemoryOperand(R.NONE, R.NONE, 1, t, 4 if a32 else 2, False, segreg)
                    mem = Mem(op, segname, t, st.seg_base(segname) + t, a32, None, None, 1)
                else:
                    lea = family == "lea"
                    mem = self.mem_operand(st, reserved, lea=lea, tags=tags)
                    if mem.a32:
                        tags.add(family + "/a32")
                    tags.add(family + "/mem")
                chosen[i] = mem
        # operand list for the create_* dispatch
        seg_kinds = {K.SEG_REG}
        for i, k in enumerate(kinds):
            c = chosen[i]
            if isinstance(c, Mem):
                ops.append(("mem", c.op))
            elif c is not None:
                ops.append(("reg", c))
            elif k in (K.AL, K.AX, K.EAX, K.CL, K.DX):
                ops.append(("reg", {K.AL: R.AL, K.AX: R.AX, K.EAX: R.EAX, K.CL: R.CL, K.DX: R.DX}[k]))
            elif k in (K.ES, K.CS, K.SS, K.DS, K.FS, K.GS):
                ops.append(("reg", {K.ES: R.ES, K.CS: R.CS, K.SS: R.SS, K.DS: R.DS, K.FS: R.FS,
                                    K.GS: R.GS}[k]))
            elif k in seg_kinds:
                if name == "MOV_SREG_RM16":
                    s = rng.choice((R.ES, R.SS, R.DS, R.FS, R.GS))
                else:
                    s = rng.choice((R.ES, R.CS, R.SS, R.DS, R.FS, R.GS))
                ops.append(("reg", s))
            elif k == K.IMM8_CONST_1:
                ops.append(("u32", 1))
            elif k == K.IMM8:
                ops.append(("u32", self._imm8(st, rng, family, name)))
            elif k == K.IMM16:
                if family == "enter_leave":
                    ops.append(("u32", rng.choice((0, 2, 4, rng.randrange(0, 0x80)))))
                else:
                    ops.append(("u32", st.randw(16)))
            elif k == K.IMM32:
                ops.append(("u32", st.randw(32)))
            elif k in (K.IMM8SEX16, K.IMM8SEX32):
                ops.append(("i32", rng.randrange(-128, 128)))
            elif k in (K.BR16_2, K.BR16_1):
                ctx["branch"] = True
                ops.append(("branch", None))
            else:
                raise NotImplementedError(f"{name}: operand kind {k}")
        # fix ENTER's nesting level
        if family == "enter_leave" and name.startswith("ENTER"):
            lvl = rng.choice((0, 0, 1, 2, 3, 4, 32, 33))
            ops[1] = ("u32", lvl)
            if lvl & 31:
                tags.add("enter_leave/nested")
        # build
        if ops and ops[0][0] == "branch":
            ins = X.Instruction.create_branch(code, ip)
            n = len(self.encode(ins, ip))
            if kinds[0] == K.BR16_2:
                target = rng.getrandbits(16)
            else:
                target = (ip + n + rng.randrange(-128, 128)) & 0xFFFF
            ins = X.Instruction.create_branch(code, target)
        else:
            ins = self._create(code, ops)
        # post-fixups that need the full operand picture
        fix = getattr(self, "_fix_" + family, None)
        if fix is not None:
            fix(st, rng, name, chosen, kinds, mem, tags, ctx)
        if family in ("shift_imm", "shld_shrd_imm"):
            mn = name.split("_")[0]
            width = int(name.split("_")[1][2:])
            ctx["undef"] = self.shift_undef(mn, width, ins.immediate8)
        return ins

    def _imm8(self, st, rng, family, name):
        if family == "shift_imm":
            return rng.choice((0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, rng.randrange(0, 34),
                               rng.randrange(0, 34), rng.getrandbits(8)))
        if family == "shld_shrd_imm":
            return self._shld_count(rng, name)
        if family == "bt_imm":
            return rng.getrandbits(8)
        if family == "enter_leave":
            return 0
        return rng.getrandbits(8)

    @staticmethod
    def _shld_count(rng, name):
        # 16-bit SHLD/SHRD with a masked count above 16 has an undefined
        # result (SDM), so such counts are not generated.
        while True:
            c = rng.choice((0, 1, 2, 15, 16, 31, 32, 33, rng.randrange(0, 40), rng.getrandbits(8)))
            if "16" in name.split("_")[1] and (c & 31) > 16:
                continue
            return c

    # -- per-family fixups ----------------------------------------------------
    def _operand_value(self, st, chosen, i, width):
        c = chosen[i]
        if isinstance(c, Mem):
            return st.rd(c.linear, width // 8)
        return st.get(c)

    def _set_operand(self, st, chosen, i, width, v):
        c = chosen[i]
        if isinstance(c, Mem):
            st.wr(c.linear, width // 8, v)
        else:
            st.set(c, v)

    def _shift_count(self, st, rng, name, chosen, kinds, ctx):
        """Count (raw), width, mnemonic of a shift/rotate and undefined flags."""
        parts = name.split("_")
        mn = parts[0]
        width = int(parts[1][2:])
        last = kinds[-1]
        if last == K.IMM8_CONST_1:
            raw = 1
        elif last == K.CL:
            raw = rng.choice((0, 1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, rng.randrange(0, 34),
                              rng.getrandbits(8)))
            if mn in ("SHLD", "SHRD"):
                raw = self._shld_count(rng, name)
            st.g[ECX] = (st.g[ECX] & ~0xFF) | raw
        else:
            raw = None
        return mn, width, raw

    @staticmethod
    def shift_undef(mn, width, raw):
        c = raw & 31
        if c == 0:
            return 0
        und = 0
        if mn in ("SHL", "SAL", "SHR", "SAR", "SHLD", "SHRD"):
            und |= AF
            if c != 1:
                und |= OF
            if mn in ("SHL", "SHR") and c >= width:
                und |= CF   # SDM: CF undefined when count >= operand size
        else:   # ROL ROR RCL RCR
            if c != 1:
                und |= OF
        return und

    def _fix_shift(self, st, rng, name, chosen, kinds, mem, tags, ctx, imm=None):
        mn, width, raw = self._shift_count(st, rng, name, chosen, kinds, ctx)
        if raw is None:
            raw = imm
        ctx["undef"] = self.shift_undef(mn, width, raw)

    def _fix_shift_1(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        self._fix_shift(st, rng, name, chosen, kinds, mem, tags, ctx)

    def _fix_shift_cl(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        self._fix_shift(st, rng, name, chosen, kinds, mem, tags, ctx)

    def _fix_shld_shrd_cl(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        self._fix_shift(st, rng, name, chosen, kinds, mem, tags, ctx)

    # shift_imm / shld_shrd_imm: the count is in the instruction; _generic
    # derives the undefined flags from it.

    def _fix_bsf_bsr(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        width = int(name.split("_")[2][2:])
        if rng.random() < 0.2:
            self._set_operand(st, chosen, 1, width, 0)
            tags.add("bsf_bsr/zero_src")
            ctx["note"] = "zero source: destination must be left unchanged (both sides)"
        elif rng.random() < 0.3:
            self._set_operand(st, chosen, 1, width, 1 << rng.randrange(width))

    def _fix_bt_mem_reg(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        width = int(name.split("_")[1][2:])
        off = rng.randrange(-8 * 64, 8 * 64)
        self._set_operand(st, chosen, 1, width, off & ((1 << width) - 1))
        if width == 16:
            r = chosen[1]
            i = REGINFO[r][0]
            st.g[i] = (st.g[i] & 0xFFFF) | (st.rand32() & 0xFFFF0000)

    def _fix_div(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        width = int(name.split("_")[1][2:])
        signed = name.startswith("IDIV")
        mask = (1 << width) - 1
        d = self._operand_value(st, chosen, 0, width)
        if rng.random() < 0.04:
            # both must raise #DE: divide by zero or quotient overflow
            tags.add("div/fault")
            ctx["expect_fault"] = 0
            if rng.random() < 0.5:
                self._set_operand(st, chosen, 0, width, 0)
                d = 0
            else:
                if d == 0:
                    d = 1
                    self._set_operand(st, chosen, 0, width, d)
                if signed:
                    ds = d - (1 << width) if d >> (width - 1) else d
                    # quotient outside [-2^(w-1), 2^(w-1)-1]
                    q = rng.choice(((1 << (width - 1)) + rng.randrange(0, 100),
                                    -(1 << (width - 1)) - 1 - rng.randrange(0, 100)))
                    n = q * ds
                else:
                    n = rng.randrange(1 << width, ((1 << (2 * width)) - 1) // d + 1) * d
                self._set_dividend(st, width, n)
            return
        if d == 0:
            d = rng.randrange(1, mask + 1)
            self._set_operand(st, chosen, 0, width, d)
        if not signed:
            q = rng.randrange(0, 1 << rng.randrange(1, width + 1))
            r = rng.randrange(0, d)
            n = q * d + r
        else:
            ds = d - (1 << width) if d >> (width - 1) else d
            lim = (1 << (width - 1)) - 1
            q = rng.randrange(-(1 << rng.randrange(0, width - 1)), 1 << rng.randrange(0, width - 1))
            q = max(-lim, min(lim, q))
            r = rng.randrange(0, abs(ds))
            if q * ds < 0 or (q == 0 and rng.random() < 0.5):
                r = -r
            n = q * ds + r
        self._set_dividend(st, width, n)

    @staticmethod
    def _set_dividend(st, width, n):
        n &= (1 << (2 * width)) - 1
        if width == 8:
            st.set(R.AX, n)
        elif width == 16:
            st.set(R.AX, n & 0xFFFF)
            st.set(R.DX, n >> 16)
        else:
            st.g[EAX] = n & 0xFFFFFFFF
            st.g[EDX] = n >> 32

    def _fix_cmpxchg(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        width = int(name.split("_")[1][2:])
        if rng.random() < 0.5:
            v = self._operand_value(st, chosen, 0, width)
            st.set({8: R.AL, 16: R.AX, 32: R.EAX}[width], v)
            tags.add("cmpxchg/equal")

    def _fix_bound(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        width = 32 if "32" in name.split("_")[1] else 16
        n = width // 8
        m = (1 << width) - 1
        lo = rng.randrange(-(1 << (width - 1)), 1 << (width - 1))
        hi = rng.randrange(lo, min(lo + rng.choice((1, 100, 1 << (width - 1))), 1 << (width - 1)))
        v = rng.randrange(lo, hi + 1)
        st.wr(mem.linear, n, lo & m)
        st.wr(mem.linear + n, n, hi & m)
        st.set(chosen[0], v & m)

    def _fix_loop(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        v = rng.choice((0, 1, 2, st.rand32()))
        if name.endswith("_ECX"):
            st.g[ECX] = v
            tags.add("loop/ecx")
        else:
            st.g[ECX] = (st.g[ECX] & 0xFFFF0000) | (v & 0xFFFF)

    def _fix_jcxz(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        k = rng.random()
        if name.startswith("JECXZ"):
            tags.add("jcxz/ecx")
            st.g[ECX] = 0 if k < 0.4 else (rng.getrandbits(16) << 16 if k < 0.7 else st.rand32())
        else:
            st.g[ECX] = (st.g[ECX] & 0xFFFF0000) | (0 if k < 0.5 else st.randw(16))

    def _fix_pushf_popf(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        if name.startswith("POPF"):
            # only bits a 386 knows in real mode; never TF (a trap would follow)
            v = (rng.getrandbits(15) & ~TF & ~0x28) | 2
            sp = st.seg_base("ss") + (st.g[ESP] & 0xFFFF)
            st.wr(sp, 4 if name == "POPFD" else 2, v)

    def _fix_enter_leave(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        if name == "ENTERD_IMM16_IMM8":
            # 32-bit ENTER on a 16-bit stack: what lands in the upper half of
            # EBP differs between implementations (Unicorn/QEMU: BP only,
            # upper EBP kept; Bochs: EBP = ESP; the 386 manual's pseudocode,
            # "frame-ptr := eSP ... EBP := frame-ptr", reads as zero-extended
            # SP, which hvmm does).  With the upper halves of ESP and EBP zero
            # all three agree, so that is what is generated.
            st.g[ESP] &= 0xFFFF
            st.g[EBP] &= 0xFFFF

    def _fix_push_pop_seg(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        if name.startswith("PUSHD_"):
            # A 32-bit push of a segment register writes the selector either
            # zero-extended or as a 16-bit store leaving the upper word alone
            # (SDM, PUSH); pre-zeroing that word makes both behaviours agree.
            sp = (st.g[ESP] - 4) & 0xFFFF
            st.wr(st.seg_base("ss") + sp + 2, 2, 0)

    _fix_push_pop_fs_gs = _fix_push_pop_seg


# --------------------------------------------------------------------------
# results


@dataclasses.dataclass
class Result:
    regs: list
    eip: int
    eflags: int
    segs: dict
    mem: bytes
    fault: int | None = None         # exception vector raised (hvmm: delivered)
    error: str | None = None         # anything else (unimplemented, emulator error...)
    extra: list = dataclasses.field(default_factory=list)   # self-consistency problems


class UnicornRef:
    """Unicorn in 16-bit mode; a fresh engine per 45056 cases."""

    def __init__(self):
        import unicorn  # noqa: F401
        from unicorn import x86_const as U
        self.U = U
        self.uc = None
        self.used = 0
        self._new()

    def _new(self):
        import unicorn
        U = self.U
        uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_16)
        uc.mem_map(0, MEM_SIZE)
        init_low_memory(lambda a, b: uc.mem_write(a, b))
        self._intr = []

        def hook(uc_, intno, _ud):
            self._intr.append(intno)
            uc_.emu_stop()
        uc.hook_add(unicorn.UC_HOOK_INTR, hook)
        self.uc = uc
        self.gpr_ids = [U.UC_X86_REG_EAX, U.UC_X86_REG_ECX, U.UC_X86_REG_EDX, U.UC_X86_REG_EBX,
                        U.UC_X86_REG_ESP, U.UC_X86_REG_EBP, U.UC_X86_REG_ESI, U.UC_X86_REG_EDI]
        self.seg_ids = {"es": U.UC_X86_REG_ES, "cs": U.UC_X86_REG_CS, "ss": U.UC_X86_REG_SS,
                        "ds": U.UC_X86_REG_DS, "fs": U.UC_X86_REG_FS, "gs": U.UC_X86_REG_GS}
        self.seen_slots = set()

    def run(self, case: Case) -> Result:
        import unicorn
        U = self.U
        lin = case.linear
        if lin in self.seen_slots:
            self._new()         # never re-execute a stale translation
        self.seen_slots.add(lin)
        uc = self.uc
        uc.mem_write(DATA_LO, case.mem)
        uc.mem_write(lin, case.insn + b"\xf4" * (CODE_SLOT - len(case.insn)))
        for name in SEG_NAMES:
            uc.reg_write(self.seg_ids[name], case.segs[name])
        for i, v in zip(self.gpr_ids, case.regs):
            uc.reg_write(i, v)
        uc.reg_write(U.UC_X86_REG_EFLAGS, case.eflags)
        uc.reg_write(U.UC_X86_REG_EIP, case.eip)
        self._intr = []
        error = None
        fault = None
        try:
            if case.rep:
                uc.emu_start(lin, lin + len(case.insn), 2_000_000, 0)
            else:
                uc.emu_start(lin, 0xFFFFFFFF, 2_000_000, 1)
        except unicorn.UcError as e:
            if e.errno == unicorn.UC_ERR_INSN_INVALID:
                fault = 6
            else:
                error = f"unicorn: {e}"
        if self._intr:
            fault = self._intr[0]
        reset = fault is not None or error is not None
        if (fault is None and error is None and not case.branch
                and uc.reg_read(U.UC_X86_REG_EIP) != case.eip + len(case.insn)):
            error = (f"unicorn stopped at eip {uc.reg_read(U.UC_X86_REG_EIP):#x}, not after the "
                     f"instruction ({case.eip + len(case.insn):#x})")
        res = Result(regs=[uc.reg_read(i) & 0xFFFFFFFF for i in self.gpr_ids],
                     eip=uc.reg_read(U.UC_X86_REG_EIP) & 0xFFFFFFFF,
                     eflags=uc.reg_read(U.UC_X86_REG_EFLAGS) & 0xFFFFFFFF,
                     segs={n: uc.reg_read(self.seg_ids[n]) & 0xFFFF for n in SEG_NAMES},
                     mem=bytes(uc.mem_read(DATA_LO, DATA_HI - DATA_LO)),
                     fault=fault, error=error)
        if reset:
            # Unicorn keeps exception state across emu_start() after a fault
            # was stopped in the interrupt hook (the next fault then shows up
            # as #8 or not at all): start afresh.
            self._new()
        return res

    def read_all(self) -> bytes:
        return bytes(self.uc.mem_read(0, MEM_SIZE))


def init_low_memory(write: Callable[[int, bytes], None]):
    ivt = b"".join((4 * n).to_bytes(2, "little") + IVT_HANDLER_SEG.to_bytes(2, "little")
                   for n in range(256))
    write(0, ivt)
    write(IVT_HANDLER_SEG << 4, b"\xf4" * 0x400)


class HvmmRunner:
    """hvmm._core.Cpu(model="386"): one step() per case."""

    def __init__(self, cpu_factory=None):
        if cpu_factory is None:
            from hvmm._core import Cpu

            def cpu_factory():
                return Cpu(memory_size=2 << 20, model="386", devices=False)
        self.factory = cpu_factory
        self.cpu = None
        self.seen_slots = set()
        self._new()

    def _new(self):
        self.cpu = self.factory()
        m = self.cpu.memory

        def write(a, b):
            m[a:a + len(b)] = b
        init_low_memory(write)
        self.seen_slots = set()

    def run(self, case: Case) -> Result:
        lin = case.linear
        if lin in self.seen_slots:
            self._new()
        self.seen_slots.add(lin)
        cpu = self.cpu
        m = cpu.memory
        m[DATA_LO:DATA_HI] = case.mem
        m[lin:lin + CODE_SLOT] = case.insn + b"\xf4" * (CODE_SLOT - len(case.insn))
        for name in SEG_NAMES:
            setattr(cpu, name, case.segs[name])
        for n, v in zip(GPR_NAMES, case.regs):
            setattr(cpu, n, v)
        cpu.eflags = case.eflags
        cpu.eip = case.eip
        error = None
        fault = None
        extra = []
        try:
            ex = cpu.step()
            reason = ex.reason
        except Exception as e:      # noqa: BLE001 - report, don't crash the suite
            reason = "exception"
            error = f"hvmm raised {type(e).__name__}: {e}"
        if reason == "invalid_opcode":
            fault = 6
        elif reason == "hlt" and cpu.cs == IVT_HANDLER_SEG and cpu.eip <= 0x400:
            fault = (cpu.eip - 1) // 4      # delivered, then ran the HLT handler
        elif reason in ("unimplemented", "triple_fault", "breakpoint", "hlt"):
            error = f"hvmm exit {reason}: {getattr(ex, 'detail', '')}"
        segs = {n: getattr(cpu, n) & 0xFFFF for n in SEG_NAMES}
        eip = cpu.eip & 0xFFFFFFFF
        if fault is None and error is None and segs["cs"] == IVT_HANDLER_SEG and eip < 0x400 and eip % 4 == 0:
            fault = eip // 4
        if fault is not None and fault != 6 and error is None:
            # the 386 pushes FLAGS, CS, IP of the faulting instruction
            sp = cpu.sp
            ssb = segs["ss"] << 4
            frame = bytes(m[ssb + sp:ssb + sp + 6])
            pip = int.from_bytes(frame[0:2], "little")
            pcs = int.from_bytes(frame[2:4], "little")
            if (pip, pcs) != (case.eip & 0xFFFF, case.segs["cs"]):
                extra.append(f"fault {fault} frame: pushed CS:IP {pcs:04x}:{pip:04x}, "
                             f"expected {case.segs['cs']:04x}:{case.eip & 0xFFFF:04x} (the faulting instruction)")
        for n in SEG_NAMES:
            try:
                sel, base, _lim, _attr = cpu.segment(n)
            except Exception:      # noqa: BLE001
                break
            if fault is None and base != (sel << 4):
                extra.append(f"{n}: hidden base {base:#x} != selector {sel:#06x} << 4")
        return Result(regs=[getattr(cpu, n) & 0xFFFFFFFF for n in GPR_NAMES], eip=eip,
                      eflags=cpu.eflags & 0xFFFFFFFF, segs=segs, mem=bytes(m[DATA_LO:DATA_HI]),
                      fault=fault, error=error, extra=extra)

    def read_all(self) -> bytes:
        return bytes(self.cpu.memory[0:MEM_SIZE])


# --------------------------------------------------------------------------
# comparison


def compare(case: Case, ref: Result, dut: Result) -> list[str]:
    """Differences, as human-readable lines ('expected' = Unicorn, 'actual' = hvmm)."""
    diffs = []
    if dut.error:
        diffs.append(dut.error)
    if ref.error:
        diffs.append(f"reference error: {ref.error}")
    if diffs:
        return diffs
    if ref.fault is not None or dut.fault is not None or case.expect_fault is not None:
        if ref.fault != dut.fault:
            diffs.append(f"exception: expected {_fault(ref.fault)}, actual {_fault(dut.fault)}")
        elif case.expect_fault is not None and ref.fault != case.expect_fault:
            diffs.append(f"reference did not raise expected #{case.expect_fault}")
        diffs.extend(dut.extra)
        return diffs
    for n, a, b in zip(GPR_NAMES, ref.regs, dut.regs):
        if a != b:
            diffs.append(f"{n}: expected {a:08x}, actual {b:08x}")
    if ref.eip != dut.eip:
        diffs.append(f"eip: expected {ref.eip:08x}, actual {dut.eip:08x}")
    for n in SEG_NAMES:
        if ref.segs[n] != dut.segs[n]:
            diffs.append(f"{n}: expected {ref.segs[n]:04x}, actual {dut.segs[n]:04x}")
    mask = FLAGS_COMPARE & ~case.undef_flags
    if (ref.eflags ^ dut.eflags) & mask:
        d = (ref.eflags ^ dut.eflags) & mask
        diffs.append(f"eflags: expected {ref.eflags & mask:04x}, actual {dut.eflags & mask:04x} "
                     f"(compared bits {mask:04x}; differ: {flag_str(d)})")
    if ref.mem != dut.mem:
        out = []
        for i, (a, b) in enumerate(zip(ref.mem, dut.mem)):
            if a != b:
                out.append(i)
        lo, hi = out[0], out[-1]
        diffs.append(f"memory differs at {len(out)} byte(s), linear {DATA_LO + lo:#x}..{DATA_LO + hi:#x}: "
                     f"expected {ref.mem[lo:min(hi + 1, lo + 16)].hex(' ')}, "
                     f"actual {dut.mem[lo:min(hi + 1, lo + 16)].hex(' ')}")
    diffs.extend(dut.extra)
    return diffs


def _fault(v):
    return "no exception" if v is None else f"#{v}" + {0: "(DE)", 5: "(BR)", 6: "(UD)", 13: "(GP)",
                                                          12: "(SS)"}.get(v, "")


def run_cases(gen: Generator, indices, ref=None, dut=None):
    """Run the given case indices; return (n, [(case, diffs)])."""
    ref = ref or UnicornRef()
    dut = dut or HvmmRunner()
    failures = []
    n = 0
    for i in indices:
        case = gen.case(i)
        d = compare(case, ref.run(case), dut.run(case))
        n += 1
        if d:
            failures.append((case, d))
    return n, failures


def format_failures(failures, limit=10) -> str:
    out = []
    for case, diffs in failures[:limit]:
        out.append(case.describe() + "\n  " + "\n  ".join(diffs))
    if len(failures) > limit:
        out.append(f"... and {len(failures) - limit} more")
    return "\n\n".join(out)


class UnicornCpu:
    """A stand-in for ``hvmm._core.Cpu`` built on Unicorn, implementing the
    slice of the core API the runner uses.  It exists only to check the
    harness itself (Unicorn against Unicorn must never mismatch).  Faults are
    "delivered" by faking the IVT jump and the CS:IP part of the frame."""

    def __init__(self, memory_size=MEM_SIZE, model="386"):
        from unicorn import x86_const as U
        self._U = U
        self._new_uc()
        self._buf = bytearray(max(memory_size, MEM_SIZE))
        self.memory = memoryview(self._buf)
        self.model = model
        self._regs = {}
        self._faults = []
        self._ids = {n: getattr(U, "UC_X86_REG_" + n.upper()) for n in
                     GPR_NAMES + SEG_NAMES + ("eip", "eflags", "sp")}

    def _new_uc(self):
        import unicorn
        self._uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_16)
        self._uc.mem_map(0, MEM_SIZE)
        self._uc.hook_add(unicorn.UC_HOOK_INTR, lambda uc, n, _: (self._faults.append(n), uc.emu_stop()))

    def __setattr__(self, k, v):
        if k in GPR_NAMES or k in SEG_NAMES or k in ("eip", "eflags"):
            self._regs[k] = v
        else:
            object.__setattr__(self, k, v)

    def __getattr__(self, k):
        if k == "sp":
            return self._regs["esp"] & 0xFFFF
        if k in GPR_NAMES or k in SEG_NAMES or k in ("eip", "eflags"):
            return self._regs[k]
        raise AttributeError(k)

    def segment(self, name):
        sel = self._regs[name]
        return sel, sel << 4, 0xFFFF, 0

    def step(self):
        import unicorn
        uc = self._uc
        uc.mem_write(0, bytes(self._buf[:MEM_SIZE]))
        for n in SEG_NAMES:
            uc.reg_write(self._ids[n], self._regs[n])
        for n in GPR_NAMES + ("eflags", "eip"):
            uc.reg_write(self._ids[n], self._regs[n])
        lin = (self._regs["cs"] << 4) + self._regs["eip"]
        uc.ctl_remove_cache(lin, lin + CODE_SLOT)
        self._faults = []
        reason = "budget"
        rep = X.Decoder(16, bytes(self._buf[lin:lin + 16]), ip=self._regs["eip"]).decode()
        try:
            if rep.has_rep_prefix or rep.has_repne_prefix:
                uc.emu_start(lin, lin + rep.len, 2_000_000, 0)
            else:
                uc.emu_start(lin, 0xFFFFFFFF, 2_000_000, 1)
        except unicorn.UcError:
            reason = "invalid_opcode"
        for n in GPR_NAMES + SEG_NAMES + ("eflags", "eip"):
            self._regs[n] = uc.reg_read(self._ids[n])
        self._buf[:MEM_SIZE] = uc.mem_read(0, MEM_SIZE)
        if self._faults:    # pretend delivery through the IVT
            self._regs["cs"] = IVT_HANDLER_SEG
            self._regs["eip"] = 4 * self._faults[0]
            sp = (self._regs["esp"] - 6) & 0xFFFF
            self._regs["esp"] = (self._regs["esp"] & 0xFFFF0000) | sp
            b = (self._regs["ss"] << 4) + sp
            self._buf[b:b + 4] = (rep.ip16.to_bytes(2, "little")
                                  + ((lin - rep.ip16) >> 4).to_bytes(2, "little"))
            self._new_uc()      # see UnicornRef.run
        return _Exit(reason)


@dataclasses.dataclass
class _Exit:
    reason: str
    detail: str = ""
