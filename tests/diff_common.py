"""Differential suite, part 1: memory layout, registers, flags, the Case
record and the instruction families (drawn from hvmm's instruction table).
See differential.py for the overview."""
from __future__ import annotations

import dataclasses
import re

import iced_x86 as X
from iced_x86 import Code as C, Register as R, RflagsBits as RF

from hvmm.isa import table as T

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
# families: the instruction forms come from hvmm's instruction table
# (hvmm/isa/table.py, the 386 rows, by their iced-x86 Code names); each
# family selects some of them. Lists are in iced Code order, so a seed
# always draws the same cases.

TABLE_FORMS = {n: f for n, f in T.by_iced().items() if "386" in f.models}


# The 686 model's additions (run on Cpu(model="686"): test_differential_686).
TABLE_FORMS_686 = {n: f for n, f in T.by_iced().items() if "686" in f.models}
for _f in T.ROWS:
    if "686" in _f.models and "386" not in _f.models:
        TABLE_FORMS_686.update({n: _f for n in _f.iced})


def _codes(*names):
    return _codes_re("|".join(names))


def _codes_re(pattern, forms=None):
    rx = re.compile(pattern)
    out = sorted(_CODE_BY_NAME[n] for n in (forms or TABLE_FORMS) if rx.fullmatch(n))
    if not out:
        raise KeyError(f"no table form matches {pattern}")
    return out


def undefined_flags(name: str) -> int:
    """EFLAGS bits the table says the form leaves undefined (not compared)."""
    return (TABLE_FORMS.get(name) or TABLE_FORMS_686[name]).mask("undefined")


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

# Families of the 686 model only (not drawn by the 386 suite).
FAMILIES_686: dict[str, list[int]] = {
    "cmov": _codes_re(r"CMOV" + CC + r"_R(16|32)_RM(16|32)", TABLE_FORMS_686),
    "cmpxchg8b": _codes_re(r"CMPXCHG8B_M64", TABLE_FORMS_686),
    # the multi-byte NOP (0F 1F /0: decodes its memory operand, no access)
    "nop_rm": _codes_re(r"NOP_RM(16|32)", TABLE_FORMS_686),
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


