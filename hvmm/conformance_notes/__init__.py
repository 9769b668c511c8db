"""Documented differences for the conformance runner (hvmm.conformance).

A SingleStepTests set captured on one CPU may hold notes for another model
in its metadata.json, keyed by the model's name: at the top level (the whole
set), per opcode and per ModRM reg field, each ``{"skip-tests": clauses,
"flags-mask": mask, "why": text}``.  The sets in ../shared are read-only, so
differences found later live here, in ``<set directory name>.json`` beside
this file, keyed the same way (``{"386": {...}, "opcodes": {"C0": {"reg":
{"5": {"386": {...}}}}}}``), each note with its reason and the manual's
reference in ``why``.  The runner merges both.

Running that model, a failing test is a documented difference when a note
in scope explains it: one of its ``skip-tests`` clauses (";"-separated)
covers the failure, or the test passes under its ``flags-mask``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ["Note", "notes_for", "project_notes", "opcode_at", "modrm_reg"]

_HERE = Path(__file__).resolve().parent
_PREFIXES = frozenset({0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67,
                       0xF0, 0xF1, 0xF2, 0xF3})
_STRING_OPS = frozenset({0x6C, 0x6D, 0x6E, 0x6F, 0xA4, 0xA5, 0xA6, 0xA7,
                         0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF})


def opcode_at(test_bytes) -> int:
    """Index of the opcode byte, past any prefixes."""
    i = 0
    n = len(test_bytes)
    while i < n and test_bytes[i] in _PREFIXES:
        i += 1
    return i


def modrm_reg(test_bytes) -> int:
    i = opcode_at(test_bytes)
    if i < len(test_bytes) and test_bytes[i] == 0x0F:
        i += 1
    return (test_bytes[i + 1] >> 3) & 7 if i + 1 < len(test_bytes) else 0


_LOCK_SHAPES = None


def _locked_unlockable(test, d) -> bool:
    """LOCK before an instruction that is not a lockable memory form (the
    386's lock column of the instruction table, hvmm/isa)."""
    global _LOCK_SHAPES
    if _LOCK_SHAPES is None:
        from hvmm.isa.generate import shapes
        _LOCK_SHAPES = shapes("386")
    b = test["bytes"]
    i = opcode_at(b)
    if 0xF0 not in b[:i]:
        return False
    if i >= len(b):
        return True
    op = b[i]
    if op == 0x0F and i + 1 < len(b):
        i += 1
        op = 0x100 | b[i]
    if i + 1 >= len(b):
        return True
    modrm = b[i + 1]
    return modrm >> 6 == 3 or not _LOCK_SHAPES.get((op << 3) | ((modrm >> 3) & 7), 0) & 0x80


# ---- differences in how a fault leaves the CPU (found by hvmm, not in the
# set's metadata): each clause accepts a failure whose every mismatch it,
# or the #SS/#GP one beside it, accounts for.

def _bad_regs(d) -> dict:
    return {name: (exp, got) for name, exp, got in d["regs"]}


def _ss_for_gp(test, d, regs) -> bool:
    """The capture took INT 13 where the 386 takes #SS (INT 12): drop the
    handler address (CS:IP) from `regs`. False if that is not the case."""
    exc = test.get("exception") or {}
    if exc.get("number") != 13 or d.get("delivered") != 12:
        return False
    regs.pop("cs", None)
    regs.pop("ip", None)
    return True


def _only_regs_left(d, regs, ram=True) -> bool:
    return (not regs and d["flags"] is None and d["exit"] is None
            and (not ram or not d["ram"]))


def _ss_clause(test, d) -> bool:
    regs = _bad_regs(d)
    return _ss_for_gp(test, d, regs) and _only_regs_left(d, regs)


def _string_clause(test, d) -> bool:
    """A string instruction that faults: the 286 leaves SI/DI advanced past
    the faulting element (and CX counted down under REP); the 386 leaves
    them for the restart (with the iterations done before it)."""
    b = test["bytes"]
    i = opcode_at(b)
    if not test.get("exception") or i >= len(b) or b[i] not in _STRING_OPS:
        return False
    size = 1 if b[i] % 2 == 0 else 2
    regs = _bad_regs(d)
    _ss_for_gp(test, d, regs)
    down = test["initial"]["regs"]["flags"] & 0x400
    step = -size if down else size
    for name in ("si", "di"):
        if name in regs and regs[name][0] == (regs[name][1] + step) & 0xFFFF:
            del regs[name]
    # under REP the 286 has counted CX down once or twice more (the capture
    # shows both)
    if "cx" in regs and (regs["cx"][1] - regs["cx"][0]) & 0xFFFF in (1, 2) and any(
            p in b[:i] for p in (0xF2, 0xF3)):
        del regs["cx"]
    return _only_regs_left(d, regs)


def _pop_clause(test, d) -> bool:
    """POP r/m16 whose memory write faults: the 286 keeps the pop's SP + 2
    (so its exception frame sits 2 bytes higher); the 386 restores SP."""
    b = test["bytes"]
    i = opcode_at(b)
    if not test.get("exception") or i >= len(b) or b[i] != 0x8F:
        return False
    regs = _bad_regs(d)
    _ss_for_gp(test, d, regs)
    if "sp" not in regs or regs["sp"][0] != (regs["sp"][1] + 2) & 0xFFFF:
        return False
    got_sp = regs.pop("sp")[1]
    frame = (test["final"]["regs"].get("ss", test["initial"]["regs"]["ss"]) << 4) + got_sp
    if any(not frame <= addr < frame + 8 for addr, _, _ in d["ram"]):
        return False
    return _only_regs_left(d, regs, ram=False)


# The "skip-tests" clauses a note may hold: what each covers.
_CLAUSES = (
    (re.compile(r"modrm reg (\d)(?:\s*-\s*(\d))?$", re.I),
     lambda m: (lambda lo, hi: lambda t, d: lo <= modrm_reg(t["bytes"]) <= hi)(
         int(m.group(1)), int(m.group(2) or m.group(1)))),
    (re.compile(r"length > (\d+) bytes?$", re.I),
     lambda m: (lambda n: lambda t, d: len(t["bytes"]) > n)(int(m.group(1)))),
    (re.compile(r"F0 \(LOCK\) prefix unless the instruction is a lockable memory form$", re.I),
     lambda m: _locked_unlockable),
    (re.compile(r"#SS for a limit fault through SS$", re.I), lambda m: _ss_clause),
    (re.compile(r"string instruction fault: SI/DI/CX not advanced$", re.I),
     lambda m: _string_clause),
    (re.compile(r"POP r/m fault: SP restored$", re.I), lambda m: _pop_clause),
)


def _passes_under(d, mask) -> bool:
    """Whether the mismatches `d` are all in flag bits outside `mask`."""
    if d["regs"] or d["exit"] is not None:
        return False
    if d["flags"] is not None:
        exp, got = d["flags"]
        if (exp ^ got) & mask:
            return False
    fb = d["flag_bytes"]
    for addr, exp, got in d["ram"]:
        if addr not in fb or (exp ^ got) & (mask >> fb[addr]) & 0xFF:
            return False
    return True


class Note:
    """A documented difference for the model being run."""
    __slots__ = ("why", "covers", "flags_mask")

    def __init__(self, note: dict, where: str, warn):
        self.why = str(note.get("why", "")) or where
        self.flags_mask = int(note["flags-mask"]) if "flags-mask" in note else None
        self.covers = []
        for clause in str(note.get("skip-tests", "")).split(";"):
            clause = clause.strip()
            if not clause:
                continue
            for pattern, make in _CLAUSES:
                m = pattern.match(clause)
                if m:
                    self.covers.append((clause, make(m)))
                    break
            else:
                warn("metadata note for %s not understood, ignored: %r" % (where, clause))

    def explains(self, test, d) -> str | None:
        """Why the failure `d` of `test` is a documented difference, or None."""
        for clause, covers in self.covers:
            if covers(test, d):
                return "%s: %s" % (clause, self.why)
        if self.flags_mask is not None and _passes_under(d, d["mask"] & self.flags_mask):
            return "flags-mask %04X: %s" % (self.flags_mask, self.why)
        return None


_NOTE_MODELS = {"686": ("686", "386")}


def notes_for(info, model, where, warn) -> tuple:
    """The notes for `model` in a metadata entry (set, opcode or reg): one
    object, or (in hvmm's own notes) a list of them."""
    note = None
    if isinstance(info, dict):
        # A later model shares its predecessor's notes unless it has its own
        # (the 686 behaves as the 386 everywhere these sets look).
        for name in _NOTE_MODELS.get(model, (model,)):
            note = info.get(name)
            if note is not None:
                break
    if isinstance(note, dict):
        return (Note(note, where, warn),)
    if isinstance(note, list):      # several, each with its own reason
        return tuple(Note(n, where, warn) for n in note if isinstance(n, dict))
    return ()


def project_notes(directory) -> dict:
    """hvmm's own notes for the set in `directory` (by its name), laid out
    like metadata.json: {} when there are none."""
    path = _HERE / ("%s.json" % Path(directory).resolve().name)
    if not path.is_file():
        return {}
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)
