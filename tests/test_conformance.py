"""The SingleStepTests 8086 conformance suite, run through hvmm.conformance."""
from __future__ import annotations

import copy
import gzip
import io
import json
import re

import pytest

pytest.importorskip("hvmm._core", reason="hvmm._core is not built "
                    "(python setup.py build_ext --inplace)")

from hvmm.conformance import run_conformance  # noqa: E402

from shared_data import SST8086, needs_sst8086 as needs_sst  # noqa: E402

SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")


def _run(directory, **kw):
    out = io.StringIO()
    rc = run_conformance(directory, out=out, progress=False, **kw)
    text = out.getvalue()
    last = text.rstrip("\n").splitlines()[-1]
    return rc, text, last


def _load(name):
    with gzip.open(SST8086 / name, "rb") as f:
        return json.loads(f.read())


def _write_set(tmp_path, name, tests, metadata=None):
    with gzip.open(tmp_path / name, "wb") as f:
        f.write(json.dumps(tests).encode())
    if metadata is None:
        metadata = (SST8086 / "metadata.json").read_text()
    (tmp_path / "metadata.json").write_text(metadata)


@needs_sst
def test_sst8086_full_suite():
    rc, text, last = _run(SST8086, cpu_model="8086")
    m = SUMMARY.match(last)
    assert m, "last line is not the summary: %r" % last
    passed, failed, skipped = map(int, m.groups())
    assert passed + failed + skipped == 80250
    # every run test passed, and only skipped-status tests were skipped
    assert rc == 0, "conformance failures:\n" + text
    assert failed == 0
    assert passed >= 78000


@needs_sst
def test_corrupted_expectation_is_reported(tmp_path):
    tests = _load("40.json.gz")[:5]            # inc ax
    # control: the untouched copy passes
    _write_set(tmp_path, "40.json.gz", tests)
    rc, text, last = _run(tmp_path)
    assert (rc, last) == (0, "5 passed, 0 failed, 0 skipped"), text

    # now claim that BX (which INC AX leaves alone) changed in test 2
    bad = copy.deepcopy(tests)
    bx = bad[2]["initial"]["regs"]["bx"]
    bad[2]["final"]["regs"]["bx"] = bx ^ 0x1234
    _write_set(tmp_path, "40.json.gz", bad)
    rc, text, last = _run(tmp_path)
    assert rc == 1
    assert last == "4 passed, 1 failed, 0 skipped"
    assert re.search(r"^40\s+normal\s+1/5$", text, re.M), text
    assert bad[2]["name"] in text
    assert " ".join("%02x" % b for b in bad[2]["bytes"]) in text
    assert re.search(r"bx\s+expected %04x\s+actual %04x" % (bx ^ 0x1234, bx), text), text


@needs_sst
def test_flags_mask_applies_to_flags_pushed_by_divide_error(tmp_path):
    tests = _load("F6.7.json.gz")               # idiv r/m8, flags-mask 0xF72A
    t = next(t for t in tests
             if t["final"]["regs"].get("sp") == (t["initial"]["regs"]["sp"] - 6) & 0xFFFF)
    fr = t["final"]["regs"]
    ss = fr.get("ss", t["initial"]["regs"]["ss"])
    flags_lo = ((ss << 4) + ((fr["sp"] + 4) & 0xFFFF)) & 0xFFFFF
    flags_hi = ((ss << 4) + ((fr["sp"] + 5) & 0xFFFF)) & 0xFFFFF

    def with_pushed_flags_xor(lo, hi):
        u = copy.deepcopy(t)
        for entry in u["final"]["ram"]:
            if entry[0] == flags_lo:
                entry[1] ^= lo
            elif entry[0] == flags_hi:
                entry[1] ^= hi
        return u

    _write_set(tmp_path, "F6.7.json.gz", [t])
    assert _run(tmp_path)[0] == 0
    # CF/ZF/SF (low byte) and OF (high byte) are undefined after IDIV: masked
    _write_set(tmp_path, "F6.7.json.gz", [with_pushed_flags_xor(0xC1, 0x08)])
    rc, text, last = _run(tmp_path)
    assert (rc, last) == (0, "1 passed, 0 failed, 0 skipped"), text
    # DF (bit 10) is defined: a difference there is a failure
    _write_set(tmp_path, "F6.7.json.gz", [with_pushed_flags_xor(0, 0x04)])
    rc, text, last = _run(tmp_path)
    assert (rc, last) == (1, "0 passed, 1 failed, 0 skipped"), text
    assert "ram[%05x]" % flags_hi in text


@needs_sst
def test_opcode_filter_and_statuses():
    rc, text, last = _run(SST8086, opcode_filter="F6.7")
    assert last == "250 passed, 0 failed, 0 skipped", text
    # "D0" selects the eight D0.r files; "d8" (fpu) is run but never fails
    rc, text, last = _run(SST8086, opcode_filter="D0, d8")
    passed, failed, skipped = map(int, SUMMARY.match(last).groups())
    assert passed + failed + skipped == 9 * 250 and failed == 0
    # 8F holds all eight reg values; only reg=0 (POP r/m16) is defined
    rc, text, last = _run(SST8086, opcode_filter="8F")
    passed, failed, skipped = map(int, SUMMARY.match(last).groups())
    assert failed == 0 and passed + skipped == 250 and 0 < passed < 100
    rc, text, last = _run(SST8086, opcode_filter="8F.0")
    assert last == "%d passed, 0 failed, 0 skipped" % passed


def test_missing_directory_or_metadata(tmp_path):
    rc, text, last = _run(tmp_path / "nope")
    assert rc == 2 and text.count("\n") == 1 and "not found" in text
    rc, text, last = _run(tmp_path)
    assert rc == 2 and text.count("\n") == 1 and "metadata.json" in text
