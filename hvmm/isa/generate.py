"""Write the core's opcode switch from the instruction table.

    python -m hvmm.isa.generate [OUT]      (default hvmm/core/execute_gen.pxi)

setup.py runs this before Cython (loading this package by path, so nothing
needs to be built first); the output is not committed.

For every CPU model in table.MODELS the output has:

* ``prefix_table_<model>``: the prefix bytes of that model.
* ``shape_table_<model>``: per opcode and ModRM reg, the SHAPE_* bits the
  length decoder and the LOCK check use (ModRM, immediates, lockable).

and for every *instantiated* model (not in SHARES: the 686 runs the 386's):

* ``execute_<model>(c, d, op, o32, eip_p, left)``: the opcode switch built
  from the rows of that model and of the models sharing it; it returns 1,
  doing nothing, for a prefix byte. Only equality tests on ``op`` (gcc
  turns the chain into a jump table); opcodes with the same body share a
  case; opcodes whose rows differ between the sharing models call an
  out-of-line helper (split_page<n>) that chooses by c.model. It is
  `inline`, so each caller gets a copy with `o32` folded in.
* ``execute_prefixed_<model>_<16|32>``, ``run_chunk_<model>_<16|32>`` and
  ``run_loop_<model>``: the out-of-line instantiations of the templates in
  core/loop.pxi (execute_prefixed, run_chunk, run_loop), which take the
  model and the code segment's default size (CS.D; 16 only for a model
  without 32-bit operands) as constants; the 686 runs the 386's, so it is
  instantiated per D too. run_chunk_* is reached only through a pointer
  (the fault guard calls it), so it is never inlined.

and dispatchers (``execute``, ``execute_prefixed_for``, ``run_loop_for``)
that pick the instantiation: inside a template the model is a constant, so
the choice folds away; ``run_loop_for`` is the one run-time choice, made
once per entry to the loop.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

try:
    from . import table as T
except ImportError:                     # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import table as T                   # type: ignore[no-redef]

UD = "raise_fault(c, d, eip, VEC_UD)"

# A model that runs another model's instantiation of the switch (a third
# copy of the loop costs ~40 s of compile time). Opcodes whose rows differ
# between the two become out-of-line helpers (split_<opcode>) that choose
# by c.model; the others are shared inline.
SHARES = {"686": "386"}


def instantiated() -> list[str]:
    return [m for m in T.MODELS if m not in SHARES]


def _members(model: str) -> list[str]:
    return [model] + [m for m, host in SHARES.items() if host == model]


def _check_shares() -> None:
    """A sharing model runs with its host's constants (operand size, length
    limit, LOCK #UD, the prefix cases of the switch): they must agree."""
    for m, host in SHARES.items():
        for name in ("OPERAND_SIZE_32", "INSN_LIMIT", "LOCK_UD"):
            if getattr(T, name)[m] != getattr(T, name)[host]:
                raise ValueError(f"{m} shares the {host}'s switch but differs in {name}")
        if ({(f.opcode, f.prefix) for f in T.forms(m) if f.prefix}
                != {(f.opcode, f.prefix) for f in T.forms(host) if f.prefix}):
            raise ValueError(f"{m} shares the {host}'s switch but has other prefixes")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "core" / "execute_gen.pxi"


def _indent(text: str, n: int) -> list[str]:
    pad = " " * n
    return [pad + line if line else line for line in text.split("\n")]


def _form_code(f: T.Form, decode_modrm: bool) -> str:
    """The statements of one form, ModRM decoding included when asked."""
    if f.pm_only:       # real and V86 mode: #UD (a rare form: one test)
        body = _form_code(dataclasses.replace(f, pm_only=False), decode_modrm)
        return "\n".join(["if not (c.cr[0] & 1) or (c.flags & F_VM):", "    " + UD, "else:"]
                         + _indent(body, 4))
    lines = []
    if decode_modrm and f.decodes_modrm:
        lines.append("modrm(c, d)")
    if f.reg_form == "#UD":
        lines += ["if d.mod == 3:", "    " + UD, "else:", "    " + f.body]
    elif f.reg_form == "ignored":
        lines += ["if d.mod != 3:", "    " + f.body]
    else:
        lines.append(f.body)
    return "\n".join(lines)


def _chain(cases: list[tuple[list[int], str]], var: str, fmt, default: str | None) -> list[str]:
    """if/elif chain of equality tests; `cases` is [(values, code)]."""
    out = []
    for i, (values, code) in enumerate(cases):
        cond = " or ".join(f"{var} == {fmt(v)}" for v in values)
        out.append(("if " if i == 0 else "elif ") + cond + ":")
        out += _indent(code, 4)
    if default is None and out:     # exhaustive: the last case needs no test
        out[-len(_indent(cases[-1][1], 4)) - 1] = "else:"
    elif default is not None:
        if out:
            out.append("else:")
            out += _indent(default, 4)
        else:
            out.append(default)
    return out


def _merge(items: list[tuple[int, str]]) -> list[tuple[list[int], str]]:
    """Group values with identical code, in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for v, code in items:
        groups.setdefault(code, []).append(v)
    return [(vals, code) for code, vals in groups.items()]


def _opcode_code(rows: list[T.Form], model: str) -> str:
    if rows[0].reg is None:
        if len(rows) != 1:
            raise ValueError(f"{model}: {len(rows)} rows for {rows[0].encoding}")
        return _form_code(rows[0], True)
    regs = {}
    for f in rows:
        if f.reg is None or f.reg in regs:
            raise ValueError(f"{model}: bad group rows for {f.encoding}")
        regs[f.reg] = _form_code(f, False)
    cases = _merge(sorted(regs.items()))
    # A body that decodes ModRM itself (POP Ev: after the pop) is chosen by
    # the reg field read ahead, ModRM left undecoded.
    decode = ["modrm(c, d)"] if rows[0].modrm is not False else []
    var = "d.reg" if decode else "((d.p[0] >> 3) & 7)"
    if len(cases) == 1 and len(regs) == 8:
        return "\n".join(decode + [cases[0][1]])
    return "\n".join(decode + _chain(cases, var, str, None if len(regs) == 8 else UD))


def _page(model: str, page: int, splits: dict | None = None) -> list[str]:
    """The switch of one page for an instantiated model and the models
    that share it; `splits` collects the out-of-line helpers."""
    members = _members(model)
    by_op: dict[int, dict[str, list[T.Form]]] = {}
    for m in members:
        for f in T.forms(m):
            if f.prefix is None and f.page == page:
                by_op.setdefault(f.opcode, {}).setdefault(m, []).append(f)
    items = []
    if page == 0:
        # A prefix byte reached unprefixed: tell the loop (it decodes the
        # prefixes out of line), sparing it a separate prefix test.
        items += [(f.opcode, "return 1") for f in T.forms(model) if f.prefix]
    for opc in sorted(by_op):
        per_model = by_op[opc]
        rows = next(iter(per_model.values()))
        if rows[0].escape:
            code = "\n".join(["op = 0x100 | fetch8(d)"] + _page(model, 1, splits))
        else:
            codes = {m: _opcode_code(per_model[m], m) if m in per_model else UD for m in members}
            code = codes[model]
            hot = [m for m in members if m in per_model and per_model[m][0].hot]
            if len(set(codes.values())) > 1 and hot and all(
                    codes[m] == UD for m in members if m not in hot):
                # a hot opcode only some models have: their model test
                # inline (a compare), the others' #UD
                code = "\n".join(
                    _chain([([m], codes[m]) for m in hot], "c.model", lambda m: f"MODEL_{m}", UD))
            elif len(set(codes.values())) > 1:
                # every such opcode of the page goes through one call site
                # (each out-of-line call in the loop costs it registers)
                name = f"split_page{page}"
                if splits is not None:
                    splits.setdefault(name, {})[opc] = codes
                code = f"run_split({page}, c, d, op, o32, &eip)"
        items.append((opc, code))
    return _chain(_merge(items), "op", lambda v: f"0x{v:02X}", UD)


SPLIT_CALL = """\
ctypedef struct SplitIO:
    const uint8_t* p
    const uint8_t* start
    uint32_t eip

ctypedef void (*split_fn)(CpuState*, SplitIO*, uint32_t, int, int, int, uint32_t, int,
                          int) noexcept nogil

# The split helpers of each page are called through this table (filled at
# import; volatile: gcc knows nothing of the callee) with the decoder's
# state as values, not the loop's Insn and EIP themselves: were those
# passed to an out-of-line function they would live in memory, and a copy
# of the Insn made here gcc hoists, as vector code, to the top of the
# loop. Either costs the 386's loop about 10 % (callgrind, bench.bin).
# The budget is c.insn_left (run_chunk passes nothing else as `left`): it
# is in memory anyway, and a fault inside a helper finds it current.
cdef extern from *:
    \"\"\"
    static void* volatile hvmm_split_table[2];
    \"\"\"
    void* split_table "hvmm_split_table"[2]

cdef inline void run_split(int page, CpuState* c, Insn* d, uint32_t op, int o32,
                           uint32_t* eip) noexcept nogil:
    cdef SplitIO io
    io.p = d.p
    io.start = d.start
    io.eip = eip[0]
    (<split_fn>split_table[page])(c, &io, op, o32, d.o32, d.a32, d.amask, d.ovr, d.rep)
    d.p = io.p
    d.start = io.start
    eip[0] = io.eip

"""


def _split_helper(name: str, by_op: dict) -> list[str]:
    """The opcodes of a page whose rows differ between models sharing a
    switch: out of line, choosing by the opcode, then by the model (o32 is
    a run-time value here)."""
    out = [f"cdef void {name}(CpuState* c, SplitIO* io, uint32_t op, int o32, int d_o32,",
           "                 int d_a32, uint32_t d_amask, int d_ovr, int d_rep) noexcept nogil:",
           "    cdef Insn insn",
           "    cdef Insn* d = &insn",
           "    cdef uint32_t eip = io.eip",
           "    cdef uint64_t* left = &c.insn_left",
           "    insn.p = io.p",
           "    insn.start = io.start",
           "    insn.o32 = d_o32",
           "    insn.a32 = d_a32",
           "    insn.amask = d_amask",
           "    insn.ovr = d_ovr",
           "    insn.rep = d_rep"]
    cases = []
    for opc, codes in by_op.items():
        models = list(codes)
        lines = []
        for i, m in enumerate(models):
            head = "else:" if i == len(models) - 1 else ("if" if i == 0 else "elif") + f" c.model == MODEL_{m}:"
            lines.append(head)
            lines += _indent(codes[m], 4)
        cases.append((opc, "\n".join(lines)))
    out += _indent("\n".join(_chain(_merge(cases), "op", lambda v: f"0x{v:02X}", UD)), 4)
    return out + ["    io.p = insn.p", "    io.start = insn.start", "    io.eip = eip", "", ""]


def _execute(model: str) -> tuple[list[str], dict]:
    splits: dict = {}
    body = _page(model, 0, splits)
    return ([f"cdef inline int execute_{model}(CpuState* c, Insn* d, uint32_t op, int o32,",
             "                             uint32_t* eip_p, uint64_t* left) noexcept nogil:",
             "    cdef uint32_t eip = eip_p[0]"]
            + _indent("\n".join(body), 4)
            + ["    eip_p[0] = eip", "    return 0", "", ""]), splits


def shape(f: T.Form) -> int:
    """SHAPE_* bits of a form (core/state.pxi): its ModRM byte, immediates
    and LOCK."""
    if f.escape:
        return 0x100
    fixed = z = o = 0
    for kind in filter(None, f.immediate.split(",")):
        if kind == "b":
            fixed += 1
        elif kind == "w":
            fixed += 2
        elif kind == "z":
            z += 1
        elif kind == "p":           # offset (operand size) and selector
            fixed += 2
            z += 1
        elif kind == "o":
            o += 1
    has_modrm = f.modrm is not None or f.decodes_modrm     # modrm=False: the body decodes it
    return fixed | (z << 3) | (o << 5) | (0x40 if has_modrm else 0) | (0x80 if f.lock else 0)


def shapes(model: str) -> dict[int, int]:
    """{(opcode << 3) | reg: shape} of a model's forms (opcodes without a
    form: 0, no ModRM; a group's missing reg values: ModRM only)."""
    out = {}
    for f in T.forms(model):
        if f.prefix:
            continue
        if f.reg is None:
            for r in range(8):
                out[(f.opcode << 3) | r] = shape(f)
        else:
            for r in range(8):
                out.setdefault((f.opcode << 3) | r, 0x40)
            out[(f.opcode << 3) | f.reg] = shape(f)
    return out


def _prefixes() -> list[str]:
    out = [f"cdef uint8_t prefix_table_{m}[256]" for m in T.MODELS]
    out += [f"cdef uint16_t shape_table_{m}[4096]" for m in T.MODELS]
    out += ["", "cdef void init_prefix_tables() noexcept nogil:"]
    for m in T.MODELS:
        out.append(f"    memset(prefix_table_{m}, 0, 256)")
        for f in T.forms(m):
            if f.prefix:
                out.append(f"    prefix_table_{m}[0x{f.opcode:02X}] = {f.prefix}    # {f.mnemonic}")
    for m in T.MODELS:
        table = shapes(m)
        # runs of equal values, one loop each, keep the file short
        out.append(f"    memset(shape_table_{m}, 0, sizeof(shape_table_{m}))")
        keys = sorted(k for k in table if table[k])
        i = 0
        while i < len(keys):
            j = i
            while j + 1 < len(keys) and keys[j + 1] == keys[j] + 1 and table[keys[j + 1]] == table[keys[i]]:
                j += 1
            if i == j:
                out.append(f"    shape_table_{m}[0x{keys[i]:03X}] = 0x{table[keys[i]]:03X}")
            else:
                out.append(f"    for _k in range(0x{keys[i]:03X}, 0x{keys[j] + 1:03X}): "
                           f"shape_table_{m}[_k] = 0x{table[keys[i]]:03X}")
            i = j + 1
    return out + ["", "init_prefix_tables()", "", ""]


def _dispatch(name: str, ret: str, params: str, args: str, per_model) -> list[str]:
    out = [f"cdef inline {ret} {name}({params}, int model) noexcept nogil:"]
    models = instantiated()
    for i, m in enumerate(models):
        kw = "if" if i == 0 else "elif"
        if i == len(models) - 1:
            out.append("    else:")
        else:
            out.append(f"    {kw} model == MODEL_{m}:")
        out.append("        " + ("return " if ret != "void" else "") + per_model(m, args))
    return out + ["", ""]


def _instances() -> list[str]:
    out = []
    for m in instantiated():
        # per default size (CS.D): 16 only for models without 32-bit operands;
        # a sharing model (the 686) runs its host's, so it is per-D as well
        sizes = (16, 32) if T.OPERAND_SIZE_32[m] else (16,)
        for bits in sizes:
            d32 = 1 if bits == 32 else 0
            out += [f"cdef void execute_prefixed_{m}_{bits}(CpuState* c, Insn* d, uint32_t op,",
                    f"                                  uint32_t* eip, uint64_t* left) noexcept nogil:",
                    f"    execute_prefixed(c, d, op, eip, left, MODEL_{m}, {d32})",
                    "",
                    f"cdef int run_chunk_{m}_{bits}(void* c, uint64_t chunk) noexcept nogil:",
                    f"    return run_chunk(<CpuState*>c, chunk, MODEL_{m}, {d32})",
                    ""]
        out += [f"cdef int run_loop_{m}(CpuState* c, uint64_t budget) noexcept nogil:",
                f"    return run_loop(c, budget, MODEL_{m}, run_chunk_{m}_16, run_chunk_{m}_{sizes[-1]})",
                "", ""]
    out += ["# The one run-time choice of model: once per entry to the loop.",
            "cdef int run_loop_for(CpuState* c, uint64_t budget) noexcept nogil:"]
    models = instantiated()
    for m in models[:-1]:
        out += [f"    if c.model == MODEL_{m}:", f"        return run_loop_{m}(c, budget)"]
    return out + [f"    return run_loop_{models[-1]}(c, budget)",
                  "# (" + ", ".join(f"{m} runs the {h}'s loop" for m, h in SHARES.items()) + ")", ""]


def generate() -> str:
    out = ["# GENERATED by hvmm/isa/generate.py from hvmm/isa/table.py: do not edit,",
           "# do not commit (setup.py writes it before Cython runs).", "", ""]
    _check_shares()
    out += _prefixes()
    switches, splits = [], {}
    for m in instantiated():
        text, sp = _execute(m)
        switches += text
        splits.update(sp)
    if splits:
        out += SPLIT_CALL.split("\n")
    for name in sorted(splits):
        out += _split_helper(name, splits[name])
    for name in sorted(splits):
        out.append(f"split_table[{name[-1]}] = <void*>{name}")
    out.append("")
    out += switches
    out += _dispatch(
        "execute", "int",
        "CpuState* c, Insn* d, uint32_t op, int o32, uint32_t* eip, uint64_t* left",
        "c, d, op, {o32}, eip, left",
        lambda m, a: f"execute_{m}(" + a.format(o32="o32" if T.OPERAND_SIZE_32[m] else "0") + ")")
    out += _dispatch(
        "execute_prefixed_for", "void",
        "CpuState* c, Insn* d, uint32_t op, uint32_t* eip, uint64_t* left, int d32",
        "c, d, op, eip, left",
        lambda m, a: (f"if d32: execute_prefixed_{m}_32({a})\n        else: execute_prefixed_{m}_16({a})"
                      if T.OPERAND_SIZE_32[m] else f"execute_prefixed_{m}_16({a})"))
    def which(models):
        return " or ".join(f"model == MODEL_{m}" for m in models) or "0"
    out += ["# 1 if the model has 32-bit operands (a constant inside the templates).",
            "cdef inline int model_o32(int model) noexcept nogil:",
            "    return " + which(m for m in T.MODELS if T.OPERAND_SIZE_32[m]), "",
            "# The model's longest instruction (table.INSN_LIMIT; 0: no limit), and 1",
            "# if it raises #UD for LOCK before a form that cannot be locked (table.LOCK_UD).",
            "cdef inline int model_insn_limit(int model) noexcept nogil:"]
    for m in T.MODELS:
        if T.INSN_LIMIT[m]:
            out += [f"    if model == MODEL_{m}:", f"        return {T.INSN_LIMIT[m]}"]
    out += ["    return 0", "",
            "cdef inline int model_lock_ud(int model) noexcept nogil:",
            "    return " + which(m for m in T.MODELS if T.LOCK_UD[m]), "", ""]
    out += ["# A model's tables and instruction-length limit, in its CpuState.",
            "cdef void set_model_tables(CpuState* c) noexcept nogil:"]
    for i, m in enumerate(T.MODELS):
        out += [("    if" if i == 0 else "    elif") + f" c.model == MODEL_{m}:",
                f"        c.prefixes = prefix_table_{m}",
                f"        c.shapes = shape_table_{m}",
                f"        c.insn_limit = {T.INSN_LIMIT[m]}"]
    out += ["", ""]
    out += _instances()
    return "\n".join(out)


def write(path: Path | str = DEFAULT_OUT) -> bool:
    """Write the switch if it changed (so an unchanged table costs no
    Cython rebuild); True when the file was written."""
    path = Path(path)
    text = generate()
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
