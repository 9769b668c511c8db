"""Differential suite, part 3: per-family fixups of a generated case (the
operand values, counts and undefined flags an instruction form needs).
See differential.py."""
from __future__ import annotations

import dataclasses

import iced_x86 as X
from iced_x86 import OpCodeOperandKind as K, Register as R

from diff_common import AF, CF, EAX, EBP, ECX, EDX, ESP, OF, REGINFO, TF  # noqa: F401


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


class Fixups:
    """Mixed into Generator: `_fix_<family>` runs after a case is built."""

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

    def _fix_cmpxchg8b(self, st, rng, name, chosen, kinds, mem, tags, ctx):
        if rng.random() < 0.5:
            st.g[EAX] = st.rd(mem.linear, 4)
            st.g[EDX] = st.rd(mem.linear + 4, 4)
            tags.add("cmpxchg8b/equal")

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
