"""The x87 against the host CPU's own x87 unit, bit for bit.

Generated cases (tests/x87_reference.py: every x87 instruction form, the
four rounding modes, the three precisions, zeros, denormals,
pseudo-denormals, unnormals and pseudo-NaNs, infinities, quiet and
signalling NaNs, masked and unmasked exceptions, full and empty stacks)
run as real-mode guest code on the 686 and 386 models and on the host
(tests/x87_host.c, compiled here). The exclusions and their reasons are in
x87_reference's docstring.

CI runs a sample; ``--run-slow`` runs 400,000 cases on the 686 and 100,000
on the 386 model.
"""
import platform
import shutil

import pytest

import x87_reference as X

pytestmark = pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64") or shutil.which("cc") is None,
    reason="the reference is the host's x87: needs an x86-64 host and a C compiler")

BATCH = 250          # cases per guest program (its data fits one segment)


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    return X.build_host(tmp_path_factory.mktemp("x87host"))


def _run(host, n, seed, model):
    p6 = model == "686"
    cases = X.make_cases(n, seed, p6=p6)
    want = X.run_host(host, cases)
    failures = []
    for k in range(0, n, BATCH):
        o32 = (k // BATCH) % 2 == 0              # 32- and 16-bit FRSTOR/FNSAVE images
        got = X.run_hvmm(cases[k:k + BATCH], model=model, o32=o32)
        for case, w, g in zip(cases[k:k + BATCH], want[k:k + BATCH], got):
            diffs = X.compare(case, w, g)
            if diffs:
                failures.append(X.describe(case) + "\n  " + "; ".join(diffs))
    assert not failures, f"{len(failures)} of {n} cases differ:\n" + "\n".join(failures[:10])
    return cases, want


def test_forms_match_the_host(host):
    """The forms hvmm accepts are the ones the host executes (P6 set), and
    each form is in the generated cases."""
    cases = [(op, m, X.make_state(__import__("random").Random(m)), bytes(16), 0)
             for op in range(0xD8, 0xE0) for m in range(0xC0, 0x100)]
    results = X.run_host(host, cases)
    valid = set(X.reg_forms(p6=True))
    for (op, m, *_), (_, _, _, sig) in zip(cases, results):
        assert (sig == 0) == ((op, m) in valid), f"{op:02X} {m:02X}: host signal {sig}"
    generated = {(c[0], c[1] if c[1] >= 0xC0 else c[1] & 0x38) for c in X.make_cases(len(X.all_forms()), 1)}
    assert generated == {(op, m if m >= 0xC0 else m & 0x38) for op, m in X.all_forms()}


def test_sample_686(host):
    cases, want = _run(host, 20_000, 686, "686")
    # the sample reaches the outcomes it claims to test
    new_es = sum(1 for c, w in zip(cases, want)
                 if not c[2][4] & 0x80 and w[0][4] & 0x80)
    stack_faults = sum(1 for w in want if w[0][4] & 0x40)
    rounding = {(c[2][1] >> 2) & 3 for c in cases}
    assert new_es > 500 and stack_faults > 500 and rounding == {0, 1, 2, 3}


def test_sample_386(host):
    _run(host, 5_000, 387, "386")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_full_686(host, seed):
    _run(host, 50_000, 10_000 + seed, "686")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2))
def test_full_386(host, seed):
    _run(host, 50_000, 20_000 + seed, "386")
