"""Counting and reporting for the conformance runner (hvmm.conformance):
the text report (failing files, documented differences, a summary per status
and, on request, per file) and the JSON report for tooling."""
from __future__ import annotations

import json
from collections import Counter

__all__ = ["FileResult", "Tally", "print_report", "write_json", "JSON_FORMAT"]

#: version of the JSON report's layout
JSON_FORMAT = 1

_FLAG_NAMES = ((0, "CF"), (2, "PF"), (4, "AF"), (6, "ZF"), (7, "SF"),
               (8, "TF"), (9, "IF"), (10, "DF"), (11, "OF"),
               (12, "IOPL0"), (13, "IOPL1"), (14, "NT"), (15, "F15"))
_COUNTS = ("tests", "passed", "failed", "differences", "skipped")


class FileResult:
    """The counts of one opcode file."""
    __slots__ = ("key", "status", "passed", "failed", "failed_counted",
                 "differences", "skipped", "first", "fields", "statuses",
                 "failures", "diffs")

    def __init__(self, key: str, status: str):
        self.key = key
        self.status = status    # "mixed" for a group opcode in one file
        self.passed = 0
        self.failed = 0         # tests run that failed (any status)
        self.failed_counted = 0 # ... of a must-pass status
        self.differences = 0    # failed, under a documented difference
        self.skipped = 0        # not run
        self.first = None       # (index, test, mismatches) of the first failure
        self.fields = Counter() # which comparisons failed, over all tests
        self.statuses = set()   # statuses of the failing tests
        self.failures = []      # (index, test, mismatches, status)
        self.diffs = []         # (test, why)

    @property
    def tests(self) -> int:
        return self.passed + self.failed + self.differences + self.skipped

    def shown_status(self) -> str:
        if self.status != "mixed":
            return self.status
        return "/".join(sorted(self.statuses)) or "mixed"


class Tally:
    """Counts over a run, per file and per status.  The totals follow the
    exit status: a failing informational (fpu) test counts as skipped."""

    def __init__(self, model: str, set_cpu: str):
        self.model = model
        self.set_cpu = set_cpu
        self.files: list[FileResult] = []
        self.by_status: dict[str, Counter] = {}
        self.total_passed = self.total_failed = 0
        self.total_skipped = self.total_differences = 0

    def _status(self, status: str) -> Counter:
        c = self.by_status.get(status)
        if c is None:
            c = self.by_status[status] = Counter()
        return c

    def skip(self, res: FileResult, status: str, n: int) -> None:
        res.skipped += n
        c = self._status(status)
        c["tests"] += n
        c["skipped"] += n
        self.total_skipped += n

    def passed(self, res: FileResult, status: str) -> None:
        res.passed += 1
        c = self._status(status)
        c["tests"] += 1
        c["passed"] += 1
        self.total_passed += 1

    def difference(self, res: FileResult, status: str, idx, test, why: str) -> None:
        res.differences += 1
        res.diffs.append((test, why))
        c = self._status(status)
        c["tests"] += 1
        c["differences"] += 1
        self.total_differences += 1

    def failed(self, res: FileResult, status: str, idx, test, d, counted: bool) -> None:
        res.failed += 1
        res.statuses.add(status)
        _tally_fields(res, d)
        res.failures.append((idx, test, d, status))
        if res.first is None:
            res.first = (idx, test, d)
        c = self._status(status)
        c["tests"] += 1
        if counted:
            res.failed_counted += 1
            c["failed"] += 1
            self.total_failed += 1
        else:                   # informational (fpu): never a failure
            c["skipped"] += 1
            c["failed_not_counted"] += 1
            self.total_skipped += 1

    def differences_label(self) -> str:
        pair = "%s/%s " % (self.set_cpu, self.model) if self.set_cpu else ""
        return "documented %sdifferences" % pair

    def summary_line(self) -> str:
        line = "%d passed, %d failed, %d skipped" % (
            self.total_passed, self.total_failed, self.total_skipped)
        if self.total_differences:
            line += ", %d %s" % (self.total_differences, self.differences_label())
        return line


def _flag_names(bits: int) -> str:
    names = [n for b, n in _FLAG_NAMES if bits >> b & 1]
    return " ".join(names) if names else "-"


def _tally_fields(res: FileResult, d: dict) -> None:
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


def _hex_bytes(test) -> str:
    return " ".join("%02x" % b for b in test.get("bytes", ()))


def _format_failure(res: FileResult) -> list[str]:
    idx, test, d = res.first
    lines = []
    name = test.get("name", "?")
    num = test.get("test_num", idx)
    lines.append('    first failure: test %s "%s"  bytes: %s' % (num, name, _hex_bytes(test)))
    exc = test.get("exception")
    if exc is not None:
        lines.append("      expected: exception %s" % exc.get("number", "?"))
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


def print_report(tally: Tally, out, by_file: bool = False) -> None:
    failing = [r for r in tally.files if r.failed]
    if failing:
        print("%-7s %-22s %s" % ("opcode", "status", "failed/run"), file=out)
        print("%-7s %-22s %s" % ("-" * 7, "-" * 22, "-" * 12), file=out)
        for r in failing:
            status = r.shown_status()
            if r.failed_counted == 0:
                status += " (not counted)"
            print("%-7s %-22s %d/%d" % (r.key, status, r.failed,
                                        r.passed + r.failed + r.differences), file=out)
            for line in _format_failure(r):
                print(line, file=out)
        print(file=out)

    if tally.total_differences:
        whys = Counter()
        files = {}
        for r in tally.files:
            for _, why in r.diffs:
                whys[why] += 1
                files.setdefault(why, []).append(r.key)
        print("%s (counted apart):" % tally.differences_label(), file=out)
        for why, n in whys.most_common():
            keys = sorted(set(files[why]))
            shown = " ".join(keys[:8]) + (" ..." if len(keys) > 8 else "")
            print("  %6d  %s  [%s]" % (n, why, shown), file=out)
        print(file=out)

    if by_file:
        print("%-7s %-22s %7s %7s %7s %7s" % ("file", "status", "passed", "failed",
                                              "differ", "skipped"), file=out)
        for r in tally.files:
            print("%-7s %-22s %7d %7d %7d %7d" % (r.key, r.shown_status() if r.failed else
                                                  r.status, r.passed, r.failed,
                                                  r.differences, r.skipped), file=out)
        print(file=out)

    print("%-14s %7s %7s %7s %7s %7s" % ("status", "tests", "passed", "failed",
                                         "differ", "skipped"), file=out)
    for status in sorted(tally.by_status, key=lambda s: (-tally.by_status[s]["tests"], s)):
        c = tally.by_status[status]
        note = ""
        if c["failed_not_counted"]:
            note = "  (%d failing, not counted)" % c["failed_not_counted"]
        print("%-14s %7d %7d %7d %7d %7d%s" % ((status,) + tuple(c[k] for k in _COUNTS) + (note,)),
              file=out)
    print(file=out)
    print(tally.summary_line(), file=out)


def _failure_json(idx, test, d, status) -> dict:
    flags = None
    if d["flags"] is not None:
        exp, got = d["flags"]
        flags = {"expected": exp, "actual": got, "mask": d["mask"],
                 "differing": _flag_names((exp ^ got) & d["mask"]).split()}
    return {
        "test_num": test.get("test_num", idx),
        "name": test.get("name", ""),
        "bytes": _hex_bytes(test),
        "status": status,
        "exception": test.get("exception"),
        "regs": [{"reg": r, "expected": e, "actual": a} for r, e, a in d["regs"]],
        "flags": flags,
        "ram": [{"address": ad, "expected": e, "actual": a} for ad, e, a in d["ram"]],
        "exit": None if d["exit"] is None else {"reason": d["exit"][0], "detail": d["exit"][1]},
    }


def report_dict(tally: Tally, directory) -> dict:
    files = []
    for r in tally.files:
        files.append({
            "file": r.key,
            "status": r.status,
            "tests": r.tests,
            "passed": r.passed,
            "failed": r.failed,
            "failed_counted": r.failed_counted,
            "differences": r.differences,
            "skipped": r.skipped,
            "mismatches": dict(r.fields),
            "failures": [_failure_json(*f) for f in r.failures],
            "documented_differences": [
                {"test_num": t.get("test_num"), "name": t.get("name", ""),
                 "bytes": _hex_bytes(t), "why": why} for t, why in r.diffs],
        })
    return {
        "format": JSON_FORMAT,
        "directory": str(directory),
        "cpu": tally.model,
        "captured_on": tally.set_cpu or None,
        "summary": {"passed": tally.total_passed, "failed": tally.total_failed,
                    "skipped": tally.total_skipped,
                    "documented_differences": tally.total_differences},
        "statuses": {s: {k: c[k] for k in _COUNTS + ("failed_not_counted",)}
                     for s, c in sorted(tally.by_status.items())},
        "files": files,
    }


def write_json(tally: Tally, path, directory) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report_dict(tally, directory), f, indent=1)
        f.write("\n")
