"""The SingleStepTests conformance runner.

Runs single-instruction tests in the SingleStepTests JSON format (one gzip'd
JSON file per opcode, ``80.3.json.gz`` for opcode 0x80 with ModRM reg=3, and a
``metadata.json`` giving each opcode's ``status`` and optional ``flags-mask``)
against the compiled core, ``hvmm._core.Cpu``.

For every test, one reused ``Cpu`` is loaded with the initial registers and RAM
bytes, ``step()`` executes exactly one instruction (prefixes included; a REP
string instruction runs to completion), and every register plus each listed
final RAM byte is compared.  Registers absent from ``final.regs`` did not
change and are compared against their initial values.  FLAGS is compared as
``(actual & mask) == (expected & mask)``.

Statuses:

- ``normal``, ``alias``, ``undocumented``: must pass; any failure makes the
  exit status 1.
- ``fpu`` (ESC opcodes; the core decodes them, with no x87 attached): run and
  reported, but a failing fpu test is counted as skipped, never as failed.
- ``undefined``, ``prefix`` and anything unknown: not run, counted as skipped.

A few files (``8F``, ``C6``, ``C7``) hold every ModRM reg value of a group
opcode while metadata.json gives statuses per reg field; there the status is
looked up per test from the ModRM byte.
"""
from __future__ import annotations

import gzip
import json
import sys
from collections import Counter
from pathlib import Path

__all__ = ["run_conformance", "MUST_PASS", "INFORMATIONAL"]

#: statuses whose tests must all pass
MUST_PASS = frozenset({"normal", "alias", "undocumented"})
#: statuses that are run and reported but never count as failures
INFORMATIONAL = frozenset({"fpu"})

REGS = ("ax", "bx", "cx", "dx", "sp", "bp", "si", "di",
        "cs", "ss", "ds", "es", "ip", "flags")
_PREFIXES = frozenset({0x26, 0x2E, 0x36, 0x3E, 0xF0, 0xF1, 0xF2, 0xF3})
_FLAG_NAMES = ((0, "CF"), (2, "PF"), (4, "AF"), (6, "ZF"), (7, "SF"),
               (8, "TF"), (9, "IF"), (10, "DF"), (11, "OF"))
_BAD_EXITS = frozenset({"invalid_opcode", "unimplemented", "triple_fault",
                        "breakpoint"})
ADDRESS_MASK = 0xFFFFF  # the 8086 address space wraps at 1 MiB


# --------------------------------------------------------------------------
# metadata and file selection

def _load_metadata(directory: Path) -> dict:
    with open(directory / "metadata.json", "r", encoding="utf-8") as f:
        meta = json.load(f)
    return meta.get("opcodes", meta)


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


def _modrm_reg(test_bytes) -> int:
    i = 0
    n = len(test_bytes)
    while i < n and test_bytes[i] in _PREFIXES:
        i += 1
    return (test_bytes[i + 1] >> 3) & 7 if i + 1 < n else 0


# --------------------------------------------------------------------------
# running

class _FileResult:
    __slots__ = ("key", "status", "total", "passed", "failed", "skipped",
                 "failed_counted", "first", "fields", "statuses")

    def __init__(self, key: str, status: str):
        self.key = key
        self.status = status
        self.total = 0          # tests run
        self.passed = 0
        self.failed = 0         # tests run that failed (any status)
        self.failed_counted = 0 # ... of a must-pass status
        self.skipped = 0
        self.first = None       # details of the first failing test
        self.fields = Counter() # which comparisons failed, over all tests
        self.statuses = set()


def _ivt_vectors(ram_init: dict) -> set:
    """(cs, ip) pairs of the interrupt vectors present in the initial RAM."""
    vecs = set()
    for a in range(0, 1024, 4):
        if a in ram_init and a + 1 in ram_init and a + 2 in ram_init and a + 3 in ram_init:
            vecs.add((ram_init[a + 2] | ram_init[a + 3] << 8,
                      ram_init[a] | ram_init[a + 1] << 8))
    return vecs


def _run_test(cpu, mem, test, mask):
    """Run one test; return None on success, else a dict describing the
    mismatches."""
    init = test["initial"]
    ir = init["regs"]
    fin = test["final"]

    cpu.ax = ir["ax"]; cpu.bx = ir["bx"]; cpu.cx = ir["cx"]; cpu.dx = ir["dx"]
    cpu.sp = ir["sp"]; cpu.bp = ir["bp"]; cpu.si = ir["si"]; cpu.di = ir["di"]
    cpu.cs = ir["cs"]; cpu.ss = ir["ss"]; cpu.ds = ir["ds"]; cpu.es = ir["es"]
    cpu.ip = ir["ip"]; cpu.flags = ir["flags"]
    init_ram = init["ram"]
    for addr, val in init_ram:
        mem[addr] = val

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

    # Memory.  Exception: when the instruction raised an interrupt (divide
    # error from DIV/IDIV/AAM: the final CS:IP is a vector loaded from the IVT
    # and SP dropped by 6), the FLAGS word pushed at final SS:SP+4 holds the
    # same undefined flag bits as the FLAGS register, so those two stack
    # bytes are compared under the same flags-mask.
    byte_masks = None
    if mask != 0xFFFF:
        esp = expected[4]
        if esp == ((ir["sp"] - 6) & 0xFFFF):
            vecs = _ivt_vectors(dict(init_ram))
            if (expected[8], expected[12]) in vecs:
                base = expected[9] << 4
                byte_masks = {
                    (base + ((esp + 4) & 0xFFFF)) & ADDRESS_MASK: mask & 0xFF,
                    (base + ((esp + 5) & 0xFFFF)) & ADDRESS_MASK: mask >> 8,
                }
    bad_ram = None
    for addr, val in fin["ram"]:
        got = mem[addr]
        if got != val:
            if byte_masks is not None and addr in byte_masks:
                m = byte_masks[addr]
                if (got & m) == (val & m):
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
        "exit": (reason, getattr(ex, "detail", "")) if bad_exit else None,
    }


def _flag_names(bits: int) -> str:
    names = [n for b, n in _FLAG_NAMES if bits >> b & 1]
    return " ".join(names) if names else "-"


def _format_failure(res: _FileResult) -> list[str]:
    idx, test, d = res.first
    lines = []
    name = test.get("name", "?")
    num = test.get("test_num", idx)
    raw = " ".join("%02x" % b for b in test.get("bytes", ()))
    lines.append('    first failure: test %s "%s"  bytes: %s' % (num, name, raw))
    if d["exit"] is not None:
        reason, detail = d["exit"]
        lines.append("      core stopped: %s%s" % (reason, (" (%s)" % detail) if detail else ""))
    for reg, exp, got in d["regs"]:
        lines.append("      %-5s expected %04x  actual %04x" % (reg, exp, got))
    if d["flags"] is not None:
        exp, got = d["flags"]
        m = d["mask"]
        lines.append("      flags expected %04x  actual %04x  mask %04x  differing: %s"
                     % (exp, got, m, _flag_names((exp ^ got) & m)))
    for addr, exp, got in d["ram"]:
        lines.append("      ram[%05x] expected %02x  actual %02x" % (addr, exp, got))
    if res.failed > 1:
        lines.append("      mismatches over %d failing tests: %s" % (
            res.failed, ", ".join("%s x%d" % kv for kv in res.fields.most_common())))
    return lines


def _tally_fields(res: _FileResult, d: dict) -> None:
    for reg, _, _ in d["regs"]:
        res.fields[reg] += 1
    if d["flags"] is not None:
        exp, got = d["flags"]
        for b, n in _FLAG_NAMES:
            if ((exp ^ got) & d["mask"]) >> b & 1:
                res.fields[n] += 1
    if d["ram"]:
        res.fields["ram"] += 1
    if d["exit"] is not None:
        res.fields[d["exit"][0]] += 1


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


def run_conformance(directory, cpu_model: str = "8086", opcode_filter=None,
                    out=sys.stdout, progress: bool = True, *, cpu=None) -> int:
    """Run the SingleStepTests files in `directory` and print a report.

    `opcode_filter`: None for all files, or "F6" (F6.json.gz and every
    F6.*.json.gz), "F6.7" (that file), or a comma list / iterable of those.
    `cpu`: an existing ``hvmm._core.Cpu`` (or compatible object) to use
    instead of a fresh ``Cpu(memory_size=1 << 20, model=cpu_model)``.

    Returns the process exit status: 0 when every test of status normal,
    alias or undocumented passed, 1 otherwise, 2 (after a one-line error) for
    a missing directory or metadata.json, or a filter that selects nothing.
    The last line printed is ``N passed, M failed, K skipped``.
    """
    directory = Path(directory)
    if not directory.is_dir():
        print("error: conformance directory not found: %s" % directory, file=out)
        return 2
    if not (directory / "metadata.json").is_file():
        print("error: no metadata.json in %s" % directory, file=out)
        return 2
    try:
        meta = _load_metadata(directory)
    except (OSError, ValueError) as e:
        print("error: cannot read %s: %s" % (directory / "metadata.json", e), file=out)
        return 2

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
            print("error: no test files match %r in %s" % (",".join(tokens), directory), file=out)
        else:
            print("error: no *.json.gz test files in %s" % directory, file=out)
        return 2

    if cpu is None:
        from hvmm._core import Cpu
        cpu = Cpu(memory_size=1 << 20, model=cpu_model, devices=False)
    mem = cpu.memory

    passed = failed = skipped = 0
    results: list[_FileResult] = []
    bar = _progress_bar(len(files), progress)
    try:
        for key, path, sel in files:
            opcode, _, reg = key.partition(".")
            info = meta.get(opcode)
            per_reg = None
            if reg:
                status, mask = _entry((info or {}).get("reg", {}).get(reg))
            elif info is not None and "reg" in info and "status" not in info:
                # a whole group opcode in one file: status per ModRM reg
                per_reg = {int(r): _entry(v) for r, v in info["reg"].items()}
                status, mask = "mixed", 0xFFFF
            else:
                status, mask = _entry(info)
            res = _FileResult(key, status)

            if per_reg is None and status not in MUST_PASS and status not in INFORMATIONAL:
                # not run at all: count the tests as skipped
                with gzip.open(path, "rb") as f:
                    n = len(json.loads(f.read()))
                res.skipped = n
                skipped += n
                if bar is not None:
                    bar.update(1)
                continue

            with gzip.open(path, "rb") as f:
                tests = json.loads(f.read())

            for idx, test in enumerate(tests):
                t_status, t_mask = status, mask
                if per_reg is not None:
                    r = _modrm_reg(test["bytes"])
                    if sel != "all" and r not in sel:
                        continue
                    if per_reg is not None:
                        t_status, t_mask = per_reg.get(r, ("unknown", 0xFFFF))
                if t_status not in MUST_PASS and t_status not in INFORMATIONAL:
                    res.skipped += 1
                    skipped += 1
                    continue
                res.total += 1
                try:
                    d = _run_test(cpu, mem, test, t_mask)
                except Exception as e:  # a core exception is a failure, not a crash
                    d = {"regs": [], "flags": None, "mask": t_mask, "ram": [],
                         "exit": ("exception", "%s: %s" % (type(e).__name__, e))}
                if d is None:
                    res.passed += 1
                    passed += 1
                    continue
                res.failed += 1
                res.statuses.add(t_status)
                _tally_fields(res, d)
                if res.first is None:
                    res.first = (idx, test, d)
                if t_status in MUST_PASS:
                    res.failed_counted += 1
                    failed += 1
                else:
                    skipped += 1   # fpu: informational only
            results.append(res)
            if bar is not None:
                bar.update(1)
                if failed:
                    bar.set_postfix(failed=failed, refresh=False)
    finally:
        if bar is not None:
            bar.close()

    failing = [r for r in results if r.failed]
    if failing:
        print("%-7s %-22s %s" % ("opcode", "status", "failed/total"), file=out)
        print("%-7s %-22s %s" % ("-" * 7, "-" * 22, "-" * 12), file=out)
        for r in failing:
            status = r.status
            if status == "mixed":
                status = "/".join(sorted(r.statuses))
            if r.failed_counted == 0:
                status += " (not counted)"
            print("%-7s %-22s %d/%d" % (r.key, status, r.failed, r.total), file=out)
            for line in _format_failure(r):
                print(line, file=out)
        print(file=out)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), file=out)
    return 1 if failed else 0


def main(argv=None) -> int:  # python -m hvmm.conformance DIR [FILTER]
    import argparse
    p = argparse.ArgumentParser(prog="python -m hvmm.conformance",
                                description="Run SingleStepTests-format CPU tests.")
    p.add_argument("directory")
    p.add_argument("opcodes", nargs="?", default=None,
                   help='e.g. "F6", "F6.7" or "F6,D3.4"')
    p.add_argument("--cpu", default="8086", choices=("8086", "386"))
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    return run_conformance(a.directory, cpu_model=a.cpu, opcode_filter=a.opcodes,
                           progress=not a.no_progress)


if __name__ == "__main__":
    sys.exit(main())
