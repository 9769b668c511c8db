"""Differential suite, part 4: running a case on Unicorn and on hvmm, and
comparing the results. See differential.py."""
from __future__ import annotations

import dataclasses
from typing import Callable

import iced_x86 as X

from diff_common import (
    CODE_SLOT, DATA_HI, DATA_LO, FLAGS_COMPARE, GPR_NAMES, IVT_HANDLER_SEG, MEM_SIZE,
    SEG_NAMES, Case, flag_str)


# --------------------------------------------------------------------------
# results


def unicorn_step(uc, start: int, length: int, rep: bool, timeout_us: int = 0,
                 rep_count: int = 0):
    """Run one instruction (a REP one to its end, within timeout_us and
    rep_count, 0 for none) from `start`: (6 for an invalid opcode or None,
    an error text or None)."""
    import unicorn

    try:
        if rep:
            uc.emu_start(start, start + length, timeout_us, rep_count)
        else:
            uc.emu_start(start, 0xFFFFFFFF, timeout_us, 1)
    except unicorn.UcError as e:
        if e.errno == unicorn.UC_ERR_INSN_INVALID:
            return 6, None
        return None, f"unicorn: {e}"
    return None, None


def unicorn_engine(mode, runner, mem_size=MEM_SIZE):
    """A Unicorn x86 engine in `mode` with `mem_size` bytes mapped at 0 that
    stops at an interrupt or exception, recording its vector in
    `runner._intr` (emptied before each case)."""
    import unicorn
    uc = unicorn.Uc(unicorn.UC_ARCH_X86, mode)
    uc.mem_map(0, mem_size)
    runner._intr = []

    def hook(uc_, intno, _ud):
        runner._intr.append(intno)
        uc_.emu_stop()
    uc.hook_add(unicorn.UC_HOOK_INTR, hook)
    return uc


@dataclasses.dataclass
class Result:
    regs: list
    eip: int
    eflags: int
    segs: dict
    mem: bytes
    fault: int | None = None         # exception vector raised (hvmm: delivered)
    error: str | None = None         # anything else (unimplemented, emulator error...)
    extra: list = dataclasses.field(default_factory=list)   # self-consistency problems


class UnicornRef:
    """Unicorn in 16-bit mode; a fresh engine per 45056 cases."""

    def __init__(self):
        import unicorn  # noqa: F401
        from unicorn import x86_const as U
        self.U = U
        self.uc = None
        self.used = 0
        self._new()

    def _new(self):
        import unicorn
        U = self.U
        uc = self.uc = unicorn_engine(unicorn.UC_MODE_16, self)
        init_low_memory(lambda a, b: uc.mem_write(a, b))
        self.gpr_ids = [U.UC_X86_REG_EAX, U.UC_X86_REG_ECX, U.UC_X86_REG_EDX, U.UC_X86_REG_EBX,
                        U.UC_X86_REG_ESP, U.UC_X86_REG_EBP, U.UC_X86_REG_ESI, U.UC_X86_REG_EDI]
        self.seg_ids = {"es": U.UC_X86_REG_ES, "cs": U.UC_X86_REG_CS, "ss": U.UC_X86_REG_SS,
                        "ds": U.UC_X86_REG_DS, "fs": U.UC_X86_REG_FS, "gs": U.UC_X86_REG_GS}
        self.seen_slots = set()

    def run(self, case: Case) -> Result:
        U = self.U
        lin = case.linear
        if lin in self.seen_slots:
            self._new()         # never re-execute a stale translation
        self.seen_slots.add(lin)
        uc = self.uc
        uc.mem_write(DATA_LO, case.mem)
        uc.mem_write(lin, case.insn + b"\xf4" * (CODE_SLOT - len(case.insn)))
        for name in SEG_NAMES:
            uc.reg_write(self.seg_ids[name], case.segs[name])
        for i, v in zip(self.gpr_ids, case.regs):
            uc.reg_write(i, v)
        uc.reg_write(U.UC_X86_REG_EFLAGS, case.eflags)
        uc.reg_write(U.UC_X86_REG_EIP, case.eip)
        self._intr = []
        fault, error = unicorn_step(uc, lin, len(case.insn), case.rep, timeout_us=2_000_000)
        if self._intr:
            fault = self._intr[0]
        reset = fault is not None or error is not None
        if (fault is None and error is None and not case.branch
                and uc.reg_read(U.UC_X86_REG_EIP) != case.eip + len(case.insn)):
            error = (f"unicorn stopped at eip {uc.reg_read(U.UC_X86_REG_EIP):#x}, not after the "
                     f"instruction ({case.eip + len(case.insn):#x})")
        res = Result(regs=[uc.reg_read(i) & 0xFFFFFFFF for i in self.gpr_ids],
                     eip=uc.reg_read(U.UC_X86_REG_EIP) & 0xFFFFFFFF,
                     eflags=uc.reg_read(U.UC_X86_REG_EFLAGS) & 0xFFFFFFFF,
                     segs={n: uc.reg_read(self.seg_ids[n]) & 0xFFFF for n in SEG_NAMES},
                     mem=bytes(uc.mem_read(DATA_LO, DATA_HI - DATA_LO)),
                     fault=fault, error=error)
        if reset:
            # Unicorn keeps exception state across emu_start() after a fault
            # was stopped in the interrupt hook (the next fault then shows up
            # as #8 or not at all): start afresh.
            self._new()
        return res

    def read_all(self) -> bytes:
        return bytes(self.uc.mem_read(0, MEM_SIZE))


def init_low_memory(write: Callable[[int, bytes], None]):
    ivt = b"".join((4 * n).to_bytes(2, "little") + IVT_HANDLER_SEG.to_bytes(2, "little")
                   for n in range(256))
    write(0, ivt)
    write(IVT_HANDLER_SEG << 4, b"\xf4" * 0x400)


class HvmmRunner:
    """hvmm._core.Cpu(model="386"): one step() per case."""

    def __init__(self, cpu_factory=None):
        if cpu_factory is None:
            from hvmm._core import Cpu

            def cpu_factory():
                return Cpu(memory_size=2 << 20, model="386", devices=False)
        self.factory = cpu_factory
        self.cpu = None
        self.seen_slots = set()
        self._new()

    def _new(self):
        self.cpu = self.factory()
        m = self.cpu.memory

        def write(a, b):
            m[a:a + len(b)] = b
        init_low_memory(write)
        self.seen_slots = set()

    def run(self, case: Case) -> Result:
        lin = case.linear
        if lin in self.seen_slots:
            self._new()
        self.seen_slots.add(lin)
        cpu = self.cpu
        m = cpu.memory
        m[DATA_LO:DATA_HI] = case.mem
        m[lin:lin + CODE_SLOT] = case.insn + b"\xf4" * (CODE_SLOT - len(case.insn))
        for name in SEG_NAMES:
            setattr(cpu, name, case.segs[name])
        for n, v in zip(GPR_NAMES, case.regs):
            setattr(cpu, n, v)
        cpu.eflags = case.eflags
        cpu.eip = case.eip
        error = None
        fault = None
        extra = []
        try:
            ex = cpu.step()
            reason = ex.reason
        except Exception as e:      # noqa: BLE001 - report, don't crash the suite
            reason = "exception"
            error = f"hvmm raised {type(e).__name__}: {e}"
        if reason == "invalid_opcode":
            fault = 6
        elif reason == "hlt" and cpu.cs == IVT_HANDLER_SEG and cpu.eip <= 0x400:
            fault = (cpu.eip - 1) // 4      # delivered, then ran the HLT handler
        elif reason in ("unimplemented", "triple_fault", "breakpoint", "hlt"):
            error = f"hvmm exit {reason}: {getattr(ex, 'detail', '')}"
        segs = {n: getattr(cpu, n) & 0xFFFF for n in SEG_NAMES}
        eip = cpu.eip & 0xFFFFFFFF
        if fault is None and error is None and segs["cs"] == IVT_HANDLER_SEG and eip < 0x400 and eip % 4 == 0:
            fault = eip // 4
        if fault is not None and fault != 6 and error is None:
            # the 386 pushes FLAGS, CS, IP of the faulting instruction
            sp = cpu.sp
            ssb = segs["ss"] << 4
            frame = bytes(m[ssb + sp:ssb + sp + 6])
            pip = int.from_bytes(frame[0:2], "little")
            pcs = int.from_bytes(frame[2:4], "little")
            if (pip, pcs) != (case.eip & 0xFFFF, case.segs["cs"]):
                extra.append(f"fault {fault} frame: pushed CS:IP {pcs:04x}:{pip:04x}, "
                             f"expected {case.segs['cs']:04x}:{case.eip & 0xFFFF:04x} (the faulting instruction)")
        for n in SEG_NAMES:
            try:
                sel, base, _lim, _attr = cpu.segment(n)
            except Exception:      # noqa: BLE001
                break
            if fault is None and base != (sel << 4):
                extra.append(f"{n}: hidden base {base:#x} != selector {sel:#06x} << 4")
        return Result(regs=[getattr(cpu, n) & 0xFFFFFFFF for n in GPR_NAMES], eip=eip,
                      eflags=cpu.eflags & 0xFFFFFFFF, segs=segs, mem=bytes(m[DATA_LO:DATA_HI]),
                      fault=fault, error=error, extra=extra)

    def read_all(self) -> bytes:
        return bytes(self.cpu.memory[0:MEM_SIZE])


# --------------------------------------------------------------------------
# comparison


def compare(case: Case, ref: Result, dut: Result) -> list[str]:
    """Differences, as human-readable lines ('expected' = Unicorn, 'actual' = hvmm)."""
    diffs = []
    if dut.error:
        diffs.append(dut.error)
    if ref.error:
        diffs.append(f"reference error: {ref.error}")
    if diffs:
        return diffs
    if ref.fault is not None or dut.fault is not None or case.expect_fault is not None:
        if ref.fault != dut.fault:
            diffs.append(f"exception: expected {_fault(ref.fault)}, actual {_fault(dut.fault)}")
        elif case.expect_fault is not None and ref.fault != case.expect_fault:
            diffs.append(f"reference did not raise expected #{case.expect_fault}")
        diffs.extend(dut.extra)
        return diffs
    for n, a, b in zip(GPR_NAMES, ref.regs, dut.regs):
        if a != b:
            diffs.append(f"{n}: expected {a:08x}, actual {b:08x}")
    if ref.eip != dut.eip:
        diffs.append(f"eip: expected {ref.eip:08x}, actual {dut.eip:08x}")
    for n in SEG_NAMES:
        if ref.segs[n] != dut.segs[n]:
            diffs.append(f"{n}: expected {ref.segs[n]:04x}, actual {dut.segs[n]:04x}")
    mask = FLAGS_COMPARE & ~case.undef_flags
    if (ref.eflags ^ dut.eflags) & mask:
        d = (ref.eflags ^ dut.eflags) & mask
        diffs.append(f"eflags: expected {ref.eflags & mask:04x}, actual {dut.eflags & mask:04x} "
                     f"(compared bits {mask:04x}; differ: {flag_str(d)})")
    if ref.mem != dut.mem:
        out = []
        for i, (a, b) in enumerate(zip(ref.mem, dut.mem)):
            if a != b:
                out.append(i)
        lo, hi = out[0], out[-1]
        diffs.append(f"memory differs at {len(out)} byte(s), linear {DATA_LO + lo:#x}..{DATA_LO + hi:#x}: "
                     f"expected {ref.mem[lo:min(hi + 1, lo + 16)].hex(' ')}, "
                     f"actual {dut.mem[lo:min(hi + 1, lo + 16)].hex(' ')}")
    diffs.extend(dut.extra)
    return diffs


def _fault(v):
    return "no exception" if v is None else f"#{v}" + {0: "(DE)", 5: "(BR)", 6: "(UD)", 13: "(GP)",
                                                          12: "(SS)"}.get(v, "")


def run_cases(gen, indices, ref=None, dut=None):
    """Run the given case indices; return (n, [(case, diffs)])."""
    ref = ref or UnicornRef()
    dut = dut or HvmmRunner()
    failures = []
    n = 0
    for i in indices:
        case = gen.case(i)
        d = compare(case, ref.run(case), dut.run(case))
        n += 1
        if d:
            failures.append((case, d))
    return n, failures


def format_failures(failures, limit=10) -> str:
    out = []
    for case, diffs in failures[:limit]:
        out.append(case.describe() + "\n  " + "\n  ".join(diffs))
    if len(failures) > limit:
        out.append(f"... and {len(failures) - limit} more")
    return "\n\n".join(out)


class UnicornCpu:
    """A stand-in for ``hvmm._core.Cpu`` built on Unicorn, implementing the
    slice of the core API the runner uses.  It exists only to check the
    harness itself (Unicorn against Unicorn must never mismatch).  Faults are
    "delivered" by faking the IVT jump and the CS:IP part of the frame."""

    def __init__(self, memory_size=MEM_SIZE, model="386"):
        from unicorn import x86_const as U
        self._U = U
        self._new_uc()
        self._buf = bytearray(max(memory_size, MEM_SIZE))
        self.memory = memoryview(self._buf)
        self.model = model
        self._regs = {}
        self._faults = []
        self._ids = {n: getattr(U, "UC_X86_REG_" + n.upper()) for n in
                     GPR_NAMES + SEG_NAMES + ("eip", "eflags", "sp")}

    def _new_uc(self):
        import unicorn
        self._uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_16)
        self._uc.mem_map(0, MEM_SIZE)
        self._uc.hook_add(unicorn.UC_HOOK_INTR, lambda uc, n, _: (self._faults.append(n), uc.emu_stop()))

    def __setattr__(self, k, v):
        if k in GPR_NAMES or k in SEG_NAMES or k in ("eip", "eflags"):
            self._regs[k] = v
        else:
            object.__setattr__(self, k, v)

    def __getattr__(self, k):
        if k == "sp":
            return self._regs["esp"] & 0xFFFF
        if k in GPR_NAMES or k in SEG_NAMES or k in ("eip", "eflags"):
            return self._regs[k]
        raise AttributeError(k)

    def segment(self, name):
        sel = self._regs[name]
        return sel, sel << 4, 0xFFFF, 0

    def step(self):
        import unicorn
        uc = self._uc
        uc.mem_write(0, bytes(self._buf[:MEM_SIZE]))
        for n in SEG_NAMES:
            uc.reg_write(self._ids[n], self._regs[n])
        for n in GPR_NAMES + ("eflags", "eip"):
            uc.reg_write(self._ids[n], self._regs[n])
        lin = (self._regs["cs"] << 4) + self._regs["eip"]
        uc.ctl_remove_cache(lin, lin + CODE_SLOT)
        self._faults = []
        reason = "budget"
        rep = X.Decoder(16, bytes(self._buf[lin:lin + 16]), ip=self._regs["eip"]).decode()
        try:
            if rep.has_rep_prefix or rep.has_repne_prefix:
                uc.emu_start(lin, lin + rep.len, 2_000_000, 0)
            else:
                uc.emu_start(lin, 0xFFFFFFFF, 2_000_000, 1)
        except unicorn.UcError:
            reason = "invalid_opcode"
        for n in GPR_NAMES + SEG_NAMES + ("eflags", "eip"):
            self._regs[n] = uc.reg_read(self._ids[n])
        self._buf[:MEM_SIZE] = uc.mem_read(0, MEM_SIZE)
        if self._faults:    # pretend delivery through the IVT
            self._regs["cs"] = IVT_HANDLER_SEG
            self._regs["eip"] = 4 * self._faults[0]
            sp = (self._regs["esp"] - 6) & 0xFFFF
            self._regs["esp"] = (self._regs["esp"] & 0xFFFF0000) | sp
            b = (self._regs["ss"] << 4) + sp
            self._buf[b:b + 4] = (rep.ip16.to_bytes(2, "little")
                                  + ((lin - rep.ip16) >> 4).to_bytes(2, "little"))
            self._new_uc()      # see UnicornRef.run
        return _Exit(reason)


@dataclasses.dataclass
class _Exit:
    reason: str
    detail: str = ""

