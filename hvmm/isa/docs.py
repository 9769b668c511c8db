"""Write the opcode coverage page from the instruction table.

    python -m hvmm.isa.docs > docs/opcodes.md

tests/test_isa_table.py regenerates it and fails if the committed page
differs, so the page cannot drift from the table.
"""
from __future__ import annotations

import sys

from . import table as T

HEADER = """# Opcode coverage

Generated from the instruction table (`hvmm/isa/table.py`) by
`python -m hvmm.isa.docs > docs/opcodes.md`; do not edit by hand. The same
table generates the core's opcode switch (one per CPU model) and gives the
differential suite its instruction forms and undefined-flag masks.

Columns: encoding (`0F xx` is the two-byte page, `/r` a ModRM reg value of a
group opcode), mnemonic and operands (Intel notation: E = ModRM r/m, G =
ModRM reg, I = immediate, J = relative offset, M = memory only, S = segment
register, A = far pointer, O = offset; b = byte, w = word, v = word or
dword by operand size, z = word or dword immediate), the CPU models that
have the form, the flags it writes (defined) and leaves undefined, whether
LOCK may prefix it, and notes. A model without a row for an encoding raises
#UD there. Prefix bytes are listed with the model that has them.

"""


def _flags(s: str) -> str:
    return " ".join(ch + "F" for ch in s) if s else ""


def _models(f: T.Form) -> str:
    return ", ".join(m for m in T.MODELS if m in f.models)


def render() -> str:
    out = [HEADER]
    rows = sorted(T.ROWS, key=lambda f: (f.opcode, -1 if f.reg is None else f.reg,
                                         [m not in f.models for m in T.MODELS]))
    counts = {m: sum(1 for f in T.forms(m) if f.prefix is None and not f.escape)
              for m in T.MODELS}
    out.append("Forms per model: " + ", ".join(f"{m}: {n}" for m, n in counts.items()) + ".\n")
    for page, title in ((0, "One-byte opcodes"), (1, "Two-byte opcodes (0F xx)")):
        out.append(f"\n## {title}\n")
        out.append("| Encoding | Mnemonic | Operands | Models | Flags defined | Undefined | LOCK | Notes |")
        out.append("|---|---|---|---|---|---|---|---|")
        for f in rows:
            if f.page != page:
                continue
            defined = "".join(ch for ch in f.flags if ch not in f.undefined)
            notes = []
            if f.prefix:
                notes.append("prefix")
            if f.pm_only:
                notes.append("protected mode only: #UD in real and V86 mode")
            if f.reg_form == "#UD":
                notes.append("register operand: #UD")
            elif f.reg_form == "ignored":
                notes.append("register operand: no effect")
            if f.note:
                notes.append(f.note)
            out.append(f"| {f.encoding} | {f.mnemonic} | {f.operands} | {_models(f)} | "
                       f"{_flags(defined)} | {_flags(f.undefined)} | {'yes' if f.lock else ''} | "
                       f"{'; '.join(notes)} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
