# Stack operations. The stack's address size follows SS's B bit (16-bit
# in real mode); segment attributes use the VMX access-rights layout.

# Precise faults and the stack (docs/faults.md, rule 2): a single push or
# pop writes or reads memory before it moves ESP, so a fault leaves ESP as
# it was. A body that moves ESP and then makes another access that can
# fault calls stack_checkpoint first (Bochs's RSP_SPECULATIVE): a fault in
# that same instruction restores the ESP saved here. The serial number
# (instructions started, this one included) ties the save to its
# instruction, so no commit is needed.
cdef enum:
    NO_SERIAL = 0xFFFFFFFFFFFFFFFF

cdef inline uint64_t insn_serial(CpuState* c) noexcept nogil:
    return c.icount + c.chunk_len - c.insn_left

cdef inline void stack_checkpoint(CpuState* c) noexcept nogil:
    c.esp_saved = c.regs[R_ESP]
    c.esp_saved_at = insn_serial(c)

cdef inline uint32_t sp_mask(CpuState* c) noexcept nogil:
    if c.seg[S_SS].attr & ATTR_DB:
        return 0xFFFFFFFFu
    return 0xFFFF

cdef inline void set_sp(CpuState* c, uint32_t v, uint32_t m) noexcept nogil:
    c.regs[R_ESP] = (c.regs[R_ESP] & ~m) | (v & m)

cdef inline void push16(CpuState* c, uint32_t v) noexcept nogil:
    cdef uint32_t m = sp_mask(c)
    cdef uint32_t sp = (c.regs[R_ESP] - 2) & m
    wr16(c, S_SS, sp, v, m)
    set_sp(c, sp, m)

cdef inline void push32(CpuState* c, uint32_t v) noexcept nogil:
    cdef uint32_t m = sp_mask(c)
    cdef uint32_t sp = (c.regs[R_ESP] - 4) & m
    wr32(c, S_SS, sp, v, m)
    set_sp(c, sp, m)

cdef inline void pushv(CpuState* c, uint32_t v, int o32) noexcept nogil:
    if o32:
        push32(c, v)
    else:
        push16(c, v)

cdef inline uint32_t pop16(CpuState* c) noexcept nogil:
    cdef uint32_t m = sp_mask(c)
    cdef uint32_t sp = c.regs[R_ESP] & m
    cdef uint32_t v = rd16(c, S_SS, sp, m)
    set_sp(c, sp + 2, m)
    return v

cdef inline uint32_t pop32(CpuState* c) noexcept nogil:
    cdef uint32_t m = sp_mask(c)
    cdef uint32_t sp = c.regs[R_ESP] & m
    cdef uint32_t v = rd32(c, S_SS, sp, m)
    set_sp(c, sp + 4, m)
    return v

cdef inline uint32_t popv(CpuState* c, int o32) noexcept nogil:
    if o32:
        return pop32(c)
    return pop16(c)

cdef void op_pusha(CpuState* c, int o32) noexcept nogil:
    cdef uint32_t sp = c.regs[R_ESP]
    cdef int i
    stack_checkpoint(c)
    for i in range(8):
        if i == R_ESP:
            pushv(c, sp, o32)
        else:
            pushv(c, c.regs[i], o32)

# All eight pops before any register is written (a fault in the last
# one leaves the registers as they were).
cdef void op_popa(CpuState* c, int o32) noexcept nogil:
    cdef int i
    cdef uint32_t v[8]
    stack_checkpoint(c)
    for i in range(7, -1, -1):
        v[i] = popv(c, o32)
    for i in range(8):
        if i != R_ESP:
            set_rv(c, i, v[i], o32)

cdef void op_enter(CpuState* c, uint32_t size, uint32_t level, int o32) noexcept nogil:
    cdef uint32_t m = sp_mask(c)
    cdef uint32_t frame, bp
    cdef uint32_t step = 4 if o32 else 2
    cdef uint32_t i
    level &= 31
    stack_checkpoint(c)
    pushv(c, c.regs[R_EBP], o32)
    frame = c.regs[R_ESP] & m
    if level > 0:
        bp = c.regs[R_EBP]
        for i in range(1, level):
            bp = (bp - step) & m
            pushv(c, rdv(c, S_SS, bp, o32, m), o32)
        pushv(c, frame, o32)
    set_rv(c, R_EBP, frame, o32)
    set_sp(c, (c.regs[R_ESP] - size) & m, m)

cdef void op_leave(CpuState* c, int o32) noexcept nogil:
    cdef uint32_t m = sp_mask(c)
    stack_checkpoint(c)
    set_sp(c, c.regs[R_EBP], m)
    set_rv(c, R_EBP, popv(c, o32), o32)

# POP ES/DS/FS/GS: the load (protected mode: its checks) after the pop.
cdef inline void pop_sreg(CpuState* c, int s, int o32) noexcept nogil:
    cdef uint32_t sel
    stack_checkpoint(c)
    sel = popv(c, o32)
    load_seg(c, s, sel)

# POP SS: no interrupt between it and the next instruction.
cdef inline void pop_ss(CpuState* c, int o32) noexcept nogil:
    cdef uint32_t sel
    stack_checkpoint(c)
    sel = popv(c, o32)
    load_seg(c, S_SS, sel)
    c.shadow = SHADOW_SS
    c.shadow_at = insn_serial(c)

# POP Ev: the operand's address uses the SP after the pop, so ModRM is
# decoded here, after it.
cdef inline void pop_ev(CpuState* c, Insn* d, int o32) noexcept nogil:
    cdef uint32_t value
    stack_checkpoint(c)
    value = popv(c, o32)
    modrm(c, d)
    rmv_write(c, d, value, o32)

# PUSH Ev on the 8086 (FF /6 and /7): PUSH SP pushes the decremented SP.
cdef inline void push_ev_8086(CpuState* c, Insn* d) noexcept nogil:
    if d.mod == 3 and d.rm == R_ESP:
        push16(c, (c.regs[R_ESP] - 2) & 0xFFFF)
    else:
        push16(c, rmv_read(c, d, 0))

cdef inline void enter(CpuState* c, Insn* d, int o32) noexcept nogil:
    cdef uint32_t size = fetch16(d)
    op_enter(c, size, fetch8(d), o32)
