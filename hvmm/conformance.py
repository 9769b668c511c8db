"""The SingleStepTests conformance runner.

Runs single-instruction tests in the SingleStepTests JSON layout (one gzip'd
JSON file per opcode, ``80.3.json.gz`` for opcode 0x80 with ModRM reg=3, and a
``metadata.json`` giving each opcode's ``status`` and optional ``flags-mask``)
against the compiled core, ``hvmm._core.Cpu``.

For every test, one reused ``Cpu`` is loaded with the initial registers and RAM
bytes, ``step()`` executes exactly one instruction (prefixes included; a REP
string instruction runs to completion; a faulting one ends with the interrupt
taken through the real-mode IVT, #UD included), and every register plus each
listed final RAM byte is compared.  Registers absent from ``final.regs`` did
not change.  FLAGS is compared as ``(actual & mask) == (expected & mask)``,
and so is the FLAGS image an exception pushed (at ``exception.flag_address``
when the test gives it).

Memory covers every address a test names: 1 MiB, wrapping, on the 8086;
on later models 1 MiB + 64 KiB (FFFF:FFFF with A20 enabled) at first, grown
when a test names an address above it.

Statuses:

- ``normal``, ``alias``, ``undocumented``: must pass; any failure makes the
  exit status 1.
- ``fpu`` (ESC opcodes; the core decodes them, with no x87 attached): run and
  reported, but a failing fpu test is counted as skipped, never as failed.
- ``undefined``, ``prefix``, ``extension`` and anything unknown: not run,
  counted as skipped.

Files holding every ModRM reg value of a group opcode (``8F``, ``C6``, ``C7``)
while metadata.json gives statuses per reg field have the status looked up per
test from the ModRM byte.

Documented differences: a set captured on one CPU may carry notes for another
model, keyed by its name (in sst286's metadata.json, ``"386": {"skip-tests":
..., "flags-mask": ..., "why": ...}`` at the top level, per opcode and per reg
field), and hvmm keeps more for a set in ``hvmm/conformance_notes/<set
directory name>.json``, laid out the same way (differences found after the
capture: how a fault leaves the registers, undefined flags).  Running that
model, a test that fails but falls under such a note (it matches the
``skip-tests`` description, or passes under the note's ``flags-mask``) is
counted as a documented difference, not as a failure.
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from hvmm.conformance_notes import modrm_reg as _modrm_reg
from hvmm.conformance_notes import notes_for as _notes
from hvmm.conformance_notes import project_notes
from hvmm.conformance_report import FileResult, Tally, print_report, write_json

__all__ = ["run_conformance", "MUST_PASS", "INFORMATIONAL", "CPU_MODELS"]

#: statuses whose tests must all pass
MUST_PASS = frozenset({"normal", "alias", "undocumented"})
#: statuses that are run and reported but never count as failures
INFORMATIONAL = frozenset({"fpu"})
#: models the runner knows; the core may not have them all (286)
CPU_MODELS = ("8086", "286", "386", "686")

REGS = ("ax", "bx", "cx", "dx", "sp", "bp", "si", "di",
        "cs", "ss", "ds", "es", "ip", "flags")
_BAD_EXITS = frozenset({"invalid_opcode", "unimplemented", "triple_fault",
                        "breakpoint"})
_ADDRESS_MASK = {"8086": 0xFFFFF}       # the 8086 address space wraps at 1 MiB
_REAL_MODE_TOP = 0x110000               # FFFF:FFFF + 1 with A20 enabled


# --------------------------------------------------------------------------
# metadata, notes for another model, file selection

def _entry(info: dict | None) -> tuple[str, int]:
    if not info:
        return "unknown", 0xFFFF
    return info.get("status", "unknown"), int(info.get("flags-mask", 0xFFFF))


def _file_key(path: Path) -> str:
    return path.name[: -len(".json.gz")].upper()


def _parse_filter(opcode_filter) -> list[str] | None:
    if opcode_filter is None:
        return None
    if isinstance(opcode_filter, str):
        tokens = opcode_filter.split(",")
    else:
        tokens = list(opcode_filter)
    tokens = [t.strip().upper() for t in tokens if t and t.strip()]
    return tokens or None


def _select(key: str, tokens: list[str] | None, grouped: bool):
    """Whether the file `key` is selected: None (no), "all", or a set of ModRM
    reg values (a filter like "8F.0" applied to a file holding a whole group
    opcode, `grouped`)."""
    if tokens is None:
        return "all"
    regs = set()
    for tok in tokens:
        if tok == key or key.startswith(tok + "."):
            return "all"
        if grouped and tok.startswith(key + "."):
            r = tok[len(key) + 1:]
            if r.isdigit():
                regs.add(int(r))
    return regs or None


# --------------------------------------------------------------------------
# running one test

def _ivt_vectors(ram_init: dict) -> set:
    """(cs, ip) pairs of the interrupt vectors present in the initial RAM."""
    vecs = set()
    for a in range(0, 1024, 4):
        if a in ram_init and a + 1 in ram_init and a + 2 in ram_init and a + 3 in ram_init:
            vecs.add((ram_init[a + 2] | ram_init[a + 3] << 8,
                      ram_init[a] | ram_init[a + 1] << 8))
    return vecs


def _pushed_flags(test, ir, expected, amask) -> dict:
    """{physical address: bit shift} of the FLAGS image an exception pushed,
    or {} when the test took none."""
    exc = test.get("exception")
    base = expected[9] << 4
    if exc is not None and "flag_address" in exc:
        lo = exc["flag_address"]
        off = lo - base
        hi = (base + ((off + 1) & 0xFFFF)) & amask if 0 <= off <= 0xFFFF else lo + 1
        return {lo: 0, hi: 8}
    # No exception key (sst8086): a divide error shows as CS:IP loaded from
    # an IVT entry present in the initial RAM and SP dropped by 6.
    esp = expected[4]
    if esp == ((ir["sp"] - 6) & 0xFFFF) and \
            (expected[8], expected[12]) in _ivt_vectors(dict(test["initial"]["ram"])):
        return {(base + ((esp + 4) & 0xFFFF)) & amask: 0,
                (base + ((esp + 5) & 0xFFFF)) & amask: 8}
    return {}


def _run_test(cpu, mem, test, mask, amask):
    """Run one test; return None on success, else a dict describing the
    mismatches.  Raises IndexError (RAM left clean) when the test names an
    address outside `mem`."""
    init = test["initial"]
    ir = init["regs"]
    fin = test["final"]
    init_ram = init["ram"]
    size = len(mem)
    for addr, _ in init_ram:
        if addr >= size:
            raise IndexError(addr)
    for addr, _ in fin["ram"]:
        if addr >= size:
            raise IndexError(addr)

    cpu.ax = ir["ax"]; cpu.bx = ir["bx"]; cpu.cx = ir["cx"]; cpu.dx = ir["dx"]
    cpu.sp = ir["sp"]; cpu.bp = ir["bp"]; cpu.si = ir["si"]; cpu.di = ir["di"]
    cpu.cs = ir["cs"]; cpu.ss = ir["ss"]; cpu.ds = ir["ds"]; cpu.es = ir["es"]
    cpu.ip = ir["ip"]; cpu.flags = ir["flags"]
    for addr, val in init_ram:
        mem[addr] = val
    cpu.last_exception = -1

    ex = cpu.step()

    actual = (cpu.ax, cpu.bx, cpu.cx, cpu.dx, cpu.sp, cpu.bp, cpu.si, cpu.di,
              cpu.cs, cpu.ss, cpu.ds, cpu.es, cpu.ip, cpu.flags)
    fr = fin["regs"]
    expected = [fr.get(name, ir[name]) for name in REGS]

    bad_regs = None
    for i in range(13):
        if actual[i] != expected[i]:
            if bad_regs is None:
                bad_regs = []
            bad_regs.append((REGS[i], expected[i], actual[i]))
    bad_flags = None
    if (actual[13] & mask) != (expected[13] & mask):
        bad_flags = (expected[13], actual[13])

    # A FLAGS image pushed by an exception holds the same undefined bits as
    # the FLAGS register: those two stack bytes compare under the mask.
    bad_ram = None
    flag_bytes = None
    for addr, val in fin["ram"]:
        got = mem[addr]
        if got != val:
            if flag_bytes is None:
                flag_bytes = _pushed_flags(test, ir, expected, amask)
            shift = flag_bytes.get(addr)
            if shift is not None and not (got ^ val) & (mask >> shift) & 0xFF:
                continue
            if bad_ram is None:
                bad_ram = []
            bad_ram.append((addr, val, got))

    reason = ex.reason
    bad_exit = reason in _BAD_EXITS

    # leave RAM clean for the next test
    for addr, _ in init_ram:
        mem[addr] = 0
    for addr, _ in fin["ram"]:
        mem[addr] = 0

    if bad_regs is None and bad_flags is None and bad_ram is None and not bad_exit:
        return None
    return {
        "regs": bad_regs or [],
        "flags": bad_flags,
        "mask": mask,
        "ram": bad_ram or [],
        "flag_bytes": flag_bytes or {},
        "exit": (reason, getattr(ex, "detail", "")) if bad_exit else None,
        "delivered": cpu.last_exception,     # the exception the CPU took, -1: none
    }


# --------------------------------------------------------------------------
# the CPU

class ModelUnavailable(Exception):
    pass


def _make_cpu(model: str, memory_size: int):
    from hvmm._core import Cpu
    try:
        cpu = Cpu(memory_size=memory_size, model=model, devices=False)
    except ValueError as e:
        if "model" in str(e):
            raise ModelUnavailable(model) from None
        raise
    _prepare(cpu, model)
    return cpu


def _prepare(cpu, model: str) -> None:
    # Faults, #UD included, are taken through the IVT as on hardware: the
    # tests show the CPU after the interrupt.
    if hasattr(cpu, "invalid_opcode_exits"):
        cpu.invalid_opcode_exits = False
    if model != "8086" and hasattr(cpu, "a20"):
        cpu.a20 = True          # 24/32 address lines: no wrap at 1 MiB


def _memory_size_for(addr: int) -> int:
    return max(_REAL_MODE_TOP, (addr + 0x10000) & ~0xFFFF)


# --------------------------------------------------------------------------
# the run

def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    try:
        if not sys.stderr.isatty():
            return None
        from tqdm import tqdm
    except Exception:
        return None
    return tqdm(total=total, unit="file", file=sys.stderr, leave=False,
                dynamic_ncols=True)


def _fail(err, message: str) -> int:
    print("hvmm: %s" % message, file=err)
    return 2


def run_conformance(directory, cpu_model: str = "8086", opcode_filter=None,
                    out=sys.stdout, progress: bool = True, *, cpu=None,
                    by_file: bool = False, json_path=None, err=None) -> int:
    """Run the SingleStepTests files in `directory` and print a report.

    `opcode_filter`: None for all files, or "F6" (F6.json.gz and every
    F6.*.json.gz), "F6.7" (that file), or a comma list / iterable of those.
    `cpu`: an existing ``hvmm._core.Cpu`` (or compatible object) to use
    instead of a fresh one of model `cpu_model` (its model wins; #UD is set
    to be delivered to the guest and A20 enabled; its memory is not grown).  `by_file`: print every
    file's counts.  `json_path`: also write the report as JSON there.
    Errors go to `err` (default stderr) as one ``hvmm: ...`` line.

    Returns the process exit status: 0 when every test of status normal,
    alias or undocumented passed (or failed as a documented difference), 1
    otherwise, 2 (after the error line) for a missing directory or
    metadata.json, a filter that selects nothing, a CPU model this build
    lacks or an unwritable JSON report.  The last line printed is ``N
    passed, M failed, K skipped``, followed on the same line by ``, D
    documented X/Y differences`` when there are any.
    """
    err = sys.stderr if err is None else err
    warn = lambda msg: print("hvmm: warning: %s" % msg, file=err)  # noqa: E731
    directory = Path(directory)
    if not directory.is_dir():
        return _fail(err, "conformance directory not found: %s" % directory)
    if not (directory / "metadata.json").is_file():
        return _fail(err, "no metadata.json in %s" % directory)
    try:
        with open(directory / "metadata.json", "r", encoding="utf-8") as f:
            root = json.load(f)
        meta = root.get("opcodes", root)
    except (OSError, ValueError, AttributeError) as e:
        return _fail(err, "cannot read %s: %s" % (directory / "metadata.json", e))
    if json_path is not None and not Path(json_path).resolve().parent.is_dir():
        return _fail(err, "cannot write the JSON report %s: no such directory" % json_path)

    tokens = _parse_filter(opcode_filter)
    files = []
    for path in sorted(directory.glob("*.json.gz")):
        key = _file_key(path)
        info = meta.get(key)
        grouped = isinstance(info, dict) and "reg" in info and "status" not in info
        sel = _select(key, tokens, grouped)
        if sel is not None:
            files.append((key, path, sel))
    if not files:
        if tokens:
            return _fail(err, "no test files match %r in %s" % (",".join(tokens), directory))
        return _fail(err, "no *.json.gz test files in %s" % directory)

    model = getattr(cpu, "model", cpu_model) if cpu is not None else cpu_model
    set_cpu = str(root.get("cpu", "")) if "opcodes" in root else ""
    # notes for this model, when the set was captured on another CPU
    foreign = bool(set_cpu) and set_cpu != model
    # hvmm's own notes for the set (hvmm/conformance_notes), beside its metadata's
    extra = project_notes(directory) if foreign else {}
    extra_meta = extra.get("opcodes", {})
    set_notes = (_notes(root, model, "the set", warn) + _notes(extra, model, "the set", warn)
                 if foreign else ())
    amask = _ADDRESS_MASK.get(model, 0xFFFFFFFF)
    own_cpu = cpu is None
    if own_cpu:
        try:
            cpu = _make_cpu(model, (1 << 20) if model == "8086" else _REAL_MODE_TOP)
        except ModelUnavailable:
            return _fail(err, "CPU model %s is not available in this build" % model)
    else:
        _prepare(cpu, model)
    mem = cpu.memory

    tally = Tally(model, set_cpu)
    bar = _progress_bar(len(files), progress)
    try:
        for key, path, sel in files:
            opcode, _, reg = key.partition(".")
            info = meta.get(opcode)
            extra_info = extra_meta.get(opcode) or {}
            op_notes = (_notes(info, model, opcode, warn) + _notes(extra_info, model, opcode, warn)
                        if foreign else ())
            per_reg = None
            if reg:
                reg_info = (info or {}).get("reg", {}).get(reg)
                status, mask = _entry(reg_info)
                if foreign:
                    op_notes = (_notes(reg_info, model, key, warn)
                                + _notes(extra_info.get("reg", {}).get(reg), model, key, warn)
                                + op_notes)
            elif isinstance(info, dict) and "reg" in info and "status" not in info:
                # a whole group opcode in one file: status per ModRM reg
                per_reg = {int(r): (_entry(v) + ((
                    _notes(v, model, "%s.%s" % (opcode, r), warn)
                    + _notes(extra_info.get("reg", {}).get(r), model, "%s.%s" % (opcode, r), warn)
                    if foreign else ()),))
                           for r, v in info["reg"].items()}
                status, mask = "mixed", 0xFFFF
            else:
                status, mask = _entry(info)
            res = FileResult(key, status)
            tally.files.append(res)

            if per_reg is None and status not in MUST_PASS and status not in INFORMATIONAL:
                # not run at all: count the tests as skipped
                with gzip.open(path, "rb") as f:
                    n = len(json.loads(f.read()))
                tally.skip(res, status, n)
                if bar is not None:
                    bar.update(1)
                continue

            with gzip.open(path, "rb") as f:
                tests = json.loads(f.read())

            notes = op_notes + set_notes
            for idx, test in enumerate(tests):
                t_status, t_mask, t_notes = status, mask, notes
                if per_reg is not None:
                    r = _modrm_reg(test["bytes"])
                    if sel != "all" and r not in sel:
                        continue
                    t_status, t_mask, reg_notes = per_reg.get(r, ("unknown", 0xFFFF, ()))
                    t_notes = reg_notes + notes
                if t_status not in MUST_PASS and t_status not in INFORMATIONAL:
                    tally.skip(res, t_status, 1)
                    continue
                try:
                    try:
                        d = _run_test(cpu, mem, test, t_mask, amask)
                    except IndexError as e:
                        addr = e.args[0] if e.args and isinstance(e.args[0], int) else -1
                        if not own_cpu or model == "8086" or not 0 <= addr < 1 << 32:
                            raise
                        cpu = _make_cpu(model, _memory_size_for(addr))
                        mem = cpu.memory
                        d = _run_test(cpu, mem, test, t_mask, amask)
                except Exception as e:  # a core exception is a failure, not a crash
                    if isinstance(e, IndexError) and e.args and isinstance(e.args[0], int):
                        e = "address %#x outside the %s's memory" % (e.args[0], model)
                    else:
                        e = "%s: %s" % (type(e).__name__, e)
                    d = {"regs": [], "flags": None, "mask": t_mask, "ram": [],
                         "flag_bytes": {}, "exit": ("exception", e)}
                if d is None:
                    tally.passed(res, t_status)
                    continue
                why = next(filter(None, (n.explains(test, d) for n in t_notes)), None)
                if why is not None:
                    tally.difference(res, t_status, idx, test, why)
                else:
                    tally.failed(res, t_status, idx, test, d,
                                 counted=t_status in MUST_PASS)
            if bar is not None:
                bar.update(1)
                if tally.total_failed:
                    bar.set_postfix(failed=tally.total_failed, refresh=False)
    finally:
        if bar is not None:
            bar.close()

    print_report(tally, out, by_file=by_file)
    if json_path is not None:
        try:
            write_json(tally, json_path, directory)
        except OSError as e:
            return _fail(err, "cannot write the JSON report %s: %s" % (json_path, e.strerror or e))
    return 1 if tally.total_failed else 0


def main(argv=None) -> int:  # python -m hvmm.conformance DIR [FILTER]
    import argparse
    p = argparse.ArgumentParser(prog="python -m hvmm.conformance",
                                description="Run SingleStepTests-format CPU tests.")
    p.add_argument("directory")
    p.add_argument("opcodes", nargs="?", default=None,
                   help='e.g. "F6", "F6.7" or "F6,D3.4"')
    p.add_argument("--cpu", default="8086", choices=CPU_MODELS)
    p.add_argument("--by-file", action="store_true")
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    return run_conformance(a.directory, cpu_model=a.cpu, opcode_filter=a.opcodes,
                           progress=not a.no_progress, by_file=a.by_file,
                           json_path=a.json)


if __name__ == "__main__":
    sys.exit(main())
