# The x87 FPU: the ESC opcodes D8-DF, WAIT, and the checks before them
# (CR0.EM/TS -> #NM, a pending unmasked exception -> #MF or FERR#).
#
# The arithmetic runs on the host's x87 (fpu_host.pxi, docs/x87.md); this
# file decides what the guest's instruction is, moves its memory operand
# (guest memory is read before any FPU state changes, and a store is
# written before the new state is kept, so a faulting access leaves the
# instruction restartable), keeps the guest's instruction and data
# pointers, and emulates what carries guest addresses: FSTENV/FLDENV and
# FSAVE/FRSTOR (fpu_env.pxi), FXSAVE/FXRSTOR.

cdef enum:
    FPU_387 = 0         # the 386 model's coprocessor: no FCMOVcc/FCOMI
    FPU_P6 = 1          # the 686 model's: all of it
    CR0_MP = 0x02
    CR0_EM = 0x04
    CR0_TS = 0x08
    CR0_NE = 0x20
    FERR_IRQ = 13       # FERR# drives IRQ 13 on the PC/AT (CR0.NE = 0)

# What each form is (x87_kind_*): valid or not, and how it behaves.
cdef enum:
    XK_INVALID = 0x80   # #UD
    XK_P6 = 0x40        # FCMOVcc, FCOMI, FUCOMI(P): not on the 387
    XK_NOWAIT = 0x20    # FNINIT FNCLEX FNSTSW FNSTCW FNSTENV FNSAVE (+ FENI...)
    XK_CONTROL = 0x10   # leaves the instruction/data pointers alone
    XK_STORE = 0x08     # memory forms: writes its operand
    XK_SIZE = 0x07      # memory forms: operand size code, see x87_size

cdef uint8_t x87_kind_reg[512]      # (opcode & 7) << 6 | (modrm & 63)
cdef uint8_t x87_kind_mem[64]       # (opcode & 7) << 3 | reg
cdef uint8_t x87_size[8]

cdef enum:
    FORM_FNCLEX = (3 << 6) | 0x22
    FORM_FNINIT = (3 << 6) | 0x23
    FORM_FNSTSW_AX = (7 << 6) | 0x20


def _x87_tables():
    # Register forms that do not exist (a probe of the host agrees: tests).
    invalid = {1: [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x22, 0x23, 0x26, 0x27, 0x2F],
               2: [0x20 + i for i in range(32) if i != 9],
               3: [0x25, 0x26, 0x27] + list(range(0x38, 0x40)),
               5: list(range(0x30, 0x40)),
               6: [0x18] + list(range(0x1A, 0x20)),
               7: list(range(0x21, 0x28)) + list(range(0x38, 0x40))}
    p6 = {2: range(0x00, 0x20), 3: list(range(0x00, 0x20)) + list(range(0x28, 0x38)),
          7: range(0x28, 0x38)}
    for i in range(512):
        k = 0
        if (i & 63) in invalid.get(i >> 6, ()):
            k = XK_INVALID
        elif (i & 63) in p6.get(i >> 6, ()):
            k = XK_P6
        x87_kind_reg[i] = k
    # FENI FDISI FNCLEX FNINIT FSETPM; FNSTSW AX
    for m in (0x20, 0x21, 0x22, 0x23, 0x24):
        x87_kind_reg[(3 << 6) | m] = XK_NOWAIT | XK_CONTROL
    x87_kind_reg[FORM_FNSTSW_AX] = XK_NOWAIT | XK_CONTROL
    # Memory forms: operand size code (0: m16, 1: m32, 2: m64, 3: m80;
    # FLDENV FNSTENV FRSTOR FNSAVE FNSTCW FNSTSW are handled by name),
    # store, control, no-wait.
    for i, n in enumerate((2, 4, 8, 10, 0, 0, 0, 0)):
        x87_size[i] = n
    S, C, W = XK_STORE, XK_CONTROL, XK_NOWAIT
    mem = {0: [1] * 8,                                      # D8 m32real
           1: [1, XK_INVALID, 1 | S, 1 | S, C, 0 | C, W | C | S, 0 | W | C | S],
           2: [1] * 8,                                      # DA m32int
           3: [1, XK_INVALID, 1 | S, 1 | S, XK_INVALID, 3, XK_INVALID, 3 | S],
           4: [2] * 8,                                      # DC m64real
           5: [2, XK_INVALID, 2 | S, 2 | S, C, XK_INVALID, W | C | S, 0 | W | C | S],
           6: [0] * 8,                                      # DE m16int
           7: [0, XK_INVALID, 0 | S, 0 | S, 3, 2, 3 | S, 2 | S]}
    for op in range(8):
        for reg in range(8):
            x87_kind_mem[(op << 3) | reg] = mem[op][reg]
_x87_tables()

cdef enum:
    MEMF_FLDENV = (1 << 3) | 4
    MEMF_FLDCW = (1 << 3) | 5
    MEMF_FNSTENV = (1 << 3) | 6
    MEMF_FNSTCW = (1 << 3) | 7
    MEMF_FRSTOR = (5 << 3) | 4
    MEMF_FNSAVE = (5 << 3) | 6
    MEMF_FNSTSW = (5 << 3) | 7


cdef inline int fpu_exception_pending(CpuState* c) noexcept nogil:
    # An unmasked exception flag is set: the next waiting instruction
    # reports it (the host's ES, recomputed the same way on load).
    return (c.fpu.sw & ~c.fpu.cw & 0x3F) != 0

cdef int fpu_ferr(CpuState* c) noexcept nogil:
    # Without CR0.NE, the PC way: FERR# sets the latch that drives IRQ 13
    # (cleared by a write to port F0). 0: report #MF instead.
    if c.cr[0] & CR0_NE:
        return 0
    if not c.ferr:
        c.ferr = 1
        pic_set_irq(&devs(c).pic, FERR_IRQ, 1)
    return 1

cdef inline void fpu_report(CpuState* c, Insn* d, uint32_t eip, uint64_t* left) noexcept nogil:
    # A waiting instruction found an exception pending: #MF (CR0.NE), with
    # the instruction restartable, or FERR#, and the CPU waits at the
    # instruction (as HLT: the interrupt handler returns to it).
    if fpu_ferr(c):
        c.halted = 1
        stop_run(c, d, left, STOP_EVENTS, 0)
    else:
        raise_fault(c, d, eip, VEC_MF)

cdef inline void fwait(CpuState* c, Insn* d, uint32_t eip, uint64_t* left) noexcept nogil:
    # Inline in the 386's loop: nothing out of line sees d or left.
    if (c.cr[0] & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS):
        raise_fault(c, d, eip, VEC_NM)
    elif fpu_exception_pending(c):
        fpu_report(c, d, eip, left)

cdef inline void fpu_note_insn(CpuState* c, FpuState* f, Insn* d, uint32_t eip,
                               uint32_t op) noexcept nogil:
    # The last non-control instruction: its opcode and address, and its
    # memory operand's (P6: register forms keep the old data pointer).
    f.fop = ((op & 7) << 8) | (d.mod << 6) | (d.reg << 3) | d.rm
    f.fip = eip
    f.fcs = <uint16_t>c.seg[S_CS].sel
    f.fip_lin = c.seg[S_CS].base + eip
    if d.mod != 3:
        f.fdp = d.off
        f.fds = <uint16_t>c.seg[d.seg].sel
        f.fdp_lin = c.seg[d.seg].base + d.off

cdef inline void fpu_clear_pointers(FpuState* f) noexcept nogil:
    f.fop = 0
    f.fip = 0
    f.fcs = 0
    f.fdp = 0
    f.fds = 0
    f.fip_lin = 0
    f.fdp_lin = 0

# Guest memory operands, in pieces by size. The whole operand is checked
# against the segment's limit first (docs/faults.md): a store that faults
# has written nothing. Past the check its bytes follow each other
# linearly, as every limit-checking model's do (slow_mask).
cdef inline void fpu_mem_read(CpuState* c, Insn* d, uint8_t* buf, uint32_t n) noexcept nogil:
    cdef uint32_t k = 0, m = slow_mask(c, d.amask)
    seg_check(c, d.seg, d.off, n)
    while k + 4 <= n:
        st32(buf + k, rd32(c, d.seg, (d.off + k) & m, d.amask))
        k += 4
    if k < n:
        st16(buf + k, rd16(c, d.seg, (d.off + k) & m, d.amask))

cdef inline void fpu_mem_write(CpuState* c, Insn* d, const uint8_t* buf, uint32_t n) noexcept nogil:
    cdef uint32_t k = 0, m = slow_mask(c, d.amask)
    seg_check(c, d.seg, d.off, n)
    while k + 4 <= n:
        wr32(c, d.seg, (d.off + k) & m, ld32(buf + k), d.amask)
        k += 4
    if k < n:
        wr16(c, d.seg, (d.off + k) & m, ld16(buf + k), d.amask)

cdef inline int fpu_untouched(const uint8_t* buf, uint32_t n, uint8_t fill) noexcept nogil:
    cdef uint32_t k
    for k in range(n):
        if buf[k] != fill:
            return 0
    return 1

cdef void fpu_store_form(CpuState* c, Insn* d, int form, uint32_t n) noexcept nogil:
    # A store (FST, FIST, FBSTP, FLDCW's kin): the host writes its operand
    # unless an unmasked exception suppresses it. A buffer still holding
    # its fill after the run may be either; a second fill decides.
    cdef FpuState f = c.fpu
    cdef uint8_t buf[16]
    memset(buf, 0xA5, 16)
    x87_host_run(&f, form, buf, 0)
    if fpu_untouched(buf, n, 0xA5):
        f = c.fpu
        memset(buf, 0x5A, 16)
        x87_host_run(&f, form, buf, 0)
        if fpu_untouched(buf, n, 0x5A):
            n = 0
    if n:
        fpu_mem_write(c, d, buf, n)
    c.fpu = f

cdef void fpu_esc(CpuState* c, Insn* d, uint32_t eip, uint64_t* left, uint32_t op,
                  int model) noexcept nogil:
    # Out of line, reached from the loop through run_split (generate.py),
    # which keeps the loop's d out of its reach. Faults (#UD, #NM, #MF,
    # a memory operand's) unwind to the chunk's guard (docs/faults.md):
    # every check and every guest memory read comes before the FPU state
    # changes, and a store's memory is written before its new state is kept.
    cdef int form
    cdef uint8_t k
    cdef uint8_t buf[16]
    cdef uint32_t n, fl
    if d.mod == 3:
        form = ((op & 7) << 6) | (d.reg << 3) | d.rm
        k = x87_kind_reg[form]
    else:
        form = ((op & 7) << 3) | d.reg
        k = x87_kind_mem[form]
    if (k & XK_INVALID) or ((k & XK_P6) and model == FPU_387):
        raise_fault(c, d, eip, VEC_UD)
        return
    if c.cr[0] & (CR0_EM | CR0_TS):
        raise_fault(c, d, eip, VEC_NM)
        return
    if not (k & XK_NOWAIT) and fpu_exception_pending(c):
        fpu_report(c, d, eip, left)
        return
    if d.mod == 3:
        if form == FORM_FNSTSW_AX:
            set_r16(c, R_EAX, c.fpu.sw)
            return
        if k & XK_P6:
            # FCMOVcc reads the flags; FCOMI/FUCOMI(P) set ZF PF CF, clear OF SF AF
            fl = x87_host_run(&c.fpu, form, NULL, get_eflags(c))
            if (d.reg & 4) and (op & 1):
                set_flags_masked(c, F_ARITH, fl)
        else:
            x87_host_run(&c.fpu, form, NULL, 0)
        if form == FORM_FNINIT:
            fpu_clear_pointers(&c.fpu)
    elif form == MEMF_FLDENV or form == MEMF_FRSTOR:
        fpu_load_env(c, d, d.o32, form == MEMF_FRSTOR)
    elif form == MEMF_FNSTENV or form == MEMF_FNSAVE:
        fpu_store_env(c, d, d.o32, form == MEMF_FNSAVE)
    elif form == MEMF_FNSTCW:
        wr16(c, d.seg, d.off, c.fpu.cw, d.amask)
    elif form == MEMF_FNSTSW:
        wr16(c, d.seg, d.off, c.fpu.sw, d.amask)
    else:
        n = x87_size[k & XK_SIZE]
        if k & XK_STORE:
            fpu_store_form(c, d, 512 + form, n)
        else:
            fpu_mem_read(c, d, buf, n)
            x87_host_run(&c.fpu, 512 + form, buf, 0)
    if not (k & XK_CONTROL):
        fpu_note_insn(c, &c.fpu, d, eip, op)
