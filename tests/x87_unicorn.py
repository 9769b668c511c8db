"""The x87 differential suite's third leg: Unicorn (QEMU's x87 on
softfloat) runs the same generated cases as the host and hvmm, and where
it disagrees with the host the disagreement is classified.

Unicorn runs the very guest program hvmm runs (x87_reference.guest_program:
real mode, FRSTOR of the case's state in the 32- or 16-bit image, the one
instruction, FNSAVE, PUSHF), so the state goes in and out through its own
FRSTOR/FNSAVE; its register API has no access to the x87 tags and status.
Its CPU model is the Pentium II (FCMOVcc and FCOMI need CPUID.CMOV). An
exception Unicorn raises stops the batch; that case is marked with the
vector and the batch resumes at the next case on a fresh engine.

A disagreement with the host is sorted by instruction family and by field
(register value, status-word bits, tag word, memory, flags, a fault), and
by the kind of the instruction's operands (empty register, unsupported
encoding, pseudo-denormal, denormal...). ``python tests/x87_unicorn.py
[cases] [seed]`` prints the tables (docs/x87.md has the measured ones).
"""
from __future__ import annotations

import bisect
import collections

import x87_reference as X

UNICORN_FAULT = "unicorn"    # a result's 4th field: ("unicorn", vector)


def run_unicorn(cases, o32: bool = True):
    """The cases on Unicorn; results as x87_reference.run_host's, a fault
    as (None, None, None, ("unicorn", vector))."""
    import unicorn
    from unicorn import x86_const as U
    code, data, starts = X.guest_program(cases, o32)
    cb, db = X.CODE_SEG * 16, X.DATA_SEG * 16
    faults = {}
    k = 0
    while True:
        uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_16)
        uc.ctl_set_cpu_model(U.UC_CPU_X86_PENTIUM2)
        uc.mem_map(0, 1 << 20)
        uc.mem_write(cb, code)
        uc.mem_write(db, data)
        intr = []
        uc.hook_add(unicorn.UC_HOOK_INTR, lambda u, n, _: (intr.append(n), u.emu_stop()))
        for reg, v in ((U.UC_X86_REG_CS, X.CODE_SEG), (U.UC_X86_REG_DS, X.DATA_SEG),
                       (U.UC_X86_REG_SS, 0x8000), (U.UC_X86_REG_ESP, 0xFFF0),
                       (U.UC_X86_REG_CR0, 0x30)):                    # ET, NE
            uc.reg_write(reg, v)
        end = cb + len(code) - 1                                    # the HLT
        try:
            uc.emu_start(cb + starts[k], end)
        except unicorn.UcError as e:
            if e.errno != unicorn.UC_ERR_INSN_INVALID:
                raise
            intr.append(6)
        ip = uc.reg_read(U.UC_X86_REG_EIP) & 0xFFFF
        data = bytes(uc.mem_read(db, len(data)))
        if not intr:
            if ip != len(code) - 1:
                raise RuntimeError(f"unicorn stopped at {ip:#x}, not at the program's end")
            break
        k = bisect.bisect_right(starts, ip) - 1     # the case it stopped in
        faults[k] = intr[0]
        k += 1
        if k == len(cases):
            break
    out = X.program_results(data, len(cases), o32)
    for i, v in faults.items():
        out[i] = (None, None, None, (UNICORN_FAULT, v))
    return out


# ---- instruction families -----------------------------------------------------------

ARITH = ("FADD", "FMUL", "FCOM", "FCOMP", "FSUB", "FSUBR", "FDIV", "FDIVR")
D9_REG = {0xD0: "FNOP", 0xE0: "FCHS", 0xE1: "FABS", 0xE4: "FTST", 0xE5: "FXAM",
          0xE8: "FLD1", 0xE9: "FLDL2T", 0xEA: "FLDL2E", 0xEB: "FLDPI", 0xEC: "FLDLG2",
          0xED: "FLDLN2", 0xEE: "FLDZ", 0xF0: "F2XM1", 0xF1: "FYL2X", 0xF2: "FPTAN",
          0xF3: "FPATAN", 0xF4: "FXTRACT", 0xF5: "FPREM1", 0xF6: "FDECSTP", 0xF7: "FINCSTP",
          0xF8: "FPREM", 0xF9: "FYL2XP1", 0xFA: "FSQRT", 0xFB: "FSINCOS", 0xFC: "FRNDINT",
          0xFD: "FSCALE", 0xFE: "FSIN", 0xFF: "FCOS"}
MEM = {(1, 0): "FLD m32", (1, 2): "FST m32", (1, 3): "FSTP m32", (1, 5): "FLDCW", (1, 7): "FNSTCW",
       (3, 0): "FILD m32", (3, 2): "FIST m32", (3, 3): "FISTP m32", (3, 5): "FLD m80",
       (3, 7): "FSTP m80", (5, 0): "FLD m64", (5, 2): "FST m64", (5, 3): "FSTP m64",
       (5, 7): "FNSTSW m16", (7, 0): "FILD m16", (7, 2): "FIST m16", (7, 3): "FISTP m16",
       (7, 4): "FBLD", (7, 5): "FILD m64", (7, 6): "FBSTP", (7, 7): "FISTP m64"}


def mnemonic(op: int, modrm: int) -> str:
    o, reg = op - 0xD8, (modrm >> 3) & 7
    if modrm < 0xC0:
        if o in (0, 4):
            return ARITH[reg] + (" m32" if o == 0 else " m64")
        if o in (2, 6):
            return "FI" + ARITH[reg][1:] + (" m32" if o == 2 else " m16")
        return MEM[(o, reg)]
    if o == 0:
        return ARITH[reg]
    if o == 4:                      # DC: reversed SUB/DIV, aliases of FCOM/FCOMP
        return ("FADD", "FMUL", "FCOM", "FCOMP", "FSUBR", "FSUB", "FDIVR", "FDIV")[reg]
    if o == 6:
        return ("FADDP", "FMULP", "FCOMP", "FCOMPP", "FSUBRP", "FSUBP", "FDIVRP", "FDIVP")[reg]
    if o == 1:
        return ("FLD", "FXCH", "FNOP", "FSTP")[reg] if reg < 4 else D9_REG[modrm]
    if o == 2:
        return "FUCOMPP" if modrm == 0xE9 else "FCMOVcc"
    if o == 3:
        if reg < 4:
            return "FCMOVcc"
        return {0xE0: "FENI", 0xE1: "FDISI", 0xE2: "FNCLEX", 0xE3: "FNINIT",
                0xE4: "FSETPM"}.get(modrm, "FUCOMI" if reg == 5 else "FCOMI")
    if o == 5:
        return ("FFREE", "FXCH", "FST", "FSTP", "FUCOM", "FUCOMP")[reg]
    return ("FFREEP", "FXCH", "FSTP", "FSTP", "FNSTSW AX", "FUCOMIP", "FCOMIP")[reg]


FAMILIES = [
    ("loads", lambda m: m.startswith(("FLD ", "FILD", "FBLD", "FLD1")) or m in
     ("FLD", "FLDL2T", "FLDL2E", "FLDPI", "FLDLG2", "FLDLN2", "FLDZ")),
    ("real stores", lambda m: m.startswith(("FST ", "FSTP ")) or m in ("FST", "FSTP")),
    ("integer/BCD stores", lambda m: m.startswith(("FIST", "FBSTP"))),
    ("add sub mul div", lambda m: m.startswith(("FADD", "FSUB", "FMUL", "FDIV", "FIADD",
                                                "FISUB", "FIMUL", "FIDIV"))),
    ("FCOM FUCOM FICOM FTST FXAM", lambda m: m.startswith(("FCOM", "FUCOM", "FICOM"))
     and "FCOMI" not in m and "FUCOMI" not in m or m in ("FTST", "FXAM")),
    ("FCOMI FUCOMI", lambda m: "COMI" in m),
    ("FCMOVcc", lambda m: m == "FCMOVcc"),
    ("FCHS FABS", lambda m: m in ("FCHS", "FABS")),
    ("FSQRT", lambda m: m == "FSQRT"),
    ("FRNDINT", lambda m: m == "FRNDINT"),
    ("FSCALE FXTRACT", lambda m: m in ("FSCALE", "FXTRACT")),
    ("FPREM FPREM1", lambda m: m.startswith("FPREM")),
    ("transcendental", lambda m: m in ("FSIN", "FCOS", "FSINCOS", "FPTAN", "FPATAN", "F2XM1",
                                       "FYL2X", "FYL2XP1")),
    ("stack and control", lambda m: True),   # FXCH FFREE FINCSTP FLDCW FNSTSW FNCLEX ...
]


def family(op: int, modrm: int) -> str:
    m = mnemonic(op, modrm)
    return next(name for name, test in FAMILIES if test(m))


# ---- fields and operand kinds -------------------------------------------------------------

SW_BITS = {0: "IE", 1: "DE", 2: "ZE", 3: "OE", 4: "UE", 5: "PE", 6: "SF", 7: "ES/B", 15: "ES/B",
           8: "C0", 9: "C1", 10: "C2", 14: "C3", 11: "TOP", 12: "TOP", 13: "TOP"}
FIELD_GROUPS = [("value", ("value",)), ("C1", ("C1",)), ("C0 C2 C3", ("C0", "C2", "C3")),
                ("IE", ("IE",)), ("DE", ("DE",)), ("ZE OE UE PE", ("ZE", "OE", "UE", "PE")),
                ("SF", ("SF",)), ("ES/B", ("ES/B",)), ("TOP", ("TOP",)), ("tag", ("tag",)),
                ("memory", ("memory",)), ("EFLAGS", ("EFLAGS",)), ("fault", ("fault",))]


def value_class(a: bytes, b: bytes) -> str:
    """How two 80-bit register values differ."""
    ma, ea = int.from_bytes(a[:8], "little"), int.from_bytes(a[8:], "little")
    mb, eb = int.from_bytes(b[:8], "little"), int.from_bytes(b[8:], "little")
    nan_a = ea & 0x7FFF == 0x7FFF and ma << 1 & (2**64 - 1)
    nan_b = eb & 0x7FFF == 0x7FFF and mb << 1 & (2**64 - 1)
    if nan_a and nan_b:
        return "value: NaN payload"
    if nan_a or nan_b:
        return "value: NaN against non-NaN"
    if ea == eb and abs(ma - mb) <= 1:
        return "value: 1 ulp"
    if ea == eb and abs(ma - mb) < 1 << 12:
        return "value: low 12 bits"
    return "value: other"


def fields(want, got) -> set:
    """The fields in which Unicorn's result `got` differs from the host's."""
    if isinstance(got[3], tuple):
        return {f"fault #{got[3][1]}"}
    (wimg, wmem, wfl, _), (gimg, gmem, gfl, _) = want, got
    out = set()
    if wimg[0:2] != gimg[0:2]:
        out.add("cw")
    d = int.from_bytes(wimg[4:6], "little") ^ int.from_bytes(gimg[4:6], "little")
    out |= {name for bit, name in SW_BITS.items() if d >> bit & 1}
    if wimg[8:10] != gimg[8:10]:
        out.add("tag")
    for i in range(8):
        a, b = wimg[28 + 10 * i:38 + 10 * i], gimg[28 + 10 * i:38 + 10 * i]
        if a != b:
            out.add(value_class(a, b))
    if wmem != gmem:
        out.add("memory")
    if wfl != gfl:
        out.add("EFLAGS")
    return out


def group_of(field: str) -> str:
    key = field.split(":")[0].split(" #")[0]
    return next((g for g, names in FIELD_GROUPS if key in names), field)


def operand_kind(v: bytes, empty: bool) -> str:
    """The kind of an 80-bit register operand."""
    m, se = int.from_bytes(v[:8], "little"), int.from_bytes(v[8:], "little")
    e, top = se & 0x7FFF, m >> 63
    if empty:
        return "empty register"
    if e == 0:
        return "zero" if m == 0 else ("pseudo-denormal" if top else "denormal")
    if not top:
        return "unsupported (unnormal, pseudo-NaN/inf)"
    if e == 0x7FFF:
        return "infinity" if m << 1 & (2**64 - 1) == 0 else "NaN"
    return "normal"


def ieee_kind(b: bytes, ebits: int, mbits: int) -> str:
    v = int.from_bytes(b[:(1 + ebits + mbits) // 8], "little")
    e, m = v >> mbits & ((1 << ebits) - 1), v & ((1 << mbits) - 1)
    if e == 0:
        return "zero" if m == 0 else "denormal"
    if e == (1 << ebits) - 1:
        return "infinity" if m == 0 else "NaN"
    return "normal"


KIND_ORDER = ["empty register", "full stack (a push)", "unsupported (unnormal, pseudo-NaN/inf)",
              "pseudo-denormal", "denormal", "NaN", "infinity", "zero", "normal",
              "integer, BCD or no operand"]
ST0_ONLY = {"FST", "FSTP", "FTST", "FXAM", "FCHS", "FABS", "FSQRT", "FRNDINT", "F2XM1", "FSIN",
            "FCOS", "FXTRACT", "FPTAN", "FSINCOS"}
ST0_ST1 = {"FCOMPP", "FUCOMPP", "FSCALE", "FPREM", "FPREM1", "FPATAN", "FYL2X", "FYL2XP1"}
PUSHES = {"FXTRACT", "FPTAN", "FSINCOS"}


def case_kind(case) -> str:
    """The most unusual kind among the registers the instruction reads
    (ST(0), ST(1), ST(i)), its real memory operand, and the register a
    push fills."""
    op, modrm, state, mem, _fl = case
    m = mnemonic(op, modrm)
    fam = family(op, modrm)
    top = int.from_bytes(state[4:6], "little") >> 11 & 7
    tag = int.from_bytes(state[8:10], "little")

    def empty(r):
        return tag >> (2 * ((top + r) & 7)) & 3 == 3
    if m in ST0_ONLY or fam in ("real stores", "integer/BCD stores"):
        regs = [0]
    elif m in ST0_ST1:
        regs = [0, 1]
    elif modrm >= 0xC0 and (fam in ("add sub mul div", "FCOM FUCOM FICOM FTST FXAM", "FCOMI FUCOMI",
                                    "FCMOVcc") or m == "FXCH"):
        regs = [0, modrm & 7]
    elif m == "FLD":
        regs = [modrm & 7]
    elif modrm < 0xC0 and fam in ("add sub mul div", "FCOM FUCOM FICOM FTST FXAM"):
        regs = [0]
    else:
        regs = []
    kinds = [operand_kind(state[28 + 10 * r:38 + 10 * r], empty(r)) for r in regs]
    if (fam == "loads" or m in PUSHES) and not empty(7):
        kinds.append("full stack (a push)")
    kind = X.MEM_FORMS.get((op - 0xD8, modrm >> 3 & 7)) if modrm < 0xC0 else None
    if kind == "m32r" and fam != "real stores":
        kinds.append(ieee_kind(mem, 8, 23))
    elif kind == "m64r" and fam != "real stores":
        kinds.append(ieee_kind(mem, 11, 52))
    elif kind == "m80r":
        kinds.append(operand_kind(mem[:10], False))
    return min(kinds, key=KIND_ORDER.index) if kinds else "integer, BCD or no operand"


# ---- tally ------------------------------------------------------------------------------

class Tally:
    """Counts per instruction family and per operand kind: cases, Unicorn's
    agreements with the host, its disagreements by field group."""

    def __init__(self):
        self.cases = collections.Counter()
        self.agree = collections.Counter()
        self.by_field = collections.defaultdict(collections.Counter)
        self.only_c1 = collections.Counter()
        self.detail = collections.Counter()
        self.unmasked = collections.Counter()

    def add(self, case, want, got) -> bool:
        """Count one case; True when Unicorn agrees with the host."""
        rows = (family(case[0], case[1]), "kind: " + case_kind(case))
        new_es = not case[2][4] & 0x80 and want[0][4] & 0x80
        agree = not isinstance(got[3], tuple) and not X.compare(case, want, got)
        self.unmasked[(bool(new_es), agree)] += 1
        for row in rows:
            self.cases[row] += 1
            self.agree[row] += agree
        if agree:
            return True
        f = fields(want, got)
        for row in rows:
            self.only_c1[row] += f == {"C1"}
            for g in {group_of(x) for x in f}:
                self.by_field[row][g] += 1
        for x in f:
            if x.startswith("value"):
                self.detail[x] += 1
            elif x.startswith("fault"):
                self.detail[mnemonic(case[0], case[1]) + ": " + x] += 1
        return False

    def table(self) -> str:
        """The tables, as Markdown: by family, by operand kind."""
        groups = [g for g, _ in FIELD_GROUPS]
        fams = [name for name, _ in FAMILIES]
        kinds = ["kind: " + k for k in KIND_ORDER]
        out = []
        for title, order in (("family", fams + ["all"]), ("operands (the most unusual)", kinds)):
            out += ["| " + title + " | cases | Unicorn = host | only C1 differs | " + " | ".join(groups)
                    + " |", "|---" * (4 + len(groups)) + "|"]
            for row in order:
                if row == "all":
                    n, a = sum(self.cases[f] for f in fams), sum(self.agree[f] for f in fams)
                    c1 = sum(self.only_c1[f] for f in fams)
                    cells = [sum(self.by_field[f][g] for f in fams) for g in groups]
                else:
                    n, a, c1 = self.cases[row], self.agree[row], self.only_c1[row]
                    cells = [self.by_field[row][g] for g in groups]
                if n:
                    out.append(f"| {row.removeprefix('kind: ')} | {n} | {a} ({100 * a / n:.1f}%) | {c1} | "
                               + " | ".join(str(v) if v else "" for v in cells) + " |")
            out.append("")
        u = self.unmasked
        out.append(f"Cases where the host raised a new unmasked exception: {u[(True, True)] + u[(True, False)]}, "
                   f"Unicorn agreeing in {u[(True, True)]}; the others: {u[(False, True)] + u[(False, False)]}, "
                   f"agreeing in {u[(False, True)]}.")
        if self.detail:
            out.append("Register values and faults: " + ", ".join(
                f"{k} {v}" for k, v in self.detail.most_common()) + ".")
        return "\n".join(out)


def three_way(host, cases, model: str = "686", batch: int = 250, tally: Tally | None = None):
    """Run the cases on the host, hvmm (`model`) and Unicorn; return (tally,
    hvmm-vs-host failures, hvmm-vs-Unicorn failures where Unicorn agrees
    with the host)."""
    tally = tally or Tally()
    want = X.run_host(host, cases)
    host_fail, uc_fail = [], []
    for k in range(0, len(cases), batch):
        o32 = (k // batch) % 2 == 0
        part = cases[k:k + batch]
        hv = X.run_hvmm(part, model=model, o32=o32)
        uc = run_unicorn(part, o32=o32)
        for case, w, h, u in zip(part, want[k:k + batch], hv, uc):
            d = X.compare(case, w, h)
            if d:
                host_fail.append(X.describe(case) + "\n  " + "; ".join(d))
            if tally.add(case, w, u):
                d = X.compare(case, u, h, names=("Unicorn", "hvmm"))
                if d:
                    uc_fail.append(X.describe(case) + "\n  Unicorn agrees with the host; "
                                   + "; ".join(d))
    return tally, host_fail, uc_fail


if __name__ == "__main__":
    import sys
    import tempfile
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 30_000
    with tempfile.TemporaryDirectory() as tmp:
        lib = X.build_host(Path(tmp))
        tally, host_fail, uc_fail = three_way(lib, X.make_cases(n, seed, p6=True))
    print(f"{n} cases (seed {seed}); hvmm differs from the host in {len(host_fail)}, "
          f"from Unicorn where Unicorn agrees with the host in {len(uc_fail)}\n")
    print(tally.table())
