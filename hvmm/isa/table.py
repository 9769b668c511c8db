"""The instruction table: every opcode form hvmm's core knows, once.

One `Form` per opcode (group opcodes: one per ModRM reg value). Opcodes of
the two-byte page are 0x100 | second byte (0F 01 is 0x101), which is also
how the core numbers them. Operands use the Intel manual's notation (Eb,Gb
Ev,Iz ...; v = word or dword by operand size, z = word or dword immediate,
p = far pointer, a = BOUND pair, s = descriptor-table register image).

A form exists on the CPU models in `models`. Where a model does something
else with the same encoding (the 8086's Jcc aliases at 0x60-0x6F, its
RET/RETF aliases at C0/C1/C8/C9, POP CS at 0x0F, its PUSH SP, the sreg
field masked to 2 bits in 8C/8E), that is a separate row for that model:
the generator builds one opcode switch per model from the rows of that
model, so no instruction body tests the model at run time. A later model
(286, 686) is a new name in MODELS and its rows; an instruction that exists
only in protected mode says so with `pm_only` (real and V86 mode raise #UD).

`body` is Cython: one statement, run after the ModRM byte is decoded
(`modrm` says whether the generator decodes it first). Names in scope: c
(CpuState*), d (Insn*), op (the opcode), o32 (operand size is 32 bits, a
compile-time constant), eip (the instruction's EIP; jumps take &eip),
left (the loop's budget: faults and exits stop it). Anything longer is a
`cdef inline ... noexcept nogil` helper in a family file (core/*.pxi).
"""
from __future__ import annotations

try:
    from .form import (ALL, ARITH, FLAG_BITS, I286, I386, I686, I8086, INSN_LIMIT, LOCK_UD,  # noqa: F401
                       MODELS, ONLY286, ONLY386, OPERAND_SIZE_32, Form)
except ImportError:                     # loaded as a top-level module (generate.py as a script)
    from form import (ALL, ARITH, FLAG_BITS, I286, I386, I686, I8086, INSN_LIMIT, LOCK_UD,  # type: ignore  # noqa: F401
                      MODELS, ONLY286, ONLY386, OPERAND_SIZE_32, Form)

ROWS: list[Form] = []


def row(opcode, mnemonic, operands="", body="pass", **kw):
    ROWS.append(Form(opcode, mnemonic, operands, body, **kw))


def _iced(*names):
    return tuple(n for n in names if n)


# ---- ALU: ADD OR ADC SBB AND SUB XOR CMP, six encodings each ---------------
ALU_OPS = ("ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP")


def _alu_flags(n):
    return dict(flags=ARITH, undefined="A" if ALU_OPS[n] in ("OR", "AND", "XOR") else "")


for n, mn in enumerate(ALU_OPS):
    base = n << 3
    lockable = mn != "CMP"
    fl = _alu_flags(n)
    row(base + 0, mn, "Eb,Gb", f"alu_eb_gb(c, d, {n})", lock=lockable,
        iced=_iced(f"{mn}_RM8_R8"), **fl)
    row(base + 1, mn, "Ev,Gv", f"alu_ev_gv(c, d, {n}, o32)", lock=lockable,
        iced=_iced(f"{mn}_RM16_R16", f"{mn}_RM32_R32"), **fl)
    row(base + 2, mn, "Gb,Eb", f"alu_gb_eb(c, d, {n})", iced=_iced(f"{mn}_R8_RM8"), **fl)
    row(base + 3, mn, "Gv,Ev", f"alu_gv_ev(c, d, {n}, o32)",
        iced=_iced(f"{mn}_R16_RM16", f"{mn}_R32_RM32"), **fl)
    row(base + 4, mn, "AL,Ib", f"alu_al_ib(c, d, {n})", iced=_iced(f"{mn}_AL_IMM8"), **fl)
    row(base + 5, mn, "eAX,Iz", f"alu_eax_iz(c, d, {n}, o32)",
        iced=_iced(f"{mn}_AX_IMM16", f"{mn}_EAX_IMM32"), **fl)

# ---- segment register push/pop, prefixes, BCD --------------------------------
SREGS = ("ES", "CS", "SS", "DS", "FS", "GS")
for s in range(4):
    row((s << 3) + 6, "PUSH", SREGS[s], "pushv(c, c.seg[op >> 3].sel, o32)",
        iced=_iced(f"PUSHW_{SREGS[s]}", f"PUSHD_{SREGS[s]}"))
row(0x07, "POP", "ES", "pop_sreg(c, op >> 3, o32)", iced=_iced("POPW_ES", "POPD_ES"))
row(0x17, "POP", "SS", "pop_ss(c, o32)", iced=_iced("POPW_SS", "POPD_SS"),
    note="no interrupt before the next instruction")
row(0x1F, "POP", "DS", "pop_sreg(c, op >> 3, o32)", iced=_iced("POPW_DS", "POPD_DS"))
row(0x0F, "POP", "CS", "pop_cs(c, d, &eip)", models=I8086, note="the 0F page escape on later parts")
row(0x0F, "(0F page)", "", "", models=I286, escape=True, note="escape to the two-byte opcodes")
for b, s in ((0x26, 0), (0x2E, 1), (0x36, 2), (0x3E, 3)):
    row(b, SREGS[s] + ":", prefix=f"PX_SEG + S_{SREGS[s]}")
row(0x64, "FS:", prefix="PX_SEG + S_FS", models=I386)
row(0x65, "GS:", prefix="PX_SEG + S_GS", models=I386)
row(0x66, "OPSIZE:", prefix="PX_OPSIZE", models=I386)
row(0x67, "ADDRSIZE:", prefix="PX_ADDRSIZE", models=I386)
row(0xF0, "LOCK", prefix="PX_LOCK")
row(0xF1, "LOCK", prefix="PX_LOCK", models=I8086 | ONLY286, note="undocumented alias of F0")
row(0xF2, "REPNE", prefix="PX_REPNE")
row(0xF3, "REP", prefix="PX_REP")
for models, i8086 in ((I286, 0), (I8086, 1)):    # the 8086's BCD quirks: see bcd.pxi
    row(0x27, "DAA", "", f"op_daa_das(c, 0, {i8086})", models=models, flags=ARITH, undefined="O")
    row(0x2F, "DAS", "", f"op_daa_das(c, 1, {i8086})", models=models, flags=ARITH, undefined="O")
    row(0x37, "AAA", "", f"op_aaa(c, {i8086})", models=models, flags=ARITH, undefined="OSZP",
        note="AL and AH adjusted separately" if i8086 else "")
    row(0x3F, "AAS", "", f"op_aas(c, {i8086})", models=models, flags=ARITH, undefined="OSZP",
        note="AL and AH adjusted separately" if i8086 else "")

# ---- one-byte register forms ---------------------------------------------------
REGV = ("eAX", "eCX", "eDX", "eBX", "eSP", "eBP", "eSI", "eDI")
REG8 = ("AL", "CL", "DL", "BL", "AH", "CH", "DH", "BH")
for r in range(8):
    row(0x40 + r, "INC", REGV[r], "set_rv(c, op & 7, alu_inc(c, get_rv(c, op & 7, o32), vmsb(o32)), o32)",
        flags="OSZAP", iced=_iced("INC_R16", "INC_R32"))
    row(0x48 + r, "DEC", REGV[r], "set_rv(c, op & 7, alu_dec(c, get_rv(c, op & 7, o32), vmsb(o32)), o32)",
        flags="OSZAP", iced=_iced("DEC_R16", "DEC_R32"))
    if r == 4:
        row(0x54, "PUSH", "eSP", "pushv(c, c.regs[op & 7], o32)", models=I286,
            iced=_iced("PUSH_R16", "PUSH_R32"))
        row(0x54, "PUSH", "SP", "push16(c, (c.regs[R_ESP] - 2) & 0xFFFF)", models=I8086,
            note="pushes the decremented SP")
    else:
        row(0x50 + r, "PUSH", REGV[r], "pushv(c, c.regs[op & 7], o32)", iced=_iced("PUSH_R16", "PUSH_R32"))
    row(0x58 + r, "POP", REGV[r], "set_rv(c, op & 7, popv(c, o32), o32)", iced=_iced("POP_R16", "POP_R32"))
    if r:
        row(0x90 + r, "XCHG", REGV[r] + ",eAX", "xchg_eax(c, op & 7, o32)",
            iced=_iced("XCHG_R16_AX", "XCHG_R32_EAX"))
    row(0xB0 + r, "MOV", REG8[r] + ",Ib", "set_r8(c, op & 7, fetch8(d))", iced=_iced("MOV_R8_IMM8"))
    row(0xB8 + r, "MOV", REGV[r] + ",Iv", "set_rv(c, op & 7, fetchv(d, o32), o32)",
        iced=_iced("MOV_R16_IMM16", "MOV_R32_IMM32"))

# ---- 0x60-0x6F: 80186/386 additions; conditional jump aliases on the 8086 ------
CC = ("O", "NO", "B", "AE", "E", "NE", "BE", "A", "S", "NS", "P", "NP", "L", "GE", "LE", "G")
for cc in range(16):
    row(0x60 + cc, "J" + CC[cc], "Jb", f"jcc_short(c, d, &eip, {cc})", models=I8086,
        note="alias of 7x")
row(0x60, "PUSHA", "", "op_pusha(c, o32)", models=I286, iced=_iced("PUSHAW", "PUSHAD"))
row(0x61, "POPA", "", "op_popa(c, o32)", models=I286, iced=_iced("POPAW", "POPAD"))
row(0x62, "BOUND", "Gv,Ma", "bound(c, d, eip, left, o32)", models=I286, reg_form="#UD",
    iced=_iced("BOUND_R16_M1616", "BOUND_R32_M3232"))
row(0x63, "ARPL", "Ew,Gw", "op_arpl(c, d)", models=I286, pm_only=True, flags="Z",
    iced=_iced("ARPL_RM16_R16"))
row(0x68, "PUSH", "Iz", "pushv(c, fetchv(d, o32), o32)", models=I286,
    iced=_iced("PUSH_IMM16", "PUSHD_IMM32"))
row(0x69, "IMUL", "Gv,Ev,Iz",
    "set_rv(c, d.reg, imul_trunc(c, rmv_read(c, d, o32), fetchv(d, o32), o32), o32)",
    models=I286, flags=ARITH, undefined="SZAP",
    iced=_iced("IMUL_R16_RM16_IMM16", "IMUL_R32_RM32_IMM32"))
row(0x6A, "PUSH", "Ib", "pushv(c, sx8(fetch8(d)), o32)", models=I286,
    iced=_iced("PUSHW_IMM8", "PUSHD_IMM8"))
row(0x6B, "IMUL", "Gv,Ev,Ib",
    "set_rv(c, d.reg, imul_trunc(c, rmv_read(c, d, o32), sx8(fetch8(d)), o32), o32)",
    models=I286, flags=ARITH, undefined="SZAP",
    iced=_iced("IMUL_R16_RM16_IMM8", "IMUL_R32_RM32_IMM8"))
row(0x6C, "INSB", "", "string_io(c, d, left, 0, 1)", models=I286, iced=_iced("INSB_M8_DX"))
row(0x6D, "INS", "", "string_io(c, d, left, 0, vsize(o32))", models=I286,
    iced=_iced("INSW_M16_DX", "INSD_M32_DX"))
row(0x6E, "OUTSB", "", "string_io(c, d, left, 1, 1)", models=I286, iced=_iced("OUTSB_DX_M8"))
row(0x6F, "OUTS", "", "string_io(c, d, left, 1, vsize(o32))", models=I286,
    iced=_iced("OUTSW_DX_M16", "OUTSD_DX_M32"))

# ---- Jcc rel8: one case per condition, so cond() folds to one test -------------
for cc in range(16):
    row(0x70 + cc, "J" + CC[cc], "Jb", f"jcc_short(c, d, &eip, {cc})", iced=_iced(f"J{CC[cc]}_REL8_16"))

# ---- group 1, TEST, XCHG, MOV -------------------------------------------------
for r, mn in enumerate(ALU_OPS):
    fl = _alu_flags(r)
    lockable = mn != "CMP"
    row(0x80, mn, "Eb,Ib", "alu_eb_ib(c, d, d.reg)", reg=r, lock=lockable,
        iced=_iced(f"{mn}_RM8_IMM8"), **fl)
    row(0x81, mn, "Ev,Iz", "alu_ev_iz(c, d, d.reg, o32)", reg=r, lock=lockable,
        iced=_iced(f"{mn}_RM16_IMM16", f"{mn}_RM32_IMM32"), **fl)
    row(0x82, mn, "Eb,Ib", "alu_eb_ib(c, d, d.reg)", reg=r, lock=lockable,
        iced=_iced(f"{mn}_RM8_IMM8_82"), note="alias of 80", **fl)
    row(0x83, mn, "Ev,Ib", "alu_ev_ib(c, d, d.reg, o32)", reg=r, lock=lockable,
        iced=_iced(f"{mn}_RM16_IMM8", f"{mn}_RM32_IMM8"), **fl)
row(0x84, "TEST", "Eb,Gb", "alu(c, 4, rm8_read(c, d), get_r8(c, d.reg), 0x80)",
    flags=ARITH, undefined="A", iced=_iced("TEST_RM8_R8"))
row(0x85, "TEST", "Ev,Gv", "alu(c, 4, rmv_read(c, d, o32), get_rv(c, d.reg, o32), vmsb(o32))",
    flags=ARITH, undefined="A", iced=_iced("TEST_RM16_R16", "TEST_RM32_R32"))
row(0x86, "XCHG", "Eb,Gb", "xchg_eb_gb(c, d)", lock=True, iced=_iced("XCHG_RM8_R8"))
row(0x87, "XCHG", "Ev,Gv", "xchg_ev_gv(c, d, o32)", lock=True,
    iced=_iced("XCHG_RM16_R16", "XCHG_RM32_R32"))
row(0x88, "MOV", "Eb,Gb", "rm8_write(c, d, get_r8(c, d.reg))", iced=_iced("MOV_RM8_R8"))
row(0x89, "MOV", "Ev,Gv", "rmv_write(c, d, get_rv(c, d.reg, o32), o32)",
    iced=_iced("MOV_RM16_R16", "MOV_RM32_R32"))
row(0x8A, "MOV", "Gb,Eb", "set_r8(c, d.reg, rm8_read(c, d))", iced=_iced("MOV_R8_RM8"))
row(0x8B, "MOV", "Gv,Ev", "set_rv(c, d.reg, rmv_read(c, d, o32), o32)",
    iced=_iced("MOV_R16_RM16", "MOV_R32_RM32"))
row(0x8C, "MOV", "Ew,Sw", "mov_ev_sreg(c, d, eip, left, d.reg | ((d.reg & 4) << 1), o32)",
    models=ONLY286, note="sreg 4-7 #UD (no FS, GS)")
row(0x8C, "MOV", "Ev,Sw", "mov_ev_sreg(c, d, eip, left, d.reg, o32)", models=I386,
    iced=_iced("MOV_RM16_SREG", "MOV_R32M16_SREG"))
row(0x8C, "MOV", "Ew,Sw", "mov_ev_sreg(c, d, eip, left, d.reg & 3, o32)", models=I8086,
    note="sreg field is 2 bits")
row(0x8D, "LEA", "Gv,M", "set_rv(c, d.reg, d.off, o32)", models=I286, reg_form="#UD",
    iced=_iced("LEA_R16_M", "LEA_R32_M"))
row(0x8D, "LEA", "Gv,M", "set_rv(c, d.reg, d.off, o32)", models=I8086, reg_form="ignored")
row(0x8E, "MOV", "Sw,Ew", "mov_sreg_ew(c, d, &eip, left, d.reg | ((d.reg & 4) << 1), 0)",
    models=ONLY286, note="MOV CS and sreg 4-7 #UD (no FS, GS)")
row(0x8E, "MOV", "Sw,Ew", "mov_sreg_ew(c, d, &eip, left, d.reg, 0)", models=I386,
    iced=_iced("MOV_SREG_RM16"), note="MOV CS is #UD")
row(0x8E, "MOV", "Sw,Ew", "mov_sreg_ew(c, d, &eip, left, d.reg & 3, 1)", models=I8086,
    note="sreg field is 2 bits; MOV CS jumps")
row(0x8F, "POP", "Ev", "pop_ev(c, d, o32)", modrm=False, reg=0, models=I286,
    iced=_iced("POP_RM16", "POP_RM32"), note="the address uses the popped SP; reg 1-7 #UD")
row(0x8F, "POP", "Ev", "pop_ev(c, d, o32)", modrm=False, models=I8086,
    note="the address uses the popped SP; the reg field is ignored")

# ---- 0x90-0xAF -------------------------------------------------------------------
row(0x90, "NOP", "", "pass")
row(0x98, "CBW", "", "cbw(c, o32)", iced=_iced("CBW", "CWDE"))
row(0x99, "CWD", "", "cwd(c, o32)", iced=_iced("CWD", "CDQ"))
row(0x9A, "CALL", "Ap", "call_far_ptr(c, d, &eip, left, o32)", iced=_iced("CALL_PTR1616", "CALL_PTR1632"))
row(0x9B, "WAIT", "", "pass", models=I8086, note="no coprocessor to wait for")
row(0x9B, "WAIT", "", "wait_286(c, d, eip)", models=ONLY286,
    note="no coprocessor: #NM with MSW.MP and TS")
row(0x9B, "WAIT", "", "fwait(c, d, eip, left)", models=I386,
    note="#NM with CR0.MP and TS; a pending x87 exception: #MF or FERR#")
row(0x9C, "PUSHF", "", "pushf(c, o32)", iced=_iced("PUSHFW", "PUSHFD"))
row(0x9D, "POPF", "", "popf(c, d, left, o32)", flags=ARITH + "DIT", iced=_iced("POPFW", "POPFD"))
row(0x9E, "SAHF", "", "set_flags_masked(c, F_SF | F_ZF | F_AF | F_PF | F_CF, (c.regs[R_EAX] >> 8) & 0xFF)",
    flags="SZAPC", iced=_iced("SAHF"))
row(0x9F, "LAHF", "", "set_r8(c, 4, (get_eflags(c) & 0xD5) | 2)", iced=_iced("LAHF"))
row(0xA0, "MOV", "AL,Ob", "set_r8(c, 0, rd8(c, seg_of(d), fetch_moffs(d)))", iced=_iced("MOV_AL_MOFFS8"))
row(0xA1, "MOV", "eAX,Ov", "set_rv(c, R_EAX, rdv(c, seg_of(d), fetch_moffs(d), o32, d.amask), o32)",
    iced=_iced("MOV_AX_MOFFS16", "MOV_EAX_MOFFS32"))
row(0xA2, "MOV", "Ob,AL", "wr8(c, seg_of(d), fetch_moffs(d), c.regs[R_EAX] & 0xFF)",
    iced=_iced("MOV_MOFFS8_AL"))
row(0xA3, "MOV", "Ov,eAX", "wrv(c, seg_of(d), fetch_moffs(d), c.regs[R_EAX], o32, d.amask)",
    iced=_iced("MOV_MOFFS16_AX", "MOV_MOFFS32_EAX"))
STRINGS = (  # opcode, mnemonic, family constant, REP-able inline form
    (0xA4, "MOVS", "STR_MOVS", True), (0xA6, "CMPS", "STR_CMPS", False),
    (0xAA, "STOS", "STR_STOS", True), (0xAC, "LODS", "STR_LODS", True),
    (0xAE, "SCAS", "STR_SCAS", False))
_STRING_ICED = {"MOVS": "MOVS{}_M{}_M{}", "CMPS": "CMPS{}_M{}_M{}", "STOS": "STOS{}_M{}_{}",
                "LODS": "LODS{}_{}_M{}", "SCAS": "SCAS{}_{}_M{}"}
for opc, mn, k, inline in STRINGS:
    fl = dict(flags=ARITH) if mn in ("CMPS", "SCAS") else {}
    acc = {"b": "AL", "w": "AX", "d": "EAX"}

    def names(sizes, mn=mn):
        out = []
        for s in sizes:
            bits = {"b": 8, "w": 16, "d": 32}[s]
            pat = _STRING_ICED[mn]
            if mn in ("MOVS", "CMPS"):
                out.append(pat.format(s.upper(), bits, bits))
            elif mn == "STOS":
                out.append(pat.format(s.upper(), bits, acc[s]))
            else:
                out.append(pat.format(s.upper(), acc[s], bits))
        return tuple(out)
    call = "string_op" if inline else "string_rep_op"
    row(opc, mn + "B", "", f"{call}(c, d, left, {k}, 1)", iced=names("b"), **fl)
    row(opc + 1, mn, "", f"{call}(c, d, left, {k}, vsize(o32))", iced=names("wd"), **fl)
row(0xA8, "TEST", "AL,Ib", "alu(c, 4, c.regs[R_EAX] & 0xFF, fetch8(d), 0x80)",
    flags=ARITH, undefined="A", iced=_iced("TEST_AL_IMM8"))
row(0xA9, "TEST", "eAX,Iz", "alu(c, 4, get_rv(c, R_EAX, o32), fetchv(d, o32), vmsb(o32))",
    flags=ARITH, undefined="A", iced=_iced("TEST_AX_IMM16", "TEST_EAX_IMM32"))

# ---- 0xC0-0xCF -------------------------------------------------------------------
SHIFTS = ("ROL", "ROR", "RCL", "RCR", "SHL", "SHR", None, "SAR")


def _shift_rows(opc, operands, count, iced_suffix):
    byte = operands.startswith("Eb")
    for r, mn in enumerate(SHIFTS):
        # (the 286's SHR: OF 0 for counts above 1, shift_op's i8086 = 2)
        variants = ((ONLY286, 2), (I386, 0), (I8086, 1)) if mn == "SHR" else ((I286, 0), (I8086, 1))
        for models, i8086 in variants:
            if opc in (0xC0, 0xC1) and models == I8086:
                continue
            name = mn or ("SAL" if i8086 == 0 else "SETMO")
            if byte:
                body = f"rm8_write(c, d, shift_op(c, d.reg, rm8_read_w(c, d), {count}, 8, {i8086}))"
                iced = _iced(f"{mn}_RM8_{iced_suffix}") if mn else ()
            else:
                body = (f"rmv_write(c, d, shift_op(c, d.reg, rmv_read_w(c, d, o32), {count}, "
                        f"vbits(o32), {i8086}), o32)")
                iced = _iced(f"{mn}_RM16_{iced_suffix}", f"{mn}_RM32_{iced_suffix}") if mn else ()
            rot = name in ("ROL", "ROR", "RCL", "RCR")
            fl = dict(flags="OC", undefined="O") if rot else dict(flags=ARITH, undefined="AO")
            if name == "SETMO":
                fl = dict(flags=ARITH)
            if iced_suffix == "1":
                fl["undefined"] = "" if rot else "A"
            note = "alias of SHL" if name == "SAL" else (
                "sets all ones (8086)" if name == "SETMO" else "")
            if i8086 == 1 and name != "SETMO":
                note = "count not masked to 5 bits"
            elif i8086 == 2 and iced_suffix != "1":
                note = "OF 0 for counts above 1"
            row(opc, name, operands, body, reg=r, models=models, iced=iced, note=note, **fl)


_shift_rows(0xC0, "Eb,Ib", "fetch8(d)", "IMM8")
_shift_rows(0xC1, "Ev,Ib", "fetch8(d)", "IMM8")
row(0xC0, "RET", "Iw", "ret_near(c, d, &eip, fetch16(d), o32)", models=I8086, note="alias of C2")
row(0xC1, "RET", "", "ret_near(c, d, &eip, 0, o32)", models=I8086, note="alias of C3")
row(0xC2, "RET", "Iw", "ret_near(c, d, &eip, fetch16(d), o32)", iced=_iced("RETNW_IMM16", "RETND_IMM16"))
row(0xC3, "RET", "", "ret_near(c, d, &eip, 0, o32)", iced=_iced("RETNW", "RETND"))
row(0xC4, "LES", "Gv,Mp", "load_far_pointer(c, d, S_ES, o32)", models=I286, reg_form="#UD",
    iced=_iced("LES_R16_M1616", "LES_R32_M1632"))
row(0xC4, "LES", "Gv,Mp", "load_far_pointer(c, d, S_ES, o32)", models=I8086, reg_form="ignored")
row(0xC5, "LDS", "Gv,Mp", "load_far_pointer(c, d, S_DS, o32)", models=I286, reg_form="#UD",
    iced=_iced("LDS_R16_M1616", "LDS_R32_M1632"))
row(0xC5, "LDS", "Gv,Mp", "load_far_pointer(c, d, S_DS, o32)", models=I8086, reg_form="ignored")
row(0xC6, "MOV", "Eb,Ib", "rm8_write(c, d, fetch8(d))", reg=0, models=I286,
    iced=_iced("MOV_RM8_IMM8"), note="reg 1-7 #UD")
row(0xC6, "MOV", "Eb,Ib", "rm8_write(c, d, fetch8(d))", models=I8086,
    note="the reg field is ignored")
row(0xC7, "MOV", "Ev,Iz", "rmv_write(c, d, fetchv(d, o32), o32)", reg=0, models=I286,
    iced=_iced("MOV_RM16_IMM16", "MOV_RM32_IMM32"), note="reg 1-7 #UD")
row(0xC7, "MOV", "Ev,Iz", "rmv_write(c, d, fetchv(d, o32), o32)", models=I8086,
    note="the reg field is ignored")
row(0xC8, "ENTER", "Iw,Ib", "enter(c, d, o32)", models=I286,
    iced=_iced("ENTERW_IMM16_IMM8", "ENTERD_IMM16_IMM8"))
row(0xC8, "RETF", "Iw", "ret_far(c, d, &eip, left, fetch16(d), o32)", models=I8086, note="alias of CA")
row(0xC9, "LEAVE", "", "op_leave(c, o32)", models=I286, iced=_iced("LEAVEW", "LEAVED"))
row(0xC9, "RETF", "", "ret_far(c, d, &eip, left, 0, o32)", models=I8086, note="alias of CB")
row(0xCA, "RETF", "Iw", "ret_far(c, d, &eip, left, fetch16(d), o32)", iced=_iced("RETFW_IMM16", "RETFD_IMM16"))
row(0xCB, "RETF", "", "ret_far(c, d, &eip, left, 0, o32)", iced=_iced("RETFW", "RETFD"))
row(0xCC, "INT3", "", "soft_int(c, d, &eip, left, VEC_BP, DLV_SOFT)", flags="IT")
row(0xCD, "INT", "Ib", "soft_int(c, d, &eip, left, fetch8(d), DLV_SOFT | DLV_INTN)", flags="IT")
row(0xCE, "INTO", "", "if get_of(c): soft_int(c, d, &eip, left, VEC_OF, DLV_SOFT)", flags="IT")
row(0xCF, "IRET", "", "iret(c, d, &eip, left, o32)", flags=ARITH + "DIT", iced=_iced("IRETW", "IRETD"))

# ---- 0xD0-0xDF: shifts, BCD, XLAT, ESC ---------------------------------------------
_shift_rows(0xD0, "Eb,1", "1", "1")
_shift_rows(0xD1, "Ev,1", "1", "1")
_shift_rows(0xD2, "Eb,CL", "c.regs[R_ECX] & 0xFF", "CL")
_shift_rows(0xD3, "Ev,CL", "c.regs[R_ECX] & 0xFF", "CL")
for models, i8086 in ((I286, 0), (I8086, 1)):    # the 8086 sets SF ZF PF before #DE
    row(0xD4, "AAM", "Ib", f"if op_aam(c, fetch8(d), {i8086}): raise_fault(c, d, eip, VEC_DE)",
        models=models, flags=ARITH, undefined="OAC",
        note="divisor 0: SF ZF PF as for a zero result, then #DE" if i8086 else "")
row(0xD5, "AAD", "Ib", "op_aad(c, fetch8(d))", flags=ARITH, undefined="OAC",
    note="flags as the 8086's ADD")
row(0xD6, "SALC", "", "set_r8(c, 0, 0xFF if get_cf(c) else 0)", note="undocumented")
row(0xD7, "XLAT", "", "set_r8(c, 0, rd8(c, seg_of(d), (c.regs[R_EBX] + (c.regs[R_EAX] & 0xFF)) & d.amask))")
for k in range(8):
    row(0xD8 + k, "ESC", "M", "pass", models=I8086, modrm=True,
        note="coprocessor escape: no coprocessor answers")
    row(0xD8 + k, "ESC", "M", "esc_286(c, d, eip)", models=ONLY286, modrm=True,
        note="no coprocessor: #NM with MSW.EM or TS")
    # The x87 (core/fpu*.pxi): one out-of-line helper decodes the rest.
    row(0xD8 + k, "ESC", "", "fpu_esc(c, d, eip, left, op, FPU_387)", models=ONLY386,
        modrm=True, note="387: x87 without FCMOVcc/FCOMI")
    row(0xD8 + k, "ESC", "", "fpu_esc(c, d, eip, left, op, FPU_P6)", models=I686,
        modrm=True, note="P6 x87: with FCMOVcc, FCOMI, FUCOMI")

# ---- 0xE0-0xEF: LOOP/JCXZ, I/O, CALL/JMP -------------------------------------------
row(0xE0, "LOOPNE", "Jb", "loop_short(c, d, &eip, LOOP_WHILE_NZ)",
    iced=_iced("LOOPNE_REL8_16_CX", "LOOPNE_REL8_16_ECX"))
row(0xE1, "LOOPE", "Jb", "loop_short(c, d, &eip, LOOP_WHILE_Z)",
    iced=_iced("LOOPE_REL8_16_CX", "LOOPE_REL8_16_ECX"))
row(0xE2, "LOOP", "Jb", "loop_short(c, d, &eip, LOOP_ALWAYS)",
    iced=_iced("LOOP_REL8_16_CX", "LOOP_REL8_16_ECX"))
row(0xE3, "JCXZ", "Jb", "jcxz(c, d, &eip)", iced=_iced("JCXZ_REL8_16", "JECXZ_REL8_16"))
row(0xE4, "IN", "AL,Ib", "set_r8(c, 0, io_in(c, d, left, fetch8(d), 1))")
row(0xE5, "IN", "eAX,Ib", "set_rv(c, R_EAX, io_in(c, d, left, fetch8(d), vsize(o32)), o32)")
row(0xE6, "OUT", "Ib,AL", "io_out(c, d, left, fetch8(d), 1, c.regs[R_EAX] & 0xFF)")
row(0xE7, "OUT", "Ib,eAX", "io_out(c, d, left, fetch8(d), vsize(o32), get_rv(c, R_EAX, o32))")
row(0xE8, "CALL", "Jz", "call_rel(c, d, &eip, fetchv(d, o32), o32)", iced=_iced("CALL_REL16", "CALL_REL32_32"))
row(0xE9, "JMP", "Jz", "jump_rel(d, &eip, fetchv(d, o32))", iced=_iced("JMP_REL16", "JMP_REL32_32"))
row(0xEA, "JMP", "Ap", "jmp_far_ptr(c, d, &eip, left, o32)", iced=_iced("JMP_PTR1616", "JMP_PTR1632"))
row(0xEB, "JMP", "Jb", "jump_rel(d, &eip, sx8(fetch8(d)))")
row(0xEC, "IN", "AL,DX", "set_r8(c, 0, io_in(c, d, left, c.regs[R_EDX] & 0xFFFF, 1))")
row(0xED, "IN", "eAX,DX", "set_rv(c, R_EAX, io_in(c, d, left, c.regs[R_EDX] & 0xFFFF, vsize(o32)), o32)")
row(0xEE, "OUT", "DX,AL", "io_out(c, d, left, c.regs[R_EDX] & 0xFFFF, 1, c.regs[R_EAX] & 0xFF)")
row(0xEF, "OUT", "DX,eAX", "io_out(c, d, left, c.regs[R_EDX] & 0xFFFF, vsize(o32), get_rv(c, R_EAX, o32))")

# ---- 0xF0-0xFF -------------------------------------------------------------------
row(0xF1, "INT1", "", "soft_int(c, d, &eip, left, VEC_DB, 0)", models=I386, flags="IT",
    note="ICEBP")
row(0xF4, "HLT", "", "hlt(c, d, left)")
row(0xF5, "CMC", "", "set_cf(c, get_cf(c) ^ 1)", flags="C", iced=_iced("CMC"))
GRP3 = ((0, "TEST"), (1, "TEST"), (2, "NOT"), (3, "NEG"), (4, "MUL"), (5, "IMUL"), (6, "DIV"), (7, "IDIV"))
for r, mn in GRP3:
    signed = "1" if mn in ("IMUL", "IDIV") else "0"
    # only the signed forms differ: the 8086 negates their result under REP
    for models, neg in (((I286, "0"), (I8086, "d.rep != 0")) if signed == "1" else ((ALL, "0"),)):
        negate = neg if signed == "1" else "0"
        i8086 = 1 if signed == "1" and neg != "0" else 0
        note = "a REP prefix negates the result (8086)" if i8086 else ""
        if i8086 and mn == "IDIV":
            note += "; quotient range excludes the most negative value"
        if r == 1:
            note = "alias of /0"
        b8 = {"TEST": "alu(c, 4, rm8_read(c, d), fetch8(d), 0x80)",
              "NOT": "rm8_write(c, d, ~rm8_read_w(c, d))",
              "NEG": "rm8_write(c, d, alu_neg(c, rm8_read_w(c, d), 0x80))",
              "MUL": f"mul8(c, rm8_read(c, d), {signed}, {negate})",
              "IMUL": f"mul8(c, rm8_read(c, d), {signed}, {negate})",
              "DIV": f"if div8(c, rm8_read(c, d), 0, 0, 0): raise_fault(c, d, eip, VEC_DE)",
              "IDIV": f"if div8(c, rm8_read(c, d), 1, {negate}, {i8086}): raise_fault(c, d, eip, VEC_DE)"}[mn]
        bv = {"TEST": "alu(c, 4, rmv_read(c, d, o32), fetchv(d, o32), vmsb(o32))",
              "NOT": "rmv_write(c, d, ~rmv_read_w(c, d, o32), o32)",
              "NEG": "rmv_write(c, d, alu_neg(c, rmv_read_w(c, d, o32), vmsb(o32)), o32)",
              "MUL": f"mulv(c, rmv_read(c, d, o32), {signed}, {negate}, o32)",
              "IMUL": f"mulv(c, rmv_read(c, d, o32), {signed}, {negate}, o32)",
              "DIV": "if divv(c, rmv_read(c, d, o32), 0, 0, 0, o32): raise_fault(c, d, eip, VEC_DE)",
              "IDIV": f"if divv(c, rmv_read(c, d, o32), 1, {negate}, {i8086}, o32): raise_fault(c, d, eip, VEC_DE)"}[mn]
        fl = {"TEST": dict(flags=ARITH, undefined="A"), "NOT": {}, "NEG": dict(flags=ARITH),
              "MUL": dict(flags=ARITH, undefined="SZAP"), "IMUL": dict(flags=ARITH, undefined="SZAP"),
              "DIV": dict(flags=ARITH, undefined=ARITH), "IDIV": dict(flags=ARITH, undefined=ARITH)}[mn]
        ib = ("_IMM8", "_IMM16", "_IMM32") if mn == "TEST" else ("", "", "")
        i8 = _iced(f"{mn}_RM8{ib[0]}") if r != 1 else ()
        iv = _iced(f"{mn}_RM16{ib[1]}", f"{mn}_RM32{ib[2]}") if r != 1 else ()
        lockable = mn in ("NOT", "NEG")
        row(0xF6, mn, "Eb" + (",Ib" if mn == "TEST" else ""), b8, reg=r, models=models,
            lock=lockable, iced=i8, note=note, **fl)
        row(0xF7, mn, "Ev" + (",Iz" if mn == "TEST" else ""), bv, reg=r, models=models,
            lock=lockable, iced=iv, note=note, **fl)
row(0xF8, "CLC", "", "set_cf(c, 0)", flags="C", iced=_iced("CLC"))
row(0xF9, "STC", "", "set_cf(c, 1)", flags="C", iced=_iced("STC"))
row(0xFA, "CLI", "", "cli(c)", flags="I", note="#GP(0) at CPL > IOPL")
row(0xFB, "STI", "", "sti(c, d, left)", flags="I")
row(0xFC, "CLD", "", "c.flags &= ~(<uint32_t>F_DF)", flags="D", iced=_iced("CLD"))
row(0xFD, "STD", "", "c.flags |= F_DF", flags="D", iced=_iced("STD"))
row(0xFE, "INC", "Eb", "rm8_write(c, d, alu_inc(c, rm8_read_w(c, d), 0x80))", reg=0, flags="OSZAP",
    lock=True, iced=_iced("INC_RM8"))
row(0xFE, "DEC", "Eb", "rm8_write(c, d, alu_dec(c, rm8_read_w(c, d), 0x80))", reg=1, flags="OSZAP",
    lock=True, iced=_iced("DEC_RM8"))
row(0xFF, "INC", "Ev", "rmv_write(c, d, alu_inc(c, rmv_read_w(c, d, o32), vmsb(o32)), o32)", reg=0,
    flags="OSZAP", lock=True, iced=_iced("INC_RM16", "INC_RM32"))
row(0xFF, "DEC", "Ev", "rmv_write(c, d, alu_dec(c, rmv_read_w(c, d, o32), vmsb(o32)), o32)", reg=1,
    flags="OSZAP", lock=True, iced=_iced("DEC_RM16", "DEC_RM32"))
row(0xFF, "CALL", "Ev", "call_abs(c, d, &eip, rmv_read(c, d, o32), o32)", reg=2,
    iced=_iced("CALL_RM16", "CALL_RM32"))
row(0xFF, "CALL", "Mp", "far_mem(c, d, &eip, left, 1, o32)", reg=3, reg_form="#UD",
    iced=_iced("CALL_M1616", "CALL_M1632"))
row(0xFF, "JMP", "Ev", "jump_to(d, &eip, rmv_read(c, d, o32))", reg=4, iced=_iced("JMP_RM16", "JMP_RM32"))
row(0xFF, "JMP", "Mp", "far_mem(c, d, &eip, left, 0, o32)", reg=5, reg_form="#UD",
    iced=_iced("JMP_M1616", "JMP_M1632"))
row(0xFF, "PUSH", "Ev", "pushv(c, rmv_read(c, d, o32), o32)", reg=6, models=I286,
    iced=_iced("PUSH_RM16", "PUSH_RM32"))
row(0xFF, "PUSH", "Ev", "push_ev_8086(c, d)", reg=6, models=I8086, note="PUSH SP pushes SP - 2")
row(0xFF, "PUSH", "Ev", "push_ev_8086(c, d)", reg=7, models=I8086, note="alias of /6")

# ---- the two-byte page (286: 0F 00-03 and 06; 386) --------------------------------------------------------
GRP6 = ((0, "SLDT", "Ew", "store_selector(c, d, c.ldtr.sel, o32)", ""),
        (1, "STR", "Ew", "store_selector(c, d, c.tr.sel, o32)", ""),
        (2, "LLDT", "Ew", "op_lldt(c, rm16_read(c, d))", ""),
        (3, "LTR", "Ew", "op_ltr(c, rm16_read(c, d))", ""),
        (4, "VERR", "Ew", "op_verify(c, rm16_read(c, d), 0)", "Z"),
        (5, "VERW", "Ew", "op_verify(c, rm16_read(c, d), 1)", "Z"))
for r, mn, opnd, body, fl in GRP6:
    row(0x100, mn, opnd, body, reg=r, models=I286, pm_only=True, flags=fl)
row(0x102, "LAR", "Gv,Ew", "op_lar_lsl(c, rm16_read(c, d), d.reg, 0, o32)", models=I286, pm_only=True, flags="Z")
row(0x103, "LSL", "Gv,Ew", "op_lar_lsl(c, rm16_read(c, d), d.reg, 1, o32)", models=I286, pm_only=True, flags="Z")
# (the 286 stores a 24-bit base with FFh above it, and its MSW reads bits
# 4-15 as ones)
GRP7 = ((0, "SGDT", "Ms", "store_table_reg(c, d, &c.gdtr, o32, {hi})", "#UD"),
        (1, "SIDT", "Ms", "store_table_reg(c, d, &c.idtr, o32, {hi})", "#UD"),
        (2, "LGDT", "Ms", "load_table_reg(c, d, &c.gdtr, o32)", "#UD"),
        (3, "LIDT", "Ms", "load_table_reg(c, d, &c.idtr, o32)", "#UD"),
        (4, "SMSW", "Ew", "smsw(c, d, o32, {msw})", "ok"),
        (6, "LMSW", "Ew", "lmsw(c, d, left)", "ok"),
        (7, "INVLPG", "M", "invlpg(c, d)", "#UD"))
for r, mn, opnd, body, rf in GRP7:
    if "{" in body:
        row(0x101, mn, opnd, body.format(hi="0xFF000000u", msw="0xFFF0"), reg=r, models=ONLY286,
            reg_form=rf, note="base bits 24-31 stored as ones" if r < 2 else "reads 0xFFF0 | PE MP EM TS")
        row(0x101, mn, opnd, body.format(hi="0", msw="0"), reg=r, models=I386, reg_form=rf)
    else:
        row(0x101, mn, opnd, body, reg=r, models=I386 if r == 7 else I286, reg_form=rf)
row(0x106, "CLTS", "", "clts(c)", models=I286)
row(0x108, "INVD", "", "priv_check(c)", models=I386, note="no caches")
row(0x109, "WBINVD", "", "priv_check(c)", models=I386, note="no caches")
row(0x10B, "UD2", "", "raise_fault(c, d, eip, VEC_UD)", models=I386)
row(0x120, "MOV", "Rd,Cd", "mov_r32_cr(c, d, eip, left)", models=I386)
row(0x121, "MOV", "Rd,Dd", "mov_r32_dr(c, d)", models=I386)
row(0x122, "MOV", "Cd,Rd", "mov_cr_r32(c, d, eip, left)", models=I386)
row(0x123, "MOV", "Dd,Rd", "mov_dr_r32(c, d)", models=I386)
for cc in range(16):
    row(0x180 + cc, "J" + CC[cc], "Jz", f"jcc_near(c, d, &eip, {cc}, o32)", models=I386,
        iced=_iced(f"J{CC[cc]}_REL16"))
    row(0x190 + cc, "SET" + CC[cc], "Eb", f"rm8_write(c, d, cond(c, {cc}))", models=I386,
        iced=_iced(f"SET{CC[cc]}_RM8"))
row(0x1A0, "PUSH", "FS", "pushv(c, c.seg[S_FS].sel, o32)", models=I386, iced=_iced("PUSHW_FS", "PUSHD_FS"))
row(0x1A1, "POP", "FS", "pop_sreg(c, S_FS, o32)", models=I386, iced=_iced("POPW_FS", "POPD_FS"))
row(0x1A2, "CPUID", "", "cpuid(c)", models=ONLY386, note="a 486DX4-like part")
row(0x1A2, "CPUID", "", "cpuid_686(c)", models=I686, note="family 6: see core/msr.pxi")
row(0x1A8, "PUSH", "GS", "pushv(c, c.seg[S_GS].sel, o32)", models=I386, iced=_iced("PUSHW_GS", "PUSHD_GS"))
row(0x1A9, "POP", "GS", "pop_sreg(c, S_GS, o32)", models=I386, iced=_iced("POPW_GS", "POPD_GS"))
for opc, k, mn in ((0x1A3, 0, "BT"), (0x1AB, 1, "BTS"), (0x1B3, 2, "BTR"), (0x1BB, 3, "BTC")):
    row(opc, mn, "Ev,Gv", f"bt_ev_gv(c, d, {k}, o32)", models=I386, flags="OSAPC", undefined="OSAP",
        lock=k != 0, iced=_iced(f"{mn}_RM16_R16", f"{mn}_RM32_R32"),
        note="a memory operand is addressed by the signed bit offset")
for r, mn in ((4, "BT"), (5, "BTS"), (6, "BTR"), (7, "BTC")):
    row(0x1BA, mn, "Ev,Ib", "bt_ev_ib(c, d, d.reg - 4, o32)", reg=r, models=I386, flags="OSAPC",
        undefined="OSAP", lock=r != 4, iced=_iced(f"{mn}_RM16_IMM8", f"{mn}_RM32_IMM8"))
for opc, mn, left, count, suffix in ((0x1A4, "SHLD", 1, "fetch8(d)", "IMM8"), (0x1A5, "SHLD", 1, "c.regs[R_ECX] & 0xFF", "CL"),
                                     (0x1AC, "SHRD", 0, "fetch8(d)", "IMM8"), (0x1AD, "SHRD", 0, "c.regs[R_ECX] & 0xFF", "CL")):
    row(opc, mn, "Ev,Gv," + ("Ib" if suffix == "IMM8" else "CL"), f"shiftd_ev_gv(c, d, {left}, {count}, o32)",
        models=I386, flags=ARITH, undefined="AO",
        iced=_iced(f"{mn}_RM16_R16_{suffix}", f"{mn}_RM32_R32_{suffix}"))
row(0x1AF, "IMUL", "Gv,Ev", "set_rv(c, d.reg, imul_trunc(c, get_rv(c, d.reg, o32), rmv_read(c, d, o32), o32), o32)",
    models=I386, flags=ARITH, undefined="SZAP", iced=_iced("IMUL_R16_RM16", "IMUL_R32_RM32"))
row(0x1B0, "CMPXCHG", "Eb,Gb", "cmpxchg_eb_gb(c, d)", models=I386, flags=ARITH, lock=True,
    iced=_iced("CMPXCHG_RM8_R8"), note="486")
row(0x1B1, "CMPXCHG", "Ev,Gv", "cmpxchg_ev_gv(c, d, o32)", models=I386, flags=ARITH, lock=True,
    iced=_iced("CMPXCHG_RM16_R16", "CMPXCHG_RM32_R32"), note="486")
for opc, mn, s in ((0x1B2, "LSS", "S_SS"), (0x1B4, "LFS", "S_FS"), (0x1B5, "LGS", "S_GS")):
    row(opc, mn, "Gv,Mp", f"load_far_pointer(c, d, {s}, o32)", models=I386, reg_form="#UD",
        iced=_iced(f"{mn}_R16_M1616", f"{mn}_R32_M1632"))
row(0x1B6, "MOVZX", "Gv,Eb", "set_rv(c, d.reg, rm8_read(c, d), o32)", models=I386,
    iced=_iced("MOVZX_R16_RM8", "MOVZX_R32_RM8"))
row(0x1B7, "MOVZX", "Gv,Ew", "set_rv(c, d.reg, rm16_read(c, d), o32)", models=I386,
    iced=_iced("MOVZX_R16_RM16", "MOVZX_R32_RM16"))
row(0x1BC, "BSF", "Gv,Ev", "bit_scan(c, d, 0, o32)", models=I386, flags=ARITH, undefined="OSAPC",
    iced=_iced("BSF_R16_RM16", "BSF_R32_RM32"))
row(0x1BD, "BSR", "Gv,Ev", "bit_scan(c, d, 1, o32)", models=I386, flags=ARITH, undefined="OSAPC",
    iced=_iced("BSR_R16_RM16", "BSR_R32_RM32"))
row(0x1BE, "MOVSX", "Gv,Eb", "set_rv(c, d.reg, sx8(rm8_read(c, d)), o32)", models=I386,
    iced=_iced("MOVSX_R16_RM8", "MOVSX_R32_RM8"))
row(0x1BF, "MOVSX", "Gv,Ew", "set_rv(c, d.reg, sx16(rm16_read(c, d)), o32)", models=I386,
    iced=_iced("MOVSX_R16_RM16", "MOVSX_R32_RM16"))
row(0x1C0, "XADD", "Eb,Gb", "xadd_eb_gb(c, d)", models=I386, flags=ARITH, lock=True,
    iced=_iced("XADD_RM8_R8"), note="486")
row(0x1C1, "XADD", "Ev,Gv", "xadd_ev_gv(c, d, o32)", models=I386, flags=ARITH, lock=True,
    iced=_iced("XADD_RM16_R16", "XADD_RM32_R32"), note="486")
for r in range(8):
    row(0x1C8 + r, "BSWAP", REGV[r].replace("e", "E"), "bswap(c, op & 7, o32)", models=I386,
        iced=_iced("BSWAP_R32"), note="486; 16-bit form clears the word")

# ---- Pentium Pro / II additions (686) -----------------------------------------------
row(0x11F, "NOP", "Ev", "pass", models=I686, hot=True, iced=_iced("NOP_RM16", "NOP_RM32"),
    note="multi-byte NOP: no memory access")
for r in range(2):      # group 16: only /0 and /1 on a P6 with FXSR (no SSE)
    row(0x1AE, ("FXSAVE", "FXRSTOR")[r], "M", f"fxsave_rstor(c, d, eip, left, {r})",
        reg=r, models=I686, reg_form="#UD")
row(0x130, "WRMSR", "", "wrmsr(c, d, eip, left)", models=I686)
row(0x131, "RDTSC", "", "rdtsc(c, d, eip, left)", models=I686)
row(0x132, "RDMSR", "", "rdmsr(c, d, eip, left)", models=I686)
row(0x133, "RDPMC", "", "rdpmc(c, d, eip, left)", models=I686)
row(0x134, "SYSENTER", "", "sysenter(c, d, &eip, left)", models=I686,
    note="to ring 0 through the SYSENTER MSRs; #GP(0) in real mode or with SYSENTER_CS 0")
row(0x135, "SYSEXIT", "", "sysexit(c, d, &eip, left)", models=I686,
    note="to ring 3 at EDX, ESP = ECX; #GP(0) in real mode, with SYSENTER_CS 0 or at CPL > 0")
for cc in range(16):
    # hot in i686 code (a few % of Linux's instructions): one inline case
    # for all 16, the condition taken from the opcode
    row(0x140 + cc, "CMOV" + CC[cc], "Gv,Ev", "cmov(c, d, op & 15, o32)", models=I686, hot=True,
        iced=_iced(f"CMOV{CC[cc]}_R16_RM16", f"CMOV{CC[cc]}_R32_RM32"),
        note="the source is read whatever the condition")
row(0x1C7, "CMPXCHG8B", "Mq", "cmpxchg8b(c, d)", reg=1, models=I686, flags="Z", lock=True,
    reg_form="#UD", iced=_iced("CMPXCHG8B_M64"))


def forms(model: str | None = None) -> list[Form]:
    """All rows, or those of one CPU model, in table order."""
    return [f for f in ROWS if model is None or model in f.models]


def by_iced() -> dict[str, Form]:
    """iced-x86 Code name -> its row (the 386 row where models differ)."""
    out = {}
    for f in ROWS:
        for name in f.iced:
            if name not in out or "386" in f.models:
                out[name] = f
    return out


def undefined_mask(iced_name: str) -> int:
    """EFLAGS bits the form leaves undefined (0 for a form not in the table)."""
    f = by_iced().get(iced_name)
    return f.mask("undefined") if f else 0
