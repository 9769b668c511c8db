# What only the 286 does: its coprocessor escapes without a coprocessor,
# and the state a faulting instruction leaves behind. (Its opcode forms
# are rows of the instruction table, hvmm/isa/table.py; its 6-byte
# descriptors are read in descriptor.pxi, its real-mode INT 13 for stack
# limits is limit_vec in segment.pxi.)

# WAIT: no coprocessor to wait for; #NM with MSW.MP and TS (a task switch
# since the last coprocessor use).
cdef inline void wait_286(CpuState* c, Insn* d, uint32_t eip) noexcept nogil:
    if (c.cr[0] & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS):
        raise_fault(c, d, eip, VEC_NM)

# ESC: no coprocessor answers (the operand is not read); #NM with MSW.EM
# (emulate it) or TS.
cdef inline void esc_286(CpuState* c, Insn* d, uint32_t eip) noexcept nogil:
    if c.cr[0] & (CR0_EM | CR0_TS):
        raise_fault(c, d, eip, VEC_NM)

# Whether `size` bytes at seg:off can be read (or written), with the
# checks of seg_check/seg_check_w, without raising.
cdef int access_ok_286(CpuState* c, int seg, uint32_t off, uint32_t size, int write) noexcept nogil:
    cdef uint32_t kind = c.seg[seg].attr & (ATTR_CODE | ATTR_RW)
    if c.cr[0] & 1:
        if (write and kind != ATTR_RW) or (not write and kind == ATTR_CODE):
            return 0
    return seg_access_ok(&c.seg[seg], off, size)

# The string instructions' accesses in the 286's order: the register that
# addresses each (R_ESI or R_EDI), whether it writes, and how much a REP
# has taken off CX when it faults (the sst286 captures: MOVS, LODS, OUTS
# and SCAS read with 1 off, MOVS, STOS and INS write with 2 off; CMPS reads
# ES:DI first, with none off, then DS:SI, with 1 off).
cdef int string_accesses_286(uint32_t op, int* reg, int* write, uint32_t* cx_off) noexcept nogil:
    op &= 0xFE
    if op == 0xA4:              # MOVS
        reg[0] = R_ESI; write[0] = 0; cx_off[0] = 1
        reg[1] = R_EDI; write[1] = 1; cx_off[1] = 2
        return 2
    if op == 0xA6:              # CMPS
        reg[0] = R_EDI; write[0] = 0; cx_off[0] = 0
        reg[1] = R_ESI; write[1] = 0; cx_off[1] = 1
        return 2
    if op == 0xAA or op == 0x6C:    # STOS, INS
        reg[0] = R_EDI; write[0] = 1; cx_off[0] = 2
        return 1
    if op == 0xAC or op == 0x6E:    # LODS, OUTS
        reg[0] = R_ESI; write[0] = 0; cx_off[0] = 1
        return 1
    if op == 0xAE:              # SCAS
        reg[0] = R_EDI; write[0] = 0; cx_off[0] = 1
        return 1
    return 0

# After a fault the run loop has put the registers back as they were
# before the instruction (faults are restartable from the 386 on). A 286
# is not so tidy, and its exception frame shows it: a string instruction
# has advanced SI/DI past every access it made, the faulting one
# included, and a REP has counted CX down; POP r/m whose write faults
# keeps the popped SP. Out of line: only the 286's run loop calls it,
# after a fault.
cdef void fault_state_286(CpuState* c, uint32_t eip) noexcept nogil:
    cdef uint32_t b = 0, sp, delta
    cdef uint32_t cx_off[2]
    cdef int n = 0, k, i, count, ovr = -1, rep = 0, size, seg
    cdef int reg[2]
    cdef int write[2]
    while n < 10:
        b = phys_rd8(c, lin2phys(c, c.seg[S_CS].base + ((eip + <uint32_t>n) & 0xFFFF)))
        k = c.prefixes[b]
        if k == 0:
            break
        if k < PX_OPSIZE:
            ovr = k - PX_SEG
        elif k == PX_REP or k == PX_REPNE:
            rep = 1
        n += 1
    if c.fault_vec != VEC_GP and c.fault_vec != VEC_SS:
        return
    if b == 0x8F:
        b = phys_rd8(c, lin2phys(c, c.seg[S_CS].base + ((eip + <uint32_t>n + 1) & 0xFFFF)))
        if b >= 0xC0 or (b & 0x38):         # a register, or #UD
            return
        sp = c.regs[R_ESP] & 0xFFFF
        if access_ok_286(c, S_SS, sp, 2, 0):    # the pop was done: the write faulted
            c.regs[R_ESP] = (c.regs[R_ESP] & 0xFFFF0000u) | ((sp + 2) & 0xFFFF)
        return
    count = string_accesses_286(b, reg, write, cx_off)
    size = 1 + <int>(b & 1)
    delta = (0 - <uint32_t>size) if (c.flags & F_DF) else <uint32_t>size
    for i in range(count):
        seg = S_ES if reg[i] == R_EDI else (ovr if ovr >= 0 else S_DS)
        if access_ok_286(c, seg, c.regs[reg[i]] & 0xFFFF, size, write[i]):
            continue
        for k in range(i + 1):
            c.regs[reg[k]] = (c.regs[reg[k]] & 0xFFFF0000u) | ((c.regs[reg[k]] + delta) & 0xFFFF)
        if rep:
            c.regs[R_ECX] = (c.regs[R_ECX] & 0xFFFF0000u) | ((c.regs[R_ECX] - cx_off[i]) & 0xFFFF)
        return
