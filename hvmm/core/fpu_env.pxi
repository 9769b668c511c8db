# The x87 state images that carry guest addresses: FSTENV/FLDENV and
# FSAVE/FRSTOR (16- and 32-bit operand size; real-mode and protected-mode
# layouts, which differ only in the pointer fields), FXSAVE/FXRSTOR (686),
# and the state at reset.

cdef inline int fpu_pm_layout(CpuState* c) noexcept nogil:
    # Protected mode stores selector and offset; real and virtual-8086
    # mode the linear addresses.
    return (c.cr[0] & 1) and not (c.flags & F_VM)

cdef uint32_t fpu_full_tag(FpuState* f) noexcept nogil:
    # The 2-bit tags FSTENV/FSAVE store, from the abridged tag and the
    # register contents: 0 valid, 1 zero, 2 special (NaN, infinity,
    # denormal, unnormal, pseudo-denormal), 3 empty.
    cdef uint32_t tag = 0, t, top = (f.sw >> 11) & 7, exp
    cdef uint64_t mant
    cdef int i
    for i in range(8):
        if not (f.tw >> i) & 1:
            t = 3
        else:
            memcpy(&mant, f.st[(i - top) & 7], 8)
            exp = ld16(f.st[(i - top) & 7] + 8) & 0x7FFF
            if exp == 0x7FFF:
                t = 2
            elif exp == 0:
                t = 1 if mant == 0 else 2
            else:
                t = 0 if (mant >> 63) else 2
        tag |= t << (2 * i)
    return tag

cdef void fpu_init_state(FpuState* f) noexcept nogil:
    # FNINIT (and the end of FNSAVE): registers keep their contents.
    f.cw = 0x037F
    f.sw = 0
    f.tw = 0
    fpu_clear_pointers(f)

cdef void fpu_reset(CpuState* c) noexcept nogil:
    # Power-on: the P6 leaves CW 0040h and eight +0.0 registers tagged
    # valid; the 387 comes up as after FNINIT.
    memset(&c.fpu, 0, sizeof(FpuState))
    c.fpu.mxcsr = 0x1F80
    fpu_init_state(&c.fpu)
    if c.model == MODEL_686:
        c.fpu.cw = 0x0040
        c.fpu.tw = 0xFF
    c.ferr = 0

cdef void fpu_store_env(CpuState* c, Insn* d, int o32, int save) noexcept nogil:
    # FNSTENV / FNSAVE. The image is written first, then the state changes
    # (FNSTENV masks every exception, FNSAVE initialises the FPU).
    cdef FpuState* f = &c.fpu
    cdef uint8_t b[108]
    cdef uint32_t tag = fpu_full_tag(f), n
    cdef int i
    memset(b, 0, 108)
    if o32:
        st32(b, 0xFFFF0000u | f.cw)
        st32(b + 4, 0xFFFF0000u | f.sw)
        st32(b + 8, 0xFFFF0000u | tag)
        if fpu_pm_layout(c):
            st32(b + 12, f.fip)
            st32(b + 16, (<uint32_t>f.fop << 16) | f.fcs)
            st32(b + 20, f.fdp)
            st32(b + 24, 0xFFFF0000u | f.fds)
        else:
            st32(b + 12, 0xFFFF0000u | (f.fip_lin & 0xFFFF))
            st32(b + 16, ((f.fip_lin >> 4) & 0x0FFFF000) | (f.fop & 0x7FF))
            st32(b + 20, 0xFFFF0000u | (f.fdp_lin & 0xFFFF))
            st32(b + 24, (f.fdp_lin >> 4) & 0x0FFFF000)
        n = 28
    else:
        st16(b, f.cw)
        st16(b + 2, f.sw)
        st16(b + 4, tag)
        if fpu_pm_layout(c):
            st16(b + 6, f.fip)
            st16(b + 8, f.fcs)
            st16(b + 10, f.fdp)
            st16(b + 12, f.fds)
        else:
            st16(b + 6, f.fip_lin)
            st16(b + 8, ((f.fip_lin >> 4) & 0xF000) | (f.fop & 0x7FF))
            st16(b + 10, f.fdp_lin)
            st16(b + 12, (f.fdp_lin >> 4) & 0xF000)
        n = 14
    if save:
        for i in range(8):
            memcpy(b + n + 10 * i, f.st[i], 10)
        n += 80
    fpu_mem_write(c, d, b, n)
    if save:
        fpu_init_state(f)
    else:
        f.cw |= 0x3F
        x87_host_run(f, -1, NULL, 0)       # ES and B follow the masks

cdef void fpu_load_env(CpuState* c, Insn* d, int o32, int rstor) noexcept nogil:
    # FLDENV / FRSTOR: the whole image is read before anything changes.
    cdef FpuState* f = &c.fpu
    cdef uint8_t b[112]
    cdef uint32_t tag, n = 28 if o32 else 14, w
    cdef int i
    fpu_mem_read(c, d, b, n + (80 if rstor else 0))
    if o32:
        f.cw = ld16(b)
        f.sw = ld16(b + 4)
        tag = ld16(b + 8)
        if fpu_pm_layout(c):
            f.fip = ld32(b + 12)
            f.fcs = ld16(b + 16)
            f.fop = ld16(b + 18) & 0x7FF
            f.fdp = ld32(b + 20)
            f.fds = ld16(b + 24)
        else:
            w = ld32(b + 16)
            f.fip_lin = ld16(b + 12) | ((w & 0x0FFFF000) << 4)
            f.fop = w & 0x7FF
            f.fdp_lin = ld16(b + 20) | ((ld32(b + 24) & 0x0FFFF000) << 4)
    else:
        f.cw = ld16(b)
        f.sw = ld16(b + 2)
        tag = ld16(b + 4)
        if fpu_pm_layout(c):
            f.fip = ld16(b + 6)
            f.fcs = ld16(b + 8)
            f.fdp = ld16(b + 10)
            f.fds = ld16(b + 12)
        else:
            w = ld16(b + 8)
            f.fip_lin = ld16(b + 6) | ((w & 0xF000) << 4)
            f.fop = w & 0x7FF
            f.fdp_lin = ld16(b + 10) | ((ld16(b + 12) & 0xF000) << 4)
    if not fpu_pm_layout(c):
        # the image has linear addresses only: offsets as if CS = DS = 0
        f.fip = f.fip_lin
        f.fdp = f.fdp_lin
        f.fcs = 0
        f.fds = 0
    f.tw = 0
    for i in range(8):
        if ((tag >> (2 * i)) & 3) != 3:
            f.tw |= 1 << i
    if rstor:
        for i in range(8):
            memcpy(f.st[i], b + n + 10 * i, 10)
            memset(f.st[i] + 10, 0, 6)
    x87_host_run(f, -1, NULL, 0)           # ES and B follow flags and masks

cdef void fxsave_rstor(CpuState* c, Insn* d, uint32_t eip, uint64_t* left,
                       int restore) noexcept nogil:
    # FXSAVE / FXRSTOR (0F AE /0 /1): the 160-byte x87 part of the image
    # (no SSE state on this model: MXCSR reads 0, bytes 160-511 are left).
    # Neither waits for a pending exception.
    cdef FpuState* f = &c.fpu
    cdef uint8_t b[160]
    cdef int i
    if c.cr[0] & (CR0_EM | CR0_TS):
        raise_fault(c, d, eip, VEC_NM)
        return
    if (c.seg[d.seg].base + d.off) & 15:
        raise_fault(c, d, eip, VEC_GP)
        return
    seg_check(c, d.seg, d.off, 512)     # the operand is m512byte
    if restore:
        fpu_mem_read(c, d, b, 160)
        f.cw = ld16(b)
        f.sw = ld16(b + 2)
        f.tw = b[4]
        f.fop = ld16(b + 6) & 0x7FF
        f.fip = ld32(b + 8)
        f.fcs = ld16(b + 12)
        f.fdp = ld32(b + 16)
        f.fds = ld16(b + 20)
        f.fip_lin = (<uint32_t>f.fcs << 4) + f.fip
        f.fdp_lin = (<uint32_t>f.fds << 4) + f.fdp
        for i in range(8):
            memcpy(f.st[i], b + 32 + 16 * i, 10)
            memset(f.st[i] + 10, 0, 6)
        x87_host_run(f, -1, NULL, 0)
    else:
        memcpy(b, f, 160)
        memset(b + 5, 0, 1)
        memset(b + 14, 0, 2)
        memset(b + 22, 0, 10)           # reserved, MXCSR, MXCSR_MASK
        for i in range(8):
            memset(b + 32 + 16 * i + 10, 0, 6)
        fpu_mem_write(c, d, b, 160)
