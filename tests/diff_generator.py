"""Differential suite, part 2: the case generator. See differential.py."""
from __future__ import annotations

import random

import iced_x86 as X
from iced_x86 import OpCodeOperandKind as K, Register as R

from diff_common import (  # noqa: F401
    AF, ARITH, CF, CODE_HI, CODE_LO, CODE_SLOT, DATA_HI, DATA_LO, DATA_SEGS, DF, EAX, EBP,
    EBX, ECX, EDI, EDX, ESI, ESP, FAMILIES, FAMILIES_686, IF, IVT_HANDLER_SEG, MARGIN, OF, R16, R32, R8,
    REGINFO, SEG_REG, STRING_OPS, TF, WINDOW, Case, code_name, disasm, undefined_flags)
from diff_fixups import Fixups, Mem


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


class Generator(Fixups):
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
            code = rng.choice(FAMILIES.get(family) or FAMILIES_686[family])
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
            undef = undefined_flags(name)
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
        if family in ("div", "cmpxchg", "cmpxchg8b"):
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
