"""hvmm.isa: the instruction set, described once.

``table`` holds one row per opcode form (group opcodes: one per ModRM reg
value; the 0x0F page too) with its mnemonic, operands, CPU models, flags,
lockability and body (``form``: what a row is, and the CPU models). From it:

* ``generate`` writes the core's opcode switch (``hvmm/core/execute_gen.pxi``,
  built by setup.py before Cython runs, never committed), one instantiation
  per CPU model;
* ``docs`` writes the opcode coverage page ``docs/opcodes.md``;
* the differential suite (tests/differential.py) draws its instruction forms
  and undefined-flag masks from it.

Nothing here imports hvmm's compiled core, so setup.py can load it from the
source tree before anything is built.
"""
