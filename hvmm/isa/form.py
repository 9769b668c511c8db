"""What a row of the instruction table (table.py) is: the CPU models and
their constants, and `Form`, one opcode form."""
from __future__ import annotations

import dataclasses

MODELS = ("8086", "286", "386", "686")   # C enum MODEL_<name> (core/state.pxi)
# Models with 32-bit operands (the 0x66 prefix): the others get one
# instantiation of their switch, with o32 = 0.
OPERAND_SIZE_32 = {"8086": False, "286": False, "386": True, "686": True}
# Longest instruction in bytes (#GP(0) beyond), 0 for none: the 8086 takes
# any run of prefixes.
INSN_LIMIT = {"8086": 0, "286": 10, "386": 15, "686": 15}
# LOCK before a form whose `lock` is False (or a register operand) is #UD
# (the 286 takes LOCK before anything).
LOCK_UD = {"8086": False, "286": False, "386": True, "686": True}
ALL = frozenset(MODELS)
I8086 = frozenset({"8086"})
I286 = frozenset({"286", "386", "686"})     # the 286 and the parts after it
ONLY286 = frozenset({"286"})        # the 286 where the 386 differs
I386 = frozenset({"386", "686"})    # the 386 and the parts after it
ONLY386 = frozenset({"386"})        # the 386 (with a 387) where the 686 differs
I686 = frozenset({"686"})           # Pentium Pro / II additions

# EFLAGS letters used in `flags` / `undefined`.
FLAG_BITS = {"O": 0x800, "D": 0x400, "I": 0x200, "T": 0x100, "S": 0x80, "Z": 0x40,
             "A": 0x10, "P": 0x4, "C": 0x1}
ARITH = "OSZAPC"


@dataclasses.dataclass(frozen=True)
class Form:
    opcode: int                 # 0x00-0xFF, or 0x100 | byte for 0F xx
    mnemonic: str
    operands: str = ""          # "Eb,Gb", "Ev,Iz", "" ...
    body: str = "pass"
    models: frozenset = ALL
    reg: int | None = None      # ModRM reg field of a group row
    flags: str = ""             # flags written (defined or not)
    undefined: str = ""         # of those, the ones left undefined
    lock: bool = False          # LOCK allowed (memory destination)
    modrm: bool | None = None   # None: from the operands; False: the body decodes it
    reg_form: str = "ok"        # with mod = 3: "ok", "#UD", or "ignored" (no effect)
    pm_only: bool = False       # exists in protected mode only: #UD in real and V86 mode
    prefix: str | None = None   # a prefix byte: its PX_ kind (no body)
    escape: bool = False        # the 0x0F byte: escape to the two-byte page
    iced: tuple = ()            # iced-x86 Code names of this form (differential suite)
    hot: bool = False           # in a shared switch, tested by model inline, not split out
    note: str = ""

    @property
    def page(self) -> int:
        return self.opcode >> 8

    @property
    def encoding(self) -> str:
        s = f"0F {self.opcode & 0xFF:02X}" if self.page else f"{self.opcode:02X}"
        return s + (f" /{self.reg}" if self.reg is not None else "")

    @property
    def decodes_modrm(self) -> bool:
        if self.modrm is not None:
            return self.modrm
        # ModRM operand kinds: a capital and a lower-case size (Eb Gv Sw Ms
        # Cd ...) or M alone; register names (ES, DX, eAX) are all capitals.
        return self.reg is not None or any(
            o[:1] in "EGMSCDR" and (len(o) == 1 or (len(o) == 2 and o[1].islower()))
            for o in self.operands.split(","))

    @property
    def operand_size(self) -> bool:
        """The form depends on the operand size (16/32 bits)."""
        return "o32" in self.body

    @property
    def immediate(self) -> str:
        """Immediate/displacement bytes after ModRM: b w z (word/dword) p (far
        pointer) o (address-size offset), comma-joined; '' for none."""
        kinds = []
        for o in self.operands.split(","):
            if o[:1] and o[0] in "IJ":
                kinds.append({"b": "b", "w": "w", "z": "z", "v": "z"}[o[1]])
            elif o == "Ap":
                kinds.append("p")
            elif o[:1] == "O":
                kinds.append("o")
        return ",".join(kinds)

    def mask(self, which: str) -> int:
        out = 0
        for ch in getattr(self, which):
            out |= FLAG_BITS[ch]
        return out
