"""Differential testing of hvmm's ``--cpu 386`` model against Unicorn.

This module holds no tests; ``tests/test_differential.py`` drives it.

* :class:`Generator` builds, from a fixed seed, one random instruction per
  case (encoded with iced-x86 for 16-bit code, i.e. real mode with a 16-bit
  code segment) together with a random initial machine state: the eight
  32-bit GPRs, EFLAGS, the six segment selectors, CS:IP and the contents of a
  data window.  The instruction forms are those the 8086 conformance set
  cannot check: 32-bit operands (0x66), 32-bit addressing with ModRM+SIB
  (0x67), the 0x0F opcodes, 186/386 additions, 32-bit string operations...
  Effective addresses are solved so that every memory access lands inside
  the data window (and below 0x10000 within its segment, so real-mode limit
  checks are never hit).
* :class:`UnicornRef` runs a case on Unicorn (UC_MODE_16; segment selectors
  are written, which in real mode loads base = selector << 4).
* :class:`HvmmRunner` runs a case on ``hvmm._core.Cpu(model="386")`` with one
  ``step()``.
* :func:`compare` reports the differences: GPRs, EIP, selectors, the data
  window, and EFLAGS masked to the flags the instruction defines.

Memory layout (linear):

    0x00000-0x003FF  IVT: vector n -> 0300:(4n), i.e. linear 0x3000 + 4n
    0x03000-0x033FF  HLT "handlers" (so a fault in hvmm is recognisable)
    0x20000-0x24FFF  data: DS=2000 ES=2100 FS=2200 GS=2300 SS=2400, each
                     segment's first 4 KiB (WINDOW) is its window
    0x40000-...      code: each case gets a fresh 16-byte slot (so Unicorn's
                     translation cache never sees stale code), reached
                     through a random CS:IP pair

The instruction forms and their undefined-flag masks come from hvmm's
instruction table (hvmm/isa/table.py), the same one the core's opcode
switch is generated from. The code is split in parts: diff_common (layout,
Case, families), diff_generator and diff_fixups (the generator),
diff_runners (Unicorn and hvmm runners, comparison); this module is the
interface the tests use.
"""
from diff_common import (  # noqa: F401
    COVERAGE_386, FAMILIES, FAMILIES_686, FLAGS_COMPARE, Case, code_name, disasm, flag_str, undefined_flags)
from diff_generator import Generator, Skip  # noqa: F401
from diff_runners import (  # noqa: F401
    HvmmRunner, Result, UnicornCpu, UnicornRef, compare, format_failures, run_cases)
