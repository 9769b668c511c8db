# The run loop: fetch, decode prefixes, dispatch on the opcode, retire.
#
# One C function executes guest code until an exit. The opcode chain in
# execute() compiles to a C switch (only equality tests on `op`; do not
# add range tests); the 0x0F page is a second switch on 0x100 | byte.
# execute() is written once and inlined per operand size. Instruction
# bodies of more than a few lines live in the family files (alu, shift,
# muldiv, bcd, string, stack, control, bits, bus) and are inlined here.

cdef void fill_fetchbuf(CpuState* c, uint32_t eip) noexcept nogil:
    # Byte-wise fetch for instructions that may wrap the segment or cross
    # into a page that is not plain memory.
    cdef int k
    cdef uint32_t base = c.seg[S_CS].base
    for k in range(32):
        c.fetchbuf[k] = <uint8_t>phys_rd8(c, lin2phys(c, base + ((eip + k) & c.ipmask)))

cdef inline int plain_page(CpuState* c, uint32_t lin, uint32_t phys) noexcept nogil:
    # The page at `lin` maps to `phys` and is RAM or ROM.
    return lin2phys(c, lin) == phys and c.pagekind[phys >> 12] <= PG_ROM

cdef void code_window(CpuState* c, uint32_t eip) noexcept nogil:
    # Find the largest run of plain-memory pages around CS:EIP that are
    # contiguous both linearly and physically, and let the loop fetch from
    # it directly. The last 16 bytes are left out so that an instruction
    # never runs off the window, and so is the segment's wrap point.
    cdef uint32_t lin = c.seg[S_CS].base + eip
    cdef uint32_t phys = lin2phys(c, lin)
    cdef uint32_t lo_lin, lo_phys, hi_lin, hi_phys
    cdef int64_t lo, hi
    cdef int n
    c.win_len = 0
    if c.pagekind[phys >> 12] > PG_ROM:
        return
    lo = <int64_t>eip - (lin & 0xFFF)           # EIP at the page's start
    hi = lo + 0x1000                            # EIP past the page's end
    lo_lin = lin & ~(<uint32_t>0xFFF)
    lo_phys = phys & ~(<uint32_t>0xFFF)
    hi_lin = lo_lin + 0x1000
    hi_phys = lo_phys + 0x1000
    n = 0
    while n < 256 and hi <= c.ipmask and hi_lin != 0 and hi_phys != 0 and plain_page(c, hi_lin, hi_phys):
        hi += 0x1000
        hi_lin += 0x1000
        hi_phys += 0x1000
        n += 1
    n = 0
    while (n < 256 and lo > 0 and lo_lin >= 0x1000 and lo_phys >= 0x1000
           and plain_page(c, lo_lin - 0x1000, lo_phys - 0x1000)):
        lo -= 0x1000
        lo_lin -= 0x1000
        lo_phys -= 0x1000
        n += 1
    hi -= 16
    if hi > <int64_t>c.ipmask - 15:
        hi = <int64_t>c.ipmask - 15
    if lo < 0:          # the segment starts inside the first page
        lo_phys += <uint32_t>(-lo)
        lo = 0
    if <int64_t>eip < lo or <int64_t>eip >= hi:
        return
    c.win_host = c.mem + lo_phys
    c.win_lo = <uint32_t>lo
    c.win_len = <uint32_t>(hi - lo)


cdef const uint8_t* fetch_slow(CpuState* c, uint32_t eip) noexcept nogil:
    # EIP left the direct-fetch window: find a new one, else copy bytes.
    code_window(c, eip)
    if eip - c.win_lo < c.win_len:
        return c.win_host + (eip - c.win_lo)
    fill_fetchbuf(c, eip)
    return c.fetchbuf

# Transfer control: the loop's epilogue adds the remaining length (zero).
cdef inline void jump_to(Insn* d, uint32_t* eip, uint32_t target) noexcept nogil:
    eip[0] = target
    d.start = d.p

cdef inline int seg_of(Insn* d) noexcept nogil:
    return d.ovr if d.ovr >= 0 else S_DS

cdef inline uint32_t vmsb(int o32) noexcept nogil:
    return 0x80000000u if o32 else 0x8000

cdef inline uint32_t vmask(int o32) noexcept nogil:
    return 0xFFFFFFFFu if o32 else 0xFFFF

# The six ALU encodings (r/m8,r8  r/mv,rv  r8,r/m8  rv,r/mv  AL,imm8
# eAX,immv), each ALU operation given its own case so that `aluop` and
# `form` are constants after inlining.
cdef inline void alu_form(CpuState* c, Insn* d, int form, uint32_t aluop,
                          int o32) noexcept nogil:
    cdef uint32_t t, v
    if form == 0:
        modrm(c, d)
        t = alu(c, aluop, rm8_read(c, d), get_r8(c, d.reg), 0x80)
        if aluop != 7:
            rm8_write(c, d, t)
    elif form == 1:
        modrm(c, d)
        t = alu(c, aluop, rmv_read(c, d, o32), get_rv(c, d.reg, o32), vmsb(o32))
        if aluop != 7:
            rmv_write(c, d, t, o32)
    elif form == 2:
        modrm(c, d)
        t = alu(c, aluop, get_r8(c, d.reg), rm8_read(c, d), 0x80)
        if aluop != 7:
            set_r8(c, d.reg, t)
    elif form == 3:
        modrm(c, d)
        t = alu(c, aluop, get_rv(c, d.reg, o32), rmv_read(c, d, o32), vmsb(o32))
        if aluop != 7:
            set_rv(c, d.reg, t, o32)
    elif form == 4:
        t = alu(c, aluop, c.regs[R_EAX] & 0xFF, fetch8(d), 0x80)
        if aluop != 7:
            set_r8(c, 0, t)
    else:
        v = fetchv(d, o32)
        t = alu(c, aluop, get_rv(c, R_EAX, o32), v, vmsb(o32))
        if aluop != 7:
            set_rv(c, R_EAX, t, o32)

# String instructions without a REP prefix (the common LODS/STOS/MOVS in
# loops) stay inline; REP forms and the rest go to op_string.
cdef inline void string_once(CpuState* c, Insn* d, uint32_t op, uint32_t size) noexcept nogil:
    cdef uint32_t amask = d.amask
    cdef uint32_t delta = (0 - size) if (c.flags & F_DF) else size
    cdef uint32_t si, di
    cdef int src_seg
    if op == STR_LODS:
        src_seg = d.ovr if d.ovr >= 0 else S_DS
        si = c.regs[R_ESI] & amask
        acc_write(c, str_rd(c, src_seg, si, size, amask), size)
        c.regs[R_ESI] = (c.regs[R_ESI] & ~amask) | ((si + delta) & amask)
    elif op == STR_STOS:
        di = c.regs[R_EDI] & amask
        str_wr(c, S_ES, di, c.regs[R_EAX], size, amask)
        c.regs[R_EDI] = (c.regs[R_EDI] & ~amask) | ((di + delta) & amask)
    else:   # MOVS
        src_seg = d.ovr if d.ovr >= 0 else S_DS
        si = c.regs[R_ESI] & amask
        di = c.regs[R_EDI] & amask
        str_wr(c, S_ES, di, str_rd(c, src_seg, si, size, amask), size, amask)
        c.regs[R_ESI] = (c.regs[R_ESI] & ~amask) | ((si + delta) & amask)
        c.regs[R_EDI] = (c.regs[R_EDI] & ~amask) | ((di + delta) & amask)

cdef inline void string_io(CpuState* c, Insn* d, uint64_t* left, int out,
                           uint32_t size) noexcept nogil:
    cdef int r = op_string_io(c, out, size, d.amask, d.ovr, d.rep, now_in_loop(c, left[0]))
    cdef int retired = not (r & BUS_MORE)
    r &= ~BUS_MORE
    if r == BUS_PYTHON:
        stop_run(c, d, left, EXIT_IO, retired)
    elif r == BUS_EVENTS:
        stop_run(c, d, left, STOP_EVENTS, 1)
    elif r == BUS_STOP:
        stop_run(c, d, left, c.stop_reason, retired)

cdef inline void jcc_short(CpuState* c, Insn* d, uint32_t* eip, uint32_t cc) noexcept nogil:
    cdef uint32_t t = sx8(fetch8(d))
    if cond(c, cc):
        jump_to(d, eip, eip[0] + insn_len(d) + t)

# The opcode switch, written once. The loop calls it with o32 = 0 and 1,
# and since it is always inlined gcc compiles two copies with the operand
# size folded in: no 16/32-bit tests in the common 16-bit path.
cdef inline void execute(CpuState* c, Insn* d, uint32_t op, int o32, uint32_t* eip_p,
                         uint64_t* left) noexcept nogil:
    cdef uint32_t eip = eip_p[0]
    cdef uint32_t t, u, v, w, msb, n, sel
    cdef int s
    cdef int64_t adj
    # ---- ALU -------------------------------------------------------
    if op == 0x00:
        alu_form(c, d, 0, 0, o32)
    elif op == 0x01:
        alu_form(c, d, 1, 0, o32)
    elif op == 0x02:
        alu_form(c, d, 2, 0, o32)
    elif op == 0x03:
        alu_form(c, d, 3, 0, o32)
    elif op == 0x04:
        alu_form(c, d, 4, 0, o32)
    elif op == 0x05:
        alu_form(c, d, 5, 0, o32)
    elif op == 0x08:
        alu_form(c, d, 0, 1, o32)
    elif op == 0x09:
        alu_form(c, d, 1, 1, o32)
    elif op == 0x0A:
        alu_form(c, d, 2, 1, o32)
    elif op == 0x0B:
        alu_form(c, d, 3, 1, o32)
    elif op == 0x0C:
        alu_form(c, d, 4, 1, o32)
    elif op == 0x0D:
        alu_form(c, d, 5, 1, o32)
    elif op == 0x10:
        alu_form(c, d, 0, 2, o32)
    elif op == 0x11:
        alu_form(c, d, 1, 2, o32)
    elif op == 0x12:
        alu_form(c, d, 2, 2, o32)
    elif op == 0x13:
        alu_form(c, d, 3, 2, o32)
    elif op == 0x14:
        alu_form(c, d, 4, 2, o32)
    elif op == 0x15:
        alu_form(c, d, 5, 2, o32)
    elif op == 0x18:
        alu_form(c, d, 0, 3, o32)
    elif op == 0x19:
        alu_form(c, d, 1, 3, o32)
    elif op == 0x1A:
        alu_form(c, d, 2, 3, o32)
    elif op == 0x1B:
        alu_form(c, d, 3, 3, o32)
    elif op == 0x1C:
        alu_form(c, d, 4, 3, o32)
    elif op == 0x1D:
        alu_form(c, d, 5, 3, o32)
    elif op == 0x20:
        alu_form(c, d, 0, 4, o32)
    elif op == 0x21:
        alu_form(c, d, 1, 4, o32)
    elif op == 0x22:
        alu_form(c, d, 2, 4, o32)
    elif op == 0x23:
        alu_form(c, d, 3, 4, o32)
    elif op == 0x24:
        alu_form(c, d, 4, 4, o32)
    elif op == 0x25:
        alu_form(c, d, 5, 4, o32)
    elif op == 0x28:
        alu_form(c, d, 0, 5, o32)
    elif op == 0x29:
        alu_form(c, d, 1, 5, o32)
    elif op == 0x2A:
        alu_form(c, d, 2, 5, o32)
    elif op == 0x2B:
        alu_form(c, d, 3, 5, o32)
    elif op == 0x2C:
        alu_form(c, d, 4, 5, o32)
    elif op == 0x2D:
        alu_form(c, d, 5, 5, o32)
    elif op == 0x30:
        alu_form(c, d, 0, 6, o32)
    elif op == 0x31:
        alu_form(c, d, 1, 6, o32)
    elif op == 0x32:
        alu_form(c, d, 2, 6, o32)
    elif op == 0x33:
        alu_form(c, d, 3, 6, o32)
    elif op == 0x34:
        alu_form(c, d, 4, 6, o32)
    elif op == 0x35:
        alu_form(c, d, 5, 6, o32)
    elif op == 0x38:
        alu_form(c, d, 0, 7, o32)
    elif op == 0x39:
        alu_form(c, d, 1, 7, o32)
    elif op == 0x3A:
        alu_form(c, d, 2, 7, o32)
    elif op == 0x3B:
        alu_form(c, d, 3, 7, o32)
    elif op == 0x3C:
        alu_form(c, d, 4, 7, o32)
    elif op == 0x3D:
        alu_form(c, d, 5, 7, o32)

    # ---- segment register push/pop, BCD ----------------------------
    elif op == 0x06 or op == 0x0E or op == 0x16 or op == 0x1E:
        pushv(c, c.seg[op >> 3].sel, o32)
    elif op == 0x07 or op == 0x17 or op == 0x1F:
        load_seg_real(c, op >> 3, popv(c, o32))
        if op == 0x17:
            c.shadow = 1        # no interrupt between POP SS and the next insn
    elif op == 0x0F:
        if c.model == MODEL_8086:   # POP CS
            load_seg_real(c, S_CS, pop16(c))
            jump_to(d, &eip, eip + insn_len(d))
        else:
            # ---- two-byte opcodes (386): a switch of their own ----
            op = 0x100 | fetch8(d)
            if op == 0x101:
                modrm(c, d)
                if d.reg == 4:          # SMSW
                    if d.mod == 3:
                        set_rv(c, d.rm, c.cr[0], o32)
                    else:
                        wr16(c, d.seg, d.off, c.cr[0], d.amask)
                elif d.reg == 6:        # LMSW: PE can be set, never cleared
                    t = rm16_read(c, d)
                    u = (c.cr[0] & ~(<uint32_t>0xE)) | (t & 0xF) | (c.cr[0] & 1)
                    if u & 1:       # protected mode: a later issue
                        stop_run(c, d, left, EXIT_UNIMPLEMENTED, 0)
                    else:
                        c.cr[0] = u
                elif d.mod == 3:
                    raise_fault(c, d, eip, left, VEC_UD)
                elif d.reg == 0 or d.reg == 1:  # SGDT, SIDT
                    t = c.gdtr.base if d.reg == 0 else c.idtr.base
                    u = c.gdtr.limit if d.reg == 0 else c.idtr.limit
                    wr16(c, d.seg, d.off, u, d.amask)
                    wr32(c, d.seg, (d.off + 2) & d.amask,
                         t if o32 else (t & 0x00FFFFFF), d.amask)
                elif d.reg == 2 or d.reg == 3:  # LGDT, LIDT
                    u = mem_rd16_at(c, d, 0)
                    t = rd32(c, d.seg, (d.off + 2) & d.amask, d.amask)
                    if not o32:
                        t &= 0x00FFFFFF
                    if d.reg == 2:
                        c.gdtr.base = t
                        c.gdtr.limit = u
                    else:
                        c.idtr.base = t
                        c.idtr.limit = u
                elif d.reg == 7:        # INVLPG: no TLB yet
                    pass
                else:
                    raise_fault(c, d, eip, left, VEC_UD)
            elif op == 0x106:           # CLTS
                c.cr[0] &= ~(<uint32_t>8)
            elif op == 0x108 or op == 0x109:    # INVD, WBINVD: no caches
                pass
            elif op == 0x120 or op == 0x122:    # MOV r32, CRn / MOV CRn, r32
                modrm(c, d)
                if d.reg == 1 or d.reg > 4:
                    raise_fault(c, d, eip, left, VEC_UD)
                elif op == 0x120:
                    c.regs[d.rm] = c.cr[d.reg]
                else:
                    t = c.regs[d.rm]
                    if d.reg == 0 and (t & 1):
                        # Protected mode is the next issue: stop clearly.
                        stop_run(c, d, left, EXIT_UNIMPLEMENTED, 0)
                    else:
                        if d.reg == 0:
                            t |= 0x10   # ET: 387-style coprocessor interface
                        c.cr[d.reg] = t
            elif op == 0x121 or op == 0x123:    # MOV r32, DRn / MOV DRn, r32
                modrm(c, d)
                if op == 0x121:
                    c.regs[d.rm] = c.dr[d.reg]
                else:
                    c.dr[d.reg] = c.regs[d.rm]
            elif (op == 0x180 or op == 0x181 or op == 0x182 or op == 0x183 or
                    op == 0x184 or op == 0x185 or op == 0x186 or op == 0x187 or
                    op == 0x188 or op == 0x189 or op == 0x18A or op == 0x18B or
                    op == 0x18C or op == 0x18D or op == 0x18E or op == 0x18F):
                t = fetch32(d) if o32 else sx16(fetch16(d))
                if cond(c, op & 0xF):
                    jump_to(d, &eip, eip + insn_len(d) + t)
            elif (op == 0x190 or op == 0x191 or op == 0x192 or op == 0x193 or
                    op == 0x194 or op == 0x195 or op == 0x196 or op == 0x197 or
                    op == 0x198 or op == 0x199 or op == 0x19A or op == 0x19B or
                    op == 0x19C or op == 0x19D or op == 0x19E or op == 0x19F):
                modrm(c, d)
                rm8_write(c, d, cond(c, op & 0xF))
            elif op == 0x1A0 or op == 0x1A8:
                pushv(c, c.seg[S_FS if op == 0x1A0 else S_GS].sel, o32)
            elif op == 0x1A1 or op == 0x1A9:
                load_seg_real(c, S_FS if op == 0x1A1 else S_GS, popv(c, o32))
            elif op == 0x1A2:           # CPUID: a 486DX4-like part, no FPU
                if c.regs[R_EAX] == 0:
                    c.regs[R_EAX] = 1
                    c.regs[R_EBX] = 0x756E6547     # "GenuineIntel"
                    c.regs[R_EDX] = 0x49656E69
                    c.regs[R_ECX] = 0x6C65746E
                elif c.regs[R_EAX] == 1:
                    c.regs[R_EAX] = 0x0480
                    c.regs[R_EBX] = 0
                    c.regs[R_ECX] = 0
                    c.regs[R_EDX] = 0
                else:
                    c.regs[R_EAX] = 0
                    c.regs[R_EBX] = 0
                    c.regs[R_ECX] = 0
                    c.regs[R_EDX] = 0
            elif op == 0x1A3 or op == 0x1AB or op == 0x1B3 or op == 0x1BB:
                # BT/BTS/BTR/BTC r/m, r: a memory operand is addressed by the
                # signed bit offset, not just the low bits.
                modrm(c, d)
                v = get_rv(c, d.reg, o32)
                n = (op >> 3) & 3
                if d.mod == 3:
                    t = get_rv(c, d.rm, o32)
                    w = bt_op(c, n, t, v & (31 if o32 else 15))
                    if n:
                        set_rv(c, d.rm, w, o32)
                else:
                    if o32:
                        adj = (<int64_t><int32_t>v >> 5) * 4
                        v &= 31
                    else:
                        adj = (<int64_t><int16_t>v >> 4) * 2
                        v &= 15
                    d.off = (d.off + <uint32_t>adj) & d.amask
                    t = rdv(c, d.seg, d.off, o32, d.amask)
                    w = bt_op(c, n, t, v)
                    if n:
                        wrv(c, d.seg, d.off, w, o32, d.amask)
            elif op == 0x1BA:
                modrm(c, d)
                if d.reg < 4:
                    raise_fault(c, d, eip, left, VEC_UD)
                else:
                    t = rmv_read(c, d, o32)
                    v = fetch8(d) & (31 if o32 else 15)
                    w = bt_op(c, d.reg - 4, t, v)
                    if d.reg != 4:
                        rmv_write(c, d, w, o32)
            elif op == 0x1A4 or op == 0x1A5 or op == 0x1AC or op == 0x1AD:
                modrm(c, d)
                t = rmv_read(c, d, o32)
                n = fetch8(d) if (op & 1) == 0 else (c.regs[R_ECX] & 0xFF)
                rmv_write(c, d, shiftd_op(c, op < 0x1A8, t, get_rv(c, d.reg, o32), n,
                                           32 if o32 else 16), o32)
            elif op == 0x1AF:
                modrm(c, d)
                set_rv(c, d.reg, imul_trunc(c, get_rv(c, d.reg, o32), rmv_read(c, d, o32), o32), o32)
            elif op == 0x1B0:           # CMPXCHG r/m8, r8
                modrm(c, d)
                t = rm8_read(c, d)
                alu(c, 7, c.regs[R_EAX] & 0xFF, t, 0x80)
                if c.lf_res == 0:
                    rm8_write(c, d, get_r8(c, d.reg))
                else:
                    rm8_write(c, d, t)
                    set_r8(c, 0, t)
            elif op == 0x1B1:
                modrm(c, d)
                t = rmv_read(c, d, o32)
                alu(c, 7, get_rv(c, R_EAX, o32), t, vmsb(o32))
                if c.lf_res == 0:
                    rmv_write(c, d, get_rv(c, d.reg, o32), o32)
                else:
                    rmv_write(c, d, t, o32)
                    set_rv(c, R_EAX, t, o32)
            elif op == 0x1B2 or op == 0x1B4 or op == 0x1B5:   # LSS, LFS, LGS
                modrm(c, d)
                if d.mod == 3:
                    raise_fault(c, d, eip, left, VEC_UD)
                else:
                    t = mem_rdv_at(c, d, 0, o32)
                    sel = mem_rd16_at(c, d, 4 if o32 else 2)
                    set_rv(c, d.reg, t, o32)
                    load_seg_real(c, S_SS if op == 0x1B2 else (S_FS if op == 0x1B4 else S_GS), sel)
            elif op == 0x1B6:
                modrm(c, d)
                set_rv(c, d.reg, rm8_read(c, d), o32)
            elif op == 0x1B7:
                modrm(c, d)
                set_rv(c, d.reg, rm16_read(c, d), o32)
            elif op == 0x1BE:
                modrm(c, d)
                set_rv(c, d.reg, sx8(rm8_read(c, d)), o32)
            elif op == 0x1BF:
                modrm(c, d)
                set_rv(c, d.reg, sx16(rm16_read(c, d)), o32)
            elif op == 0x1BC or op == 0x1BD:
                modrm(c, d)
                if bs_op(c, op == 0x1BD, rmv_read(c, d, o32), &t):
                    set_rv(c, d.reg, t, o32)
            elif op == 0x1C0:           # XADD r/m8, r8
                modrm(c, d)
                t = rm8_read(c, d)
                u = alu(c, 0, t, get_r8(c, d.reg), 0x80)
                set_r8(c, d.reg, t)
                rm8_write(c, d, u)
            elif op == 0x1C1:
                modrm(c, d)
                t = rmv_read(c, d, o32)
                u = alu(c, 0, t, get_rv(c, d.reg, o32), vmsb(o32))
                set_rv(c, d.reg, t, o32)
                rmv_write(c, d, u, o32)
            elif (op == 0x1C8 or op == 0x1C9 or op == 0x1CA or op == 0x1CB or
                    op == 0x1CC or op == 0x1CD or op == 0x1CE or op == 0x1CF):
                if o32:
                    c.regs[op & 7] = __builtin_bswap32(c.regs[op & 7])
                else:       # undefined for 16 bits; 486 parts clear the word
                    set_r16(c, op & 7, 0)
            else:       # UD2 (0F 0B) and the unassigned rest
                raise_fault(c, d, eip, left, VEC_UD)
    elif op == 0x27:
        op_daa_das(c, 0)
    elif op == 0x2F:
        op_daa_das(c, 1)
    elif op == 0x37:
        op_aaa(c)
    elif op == 0x3F:
        op_aas(c)

    # ---- INC/DEC/PUSH/POP register ---------------------------------
    elif (op == 0x40 or op == 0x41 or op == 0x42 or op == 0x43 or
            op == 0x44 or op == 0x45 or op == 0x46 or op == 0x47):
        set_rv(c, op & 7, alu_inc(c, get_rv(c, op & 7, o32), vmsb(o32)), o32)
    elif (op == 0x48 or op == 0x49 or op == 0x4A or op == 0x4B or
            op == 0x4C or op == 0x4D or op == 0x4E or op == 0x4F):
        set_rv(c, op & 7, alu_dec(c, get_rv(c, op & 7, o32), vmsb(o32)), o32)
    elif (op == 0x50 or op == 0x51 or op == 0x52 or op == 0x53 or
            op == 0x55 or op == 0x56 or op == 0x57):
        pushv(c, c.regs[op & 7], o32)
    elif op == 0x54:
        if c.model == MODEL_8086:    # the 8086 pushes the decremented SP
            push16(c, (c.regs[R_ESP] - 2) & 0xFFFF)
        else:
            pushv(c, c.regs[R_ESP], o32)
    elif (op == 0x58 or op == 0x59 or op == 0x5A or op == 0x5B or
            op == 0x5C or op == 0x5D or op == 0x5E or op == 0x5F):
        set_rv(c, op & 7, popv(c, o32), o32)

    # ---- 0x60-0x6F: 80186 instructions (Jcc aliases on the 8086) ----
    elif (op == 0x60 or op == 0x61 or op == 0x62 or op == 0x63 or
            op == 0x64 or op == 0x65 or op == 0x66 or op == 0x67 or
            op == 0x68 or op == 0x69 or op == 0x6A or op == 0x6B or
            op == 0x6C or op == 0x6D or op == 0x6E or op == 0x6F):
        if c.model == MODEL_8086:
            t = sx8(fetch8(d))
            if cond(c, op & 0xF):
                jump_to(d, &eip, eip + insn_len(d) + t)
        elif op == 0x60:
            op_pusha(c, o32)
        elif op == 0x61:
            op_popa(c, o32)
        elif op == 0x62:    # BOUND
            modrm(c, d)
            if d.mod == 3:
                raise_fault(c, d, eip, left, VEC_UD)
            else:
                v = get_rv(c, d.reg, o32)
                t = mem_rdv_at(c, d, 0, o32)
                u = mem_rdv_at(c, d, 4 if o32 else 2, o32)
                if o32:
                    if <int32_t>v < <int32_t>t or <int32_t>v > <int32_t>u:
                        raise_fault(c, d, eip, left, VEC_BR)
                elif <int16_t>v < <int16_t>t or <int16_t>v > <int16_t>u:
                    raise_fault(c, d, eip, left, VEC_BR)
        elif op == 0x63:    # ARPL: protected mode only
            raise_fault(c, d, eip, left, VEC_UD)
        elif op == 0x68:
            pushv(c, fetchv(d, o32), o32)
        elif op == 0x6A:
            pushv(c, sx8(fetch8(d)), o32)
        elif op == 0x69:
            modrm(c, d)
            t = rmv_read(c, d, o32)
            set_rv(c, d.reg, imul_trunc(c, t, fetchv(d, o32), o32), o32)
        elif op == 0x6B:
            modrm(c, d)
            t = rmv_read(c, d, o32)
            set_rv(c, d.reg, imul_trunc(c, t, sx8(fetch8(d)), o32), o32)
        elif op == 0x6C:
            string_io(c, d, left, 0, 1)
        elif op == 0x6D:
            string_io(c, d, left, 0, 4 if o32 else 2)
        elif op == 0x6E:
            string_io(c, d, left, 1, 1)
        else:
            string_io(c, d, left, 1, 4 if o32 else 2)

    # ---- Jcc rel8 ---------------------------------------------------
    # Jcc rel8: one case per condition, so that cond() folds to one test
    elif op == 0x70:
        jcc_short(c, d, &eip, 0)
    elif op == 0x71:
        jcc_short(c, d, &eip, 1)
    elif op == 0x72:
        jcc_short(c, d, &eip, 2)
    elif op == 0x73:
        jcc_short(c, d, &eip, 3)
    elif op == 0x74:
        jcc_short(c, d, &eip, 4)
    elif op == 0x75:
        jcc_short(c, d, &eip, 5)
    elif op == 0x76:
        jcc_short(c, d, &eip, 6)
    elif op == 0x77:
        jcc_short(c, d, &eip, 7)
    elif op == 0x78:
        jcc_short(c, d, &eip, 8)
    elif op == 0x79:
        jcc_short(c, d, &eip, 9)
    elif op == 0x7A:
        jcc_short(c, d, &eip, 10)
    elif op == 0x7B:
        jcc_short(c, d, &eip, 11)
    elif op == 0x7C:
        jcc_short(c, d, &eip, 12)
    elif op == 0x7D:
        jcc_short(c, d, &eip, 13)
    elif op == 0x7E:
        jcc_short(c, d, &eip, 14)
    elif op == 0x7F:
        jcc_short(c, d, &eip, 15)

    # ---- group 1, TEST, XCHG, MOV ----------------------------------
    elif op == 0x80 or op == 0x82:
        modrm(c, d)
        t = rm8_read(c, d)
        t = alu(c, d.reg, t, fetch8(d), 0x80)
        if d.reg != 7:
            rm8_write(c, d, t)
    elif op == 0x81 or op == 0x83:
        modrm(c, d)
        t = rmv_read(c, d, o32)
        if op == 0x81:
            v = fetchv(d, o32)
        else:
            v = sx8(fetch8(d)) & vmask(o32)
        t = alu(c, d.reg, t, v, vmsb(o32))
        if d.reg != 7:
            rmv_write(c, d, t, o32)
    elif op == 0x84:
        modrm(c, d)
        alu(c, 4, rm8_read(c, d), get_r8(c, d.reg), 0x80)
    elif op == 0x85:
        modrm(c, d)
        alu(c, 4, rmv_read(c, d, o32), get_rv(c, d.reg, o32), vmsb(o32))
    elif op == 0x86:
        modrm(c, d)
        t = rm8_read(c, d)
        rm8_write(c, d, get_r8(c, d.reg))
        set_r8(c, d.reg, t)
    elif op == 0x87:
        modrm(c, d)
        t = rmv_read(c, d, o32)
        rmv_write(c, d, get_rv(c, d.reg, o32), o32)
        set_rv(c, d.reg, t, o32)
    elif op == 0x88:
        modrm(c, d)
        rm8_write(c, d, get_r8(c, d.reg))
    elif op == 0x89:
        modrm(c, d)
        rmv_write(c, d, get_rv(c, d.reg, o32), o32)
    elif op == 0x8A:
        modrm(c, d)
        set_r8(c, d.reg, rm8_read(c, d))
    elif op == 0x8B:
        modrm(c, d)
        set_rv(c, d.reg, rmv_read(c, d, o32), o32)
    elif op == 0x8C:        # MOV r/m, Sreg
        modrm(c, d)
        s = d.reg
        if c.model == MODEL_8086:
            s &= 3
        if s > 5:
            raise_fault(c, d, eip, left, VEC_UD)
        elif d.mod == 3:
            set_rv(c, d.rm, c.seg[s].sel, o32)
        else:
            wr16(c, d.seg, d.off, c.seg[s].sel, d.amask)
    elif op == 0x8D:        # LEA
        modrm(c, d)
        if d.mod == 3:
            if c.model != MODEL_8086:
                raise_fault(c, d, eip, left, VEC_UD)
        else:
            set_rv(c, d.reg, d.off, o32)
    elif op == 0x8E:        # MOV Sreg, r/m
        modrm(c, d)
        s = d.reg
        if c.model == MODEL_8086:
            s &= 3
        if s > 5 or (s == S_CS and c.model != MODEL_8086):
            raise_fault(c, d, eip, left, VEC_UD)
        else:
            load_seg_real(c, s, rm16_read(c, d))
            if s == S_SS:
                c.shadow = 1
            if s == S_CS:
                jump_to(d, &eip, eip + insn_len(d))
    elif op == 0x8F:        # POP r/m: the address uses the popped SP
        t = popv(c, o32)
        modrm(c, d)
        rmv_write(c, d, t, o32)

    # ---- 0x90-0x9F ---------------------------------------------------
    elif op == 0x90:
        pass
    elif (op == 0x91 or op == 0x92 or op == 0x93 or op == 0x94 or
            op == 0x95 or op == 0x96 or op == 0x97):
        t = get_rv(c, op & 7, o32)
        set_rv(c, op & 7, get_rv(c, R_EAX, o32), o32)
        set_rv(c, R_EAX, t, o32)
    elif op == 0x98:
        if o32:
            c.regs[R_EAX] = sx16(c.regs[R_EAX])
        else:
            set_r16(c, R_EAX, sx8(c.regs[R_EAX]))
    elif op == 0x99:
        if o32:
            c.regs[R_EDX] = 0xFFFFFFFFu if (c.regs[R_EAX] & 0x80000000u) else 0
        else:
            set_r16(c, R_EDX, 0xFFFF if (c.regs[R_EAX] & 0x8000) else 0)
    elif op == 0x9A:        # CALL ptr16:16/32
        t = fetchv(d, o32)
        sel = fetch16(d)
        pushv(c, c.seg[S_CS].sel, o32)
        pushv(c, eip + insn_len(d), o32)
        load_seg_real(c, S_CS, sel)
        jump_to(d, &eip, t)
    elif op == 0x9B:        # WAIT: no FPU, nothing to wait for
        pass
    elif op == 0x9C:
        if o32:
            push32(c, get_eflags(c) & 0x00FCFFFF)
        else:
            push16(c, flags_image(c) & 0xFFFF)
    elif op == 0x9D:
        if o32:
            write_flags(c, pop32(c), c.flags_writable32)
        else:
            write_flags(c, pop16(c), c.flags_writable16)
        if (c.flags & F_IF) and devs(c).pic.intr:
            stop_run(c, d, left, STOP_EVENTS, 1)
    elif op == 0x9E:        # SAHF
        set_flags_masked(c, F_SF | F_ZF | F_AF | F_PF | F_CF, (c.regs[R_EAX] >> 8) & 0xFF)
    elif op == 0x9F:        # LAHF
        set_r8(c, 4, (get_eflags(c) & 0xD5) | 2)

    # ---- 0xA0-0xAF: moffs, strings, TEST ---------------------------
    elif op == 0xA0:
        t = fetch32(d) if d.a32 else fetch16(d)
        set_r8(c, 0, rd8(c, seg_of(d), t))
    elif op == 0xA1:
        t = fetch32(d) if d.a32 else fetch16(d)
        set_rv(c, R_EAX, rdv(c, seg_of(d), t, o32, d.amask), o32)
    elif op == 0xA2:
        t = fetch32(d) if d.a32 else fetch16(d)
        wr8(c, seg_of(d), t, c.regs[R_EAX] & 0xFF)
    elif op == 0xA3:
        t = fetch32(d) if d.a32 else fetch16(d)
        wrv(c, seg_of(d), t, c.regs[R_EAX], o32, d.amask)
    elif op == 0xA4:
        if d.rep:
            op_string(c, STR_MOVS, 1, d.amask, d.ovr, d.rep)
        else:
            string_once(c, d, STR_MOVS, 1)
    elif op == 0xA5:
        if d.rep:
            op_string(c, STR_MOVS, 4 if o32 else 2, d.amask, d.ovr, d.rep)
        else:
            string_once(c, d, STR_MOVS, 4 if o32 else 2)
    elif op == 0xA6:
        op_string(c, STR_CMPS, 1, d.amask, d.ovr, d.rep)
    elif op == 0xA7:
        op_string(c, STR_CMPS, 4 if o32 else 2, d.amask, d.ovr, d.rep)
    elif op == 0xA8:
        alu(c, 4, c.regs[R_EAX] & 0xFF, fetch8(d), 0x80)
    elif op == 0xA9:
        v = fetchv(d, o32)
        alu(c, 4, get_rv(c, R_EAX, o32), v, vmsb(o32))
    elif op == 0xAA:
        if d.rep:
            op_string(c, STR_STOS, 1, d.amask, d.ovr, d.rep)
        else:
            string_once(c, d, STR_STOS, 1)
    elif op == 0xAB:
        if d.rep:
            op_string(c, STR_STOS, 4 if o32 else 2, d.amask, d.ovr, d.rep)
        else:
            string_once(c, d, STR_STOS, 4 if o32 else 2)
    elif op == 0xAC:
        if d.rep:
            op_string(c, STR_LODS, 1, d.amask, d.ovr, d.rep)
        else:
            string_once(c, d, STR_LODS, 1)
    elif op == 0xAD:
        if d.rep:
            op_string(c, STR_LODS, 4 if o32 else 2, d.amask, d.ovr, d.rep)
        else:
            string_once(c, d, STR_LODS, 4 if o32 else 2)
    elif op == 0xAE:
        op_string(c, STR_SCAS, 1, d.amask, d.ovr, d.rep)
    elif op == 0xAF:
        op_string(c, STR_SCAS, 4 if o32 else 2, d.amask, d.ovr, d.rep)

    # ---- MOV immediate -----------------------------------------------
    elif (op == 0xB0 or op == 0xB1 or op == 0xB2 or op == 0xB3 or
            op == 0xB4 or op == 0xB5 or op == 0xB6 or op == 0xB7):
        set_r8(c, op & 7, fetch8(d))
    elif (op == 0xB8 or op == 0xB9 or op == 0xBA or op == 0xBB or
            op == 0xBC or op == 0xBD or op == 0xBE or op == 0xBF):
        set_rv(c, op & 7, fetchv(d, o32), o32)

    # ---- 0xC0-0xCF ----------------------------------------------------
    elif op == 0xC0 or op == 0xC1:
        if c.model == MODEL_8086:       # aliases of RET imm16 / RET
            t = fetch16(d) if op == 0xC0 else 0
            u = pop16(c)
            set_sp(c, c.regs[R_ESP] + t, sp_mask(c))
            jump_to(d, &eip, u)
        else:
            modrm(c, d)
            if op == 0xC0:
                t = rm8_read(c, d)
                rm8_write(c, d, shift_op(c, d.reg, t, fetch8(d), 8))
            else:
                t = rmv_read(c, d, o32)
                rmv_write(c, d, shift_op(c, d.reg, t, fetch8(d), 32 if o32 else 16), o32)
    elif op == 0xC2 or op == 0xC3:
        t = fetch16(d) if op == 0xC2 else 0
        u = popv(c, o32)
        set_sp(c, c.regs[R_ESP] + t, sp_mask(c))
        jump_to(d, &eip, u)
    elif op == 0xC4 or op == 0xC5:     # LES, LDS
        modrm(c, d)
        if d.mod == 3:
            if c.model != MODEL_8086:
                raise_fault(c, d, eip, left, VEC_UD)
        else:
            t = mem_rdv_at(c, d, 0, o32)
            sel = mem_rd16_at(c, d, 4 if o32 else 2)
            set_rv(c, d.reg, t, o32)
            load_seg_real(c, S_ES if op == 0xC4 else S_DS, sel)
    elif op == 0xC6:
        modrm(c, d)
        rm8_write(c, d, fetch8(d))
    elif op == 0xC7:
        modrm(c, d)
        rmv_write(c, d, fetchv(d, o32), o32)
    elif op == 0xC8 or op == 0xC9:
        if c.model == MODEL_8086:       # aliases of RETF imm16 / RETF
            t = fetch16(d) if op == 0xC8 else 0
            u = pop16(c)
            sel = pop16(c)
            set_sp(c, c.regs[R_ESP] + t, sp_mask(c))
            load_seg_real(c, S_CS, sel)
            jump_to(d, &eip, u)
        elif op == 0xC8:
            t = fetch16(d)
            op_enter(c, t, fetch8(d), o32)
        else:
            op_leave(c, o32)
    elif op == 0xCA or op == 0xCB:
        t = fetch16(d) if op == 0xCA else 0
        u = popv(c, o32)
        sel = popv(c, o32) & 0xFFFF
        set_sp(c, c.regs[R_ESP] + t, sp_mask(c))
        load_seg_real(c, S_CS, sel)
        jump_to(d, &eip, u)
    elif op == 0xCC or op == 0xCD or op == 0xCE:
        if op == 0xCC:
            t = VEC_BP
        elif op == 0xCD:
            t = fetch8(d)
        else:
            t = VEC_OF if get_of(c) else 0x100
        if t != 0x100:
            c.eip = eip
            if do_interrupt(c, t, eip + insn_len(d)):
                stop_run(c, d, left, EXIT_TRIPLE_FAULT, 0)
            else:
                jump_to(d, &eip, c.eip)
    elif op == 0xCF:
        op_iret(c, o32)
        jump_to(d, &eip, c.eip)
        if (c.flags & F_IF) and devs(c).pic.intr:
            stop_run(c, d, left, STOP_EVENTS, 1)

    # ---- shifts, BCD, XLAT, ESC ----------------------------------------
    elif op == 0xD0 or op == 0xD2:
        modrm(c, d)
        t = rm8_read(c, d)
        rm8_write(c, d, shift_op(c, d.reg, t, 1 if op == 0xD0 else c.regs[R_ECX] & 0xFF, 8))
    elif op == 0xD1 or op == 0xD3:
        modrm(c, d)
        t = rmv_read(c, d, o32)
        rmv_write(c, d, shift_op(c, d.reg, t, 1 if op == 0xD1 else c.regs[R_ECX] & 0xFF,
                                  32 if o32 else 16), o32)
    elif op == 0xD4:
        if op_aam(c, fetch8(d)):
            raise_fault(c, d, eip, left, VEC_DE)
    elif op == 0xD5:
        op_aad(c, fetch8(d))
    elif op == 0xD6:        # SALC (undocumented, present on all Intel parts)
        set_r8(c, 0, 0xFF if get_cf(c) else 0)
    elif op == 0xD7:        # XLAT
        t = (c.regs[R_EBX] + (c.regs[R_EAX] & 0xFF)) & d.amask
        set_r8(c, 0, rd8(c, seg_of(d), t))
    elif (op == 0xD8 or op == 0xD9 or op == 0xDA or op == 0xDB or
            op == 0xDC or op == 0xDD or op == 0xDE or op == 0xDF):
        # ESC: decoded, no coprocessor answers. With CR0.EM set the
        # 386 raises #NM (device not available).
        modrm(c, d)
        if c.model != MODEL_8086 and (c.cr[0] & 4):
            raise_fault(c, d, eip, left, 7)

    # ---- LOOP/JCXZ, I/O, CALL/JMP ---------------------------------------
    elif op == 0xE0 or op == 0xE1 or op == 0xE2:
        t = sx8(fetch8(d))
        u = (c.regs[R_ECX] - 1) & d.amask
        set_ra(c, R_ECX, u, d)
        if u != 0 and (op == 0xE2 or (op == 0xE1) == (get_zf(c) != 0)):
            jump_to(d, &eip, eip + insn_len(d) + t)
    elif op == 0xE3:
        t = sx8(fetch8(d))
        if (c.regs[R_ECX] & d.amask) == 0:
            jump_to(d, &eip, eip + insn_len(d) + t)
    elif op == 0xE4:
        set_r8(c, 0, io_in(c, d, left, fetch8(d), 1))
    elif op == 0xE5:
        set_rv(c, R_EAX, io_in(c, d, left, fetch8(d), 4 if o32 else 2), o32)
    elif op == 0xE6:
        io_out(c, d, left, fetch8(d), 1, c.regs[R_EAX] & 0xFF)
    elif op == 0xE7:
        io_out(c, d, left, fetch8(d), 4 if o32 else 2, get_rv(c, R_EAX, o32))
    elif op == 0xEC:
        set_r8(c, 0, io_in(c, d, left, c.regs[R_EDX] & 0xFFFF, 1))
    elif op == 0xED:
        set_rv(c, R_EAX, io_in(c, d, left, c.regs[R_EDX] & 0xFFFF, 4 if o32 else 2), o32)
    elif op == 0xEE:
        io_out(c, d, left, c.regs[R_EDX] & 0xFFFF, 1, c.regs[R_EAX] & 0xFF)
    elif op == 0xEF:
        io_out(c, d, left, c.regs[R_EDX] & 0xFFFF, 4 if o32 else 2, get_rv(c, R_EAX, o32))
    elif op == 0xE8:
        t = fetchv(d, o32)
        u = eip + insn_len(d)
        pushv(c, u, o32)
        jump_to(d, &eip, u + t)
    elif op == 0xE9:
        t = fetchv(d, o32)
        jump_to(d, &eip, eip + insn_len(d) + t)
    elif op == 0xEA:
        t = fetchv(d, o32)
        sel = fetch16(d)
        load_seg_real(c, S_CS, sel)
        jump_to(d, &eip, t)
    elif op == 0xEB:
        t = sx8(fetch8(d))
        jump_to(d, &eip, eip + insn_len(d) + t)

    # ---- 0xF0-0xFF -----------------------------------------------------
    elif op == 0xF1:        # INT1 / ICEBP (386); LOCK on the 8086
        c.eip = eip
        if do_interrupt(c, VEC_DB, eip + insn_len(d)):
            stop_run(c, d, left, EXIT_TRIPLE_FAULT, 0)
        else:
            jump_to(d, &eip, c.eip)
    elif op == 0xF4:        # HLT
        c.halted = 1     # the loop's event check decides: wait or exit
        stop_run(c, d, left, STOP_EVENTS, 1)
    elif op == 0xF5:
        set_cf(c, get_cf(c) ^ 1)
    elif op == 0xF6:
        modrm(c, d)
        t = rm8_read(c, d)
        if d.reg == 0 or d.reg == 1:
            alu(c, 4, t, fetch8(d), 0x80)
        elif d.reg == 2:
            rm8_write(c, d, ~t)
        elif d.reg == 3:
            rm8_write(c, d, alu_neg(c, t, 0x80))
        elif d.reg == 4 or d.reg == 5:
            mul8(c, t, d.reg == 5, c.model == MODEL_8086 and d.rep != 0)
        elif div8(c, t, d.reg == 7, c.model == MODEL_8086 and d.rep != 0):
            raise_fault(c, d, eip, left, VEC_DE)
    elif op == 0xF7:
        modrm(c, d)
        t = rmv_read(c, d, o32)
        if d.reg == 0 or d.reg == 1:
            alu(c, 4, t, fetchv(d, o32), vmsb(o32))
        elif d.reg == 2:
            rmv_write(c, d, ~t, o32)
        elif d.reg == 3:
            rmv_write(c, d, alu_neg(c, t, vmsb(o32)), o32)
        elif d.reg == 4 or d.reg == 5:
            if o32:
                mul32(c, t, d.reg == 5)
            else:
                mul16(c, t, d.reg == 5, c.model == MODEL_8086 and d.rep != 0)
        elif o32:
            if div32(c, t, d.reg == 7):
                raise_fault(c, d, eip, left, VEC_DE)
        elif div16(c, t, d.reg == 7, c.model == MODEL_8086 and d.rep != 0):
            raise_fault(c, d, eip, left, VEC_DE)
    elif op == 0xF8:
        set_cf(c, 0)
    elif op == 0xF9:
        set_cf(c, 1)
    elif op == 0xFA:
        c.flags &= ~(<uint32_t>F_IF)
    elif op == 0xFB:
        if not (c.flags & F_IF):
            c.flags |= F_IF
            c.shadow = 1        # interrupts are recognised after the next insn
            if devs(c).pic.intr:
                stop_run(c, d, left, STOP_EVENTS, 1)
    elif op == 0xFC:
        c.flags &= ~(<uint32_t>F_DF)
    elif op == 0xFD:
        c.flags |= F_DF
    elif op == 0xFE:
        modrm(c, d)
        if d.reg == 0:
            rm8_write(c, d, alu_inc(c, rm8_read(c, d), 0x80))
        elif d.reg == 1:
            rm8_write(c, d, alu_dec(c, rm8_read(c, d), 0x80))
        else:
            raise_fault(c, d, eip, left, VEC_UD)
    elif op == 0xFF:
        modrm(c, d)
        if d.reg == 0:
            rmv_write(c, d, alu_inc(c, rmv_read(c, d, o32), vmsb(o32)), o32)
        elif d.reg == 1:
            rmv_write(c, d, alu_dec(c, rmv_read(c, d, o32), vmsb(o32)), o32)
        elif d.reg == 2:
            t = rmv_read(c, d, o32)
            pushv(c, eip + insn_len(d), o32)
            jump_to(d, &eip, t)
        elif d.reg == 4:
            jump_to(d, &eip, rmv_read(c, d, o32))
        elif d.reg == 3 or d.reg == 5:
            if d.mod == 3:
                raise_fault(c, d, eip, left, VEC_UD)
            else:
                t = mem_rdv_at(c, d, 0, o32)
                sel = mem_rd16_at(c, d, 4 if o32 else 2)
                if d.reg == 3:
                    pushv(c, c.seg[S_CS].sel, o32)
                    pushv(c, eip + insn_len(d), o32)
                load_seg_real(c, S_CS, sel)
                jump_to(d, &eip, t)
        elif d.reg == 6 or c.model == MODEL_8086:
            if c.model == MODEL_8086 and d.mod == 3 and d.rm == R_ESP:
                push16(c, (c.regs[R_ESP] - 2) & 0xFFFF)
            else:
                pushv(c, rmv_read(c, d, o32), o32)
        else:
            raise_fault(c, d, eip, left, VEC_UD)

    else:
        raise_fault(c, d, eip, left, VEC_UD)
    eip_p[0] = eip


# Instructions with prefixes (segment overrides, REP, operand and address
# size) are rare enough in real-mode code to run out of line, in two more
# copies of the switch (16- and 32-bit operands), which keeps the unprefixed
# loop small enough for gcc to hold its state in registers.
cdef void execute_prefixed(CpuState* c, Insn* d, uint32_t op, uint32_t* eip,
                           uint64_t* left) noexcept nogil:
    cdef int k = c.prefixes[op]
    while k:
        if k < PX_OPSIZE:
            d.ovr = k - PX_SEG
        elif k == PX_OPSIZE:
            d.o32 = 1
        elif k == PX_ADDRSIZE:
            d.a32 = 1
            d.amask = 0xFFFFFFFF
        elif k != PX_LOCK:
            d.rep = k
        op = d.p[0]
        d.p += 1
        k = c.prefixes[op]
    if d.o32:
        execute(c, d, op, 1, eip, left)
    else:
        execute(c, d, op, 0, eip, left)

cdef int cpu_run_loop(CpuState* c, uint64_t budget) noexcept nogil:
    cdef Insn d
    cdef uint64_t left = 0, remaining = budget, chunk, executed, now, next_ev, skip
    cdef uint64_t left_tmp
    cdef uint32_t eip_tmp
    cdef Insn dp
    cdef uint32_t op, eip, t
    cdef int reason = 0, vec
    cdef uint32_t ipmask = c.ipmask
    cdef Devices* dv = devs(c)
    eip = c.eip
    d.o32 = 0
    d.a32 = 0
    d.amask = 0xFFFF
    d.ovr = -1
    d.rep = 0
    while True:
        # ---- an instruction boundary with time to look around -------------
        # Devices catch up with virtual time, a pending interrupt is taken,
        # a halted CPU sleeps until the next event, and the next chunk of
        # instructions runs up to the earliest device deadline.
        c.eip = eip
        now = time_at(c, c.icount)
        devices_advance(c, now)
        if c.shadow and not c.halted:
            # STI/MOV SS: one more instruction before interrupts. (The flag
            # can be stale, set by an STI long ago: that only delays an
            # interrupt by one instruction; a HLT since then ends it.)
            c.shadow = 0
            chunk = 1
        else:
            c.shadow = 0
            if c.nmi_pending and not dv.rtc.nmi_masked:
                # NMI: vector 2, whatever IF says; it wakes a halted CPU.
                c.nmi_pending = 0
                c.halted = 0
                if do_interrupt(c, 2, eip):
                    reason = EXIT_TRIPLE_FAULT
                    break
                eip = c.eip
            if (c.flags & F_IF) and dv.pic.intr:
                vec = pic_ack(&dv.pic)
                c.halted = 0
                if do_interrupt(c, vec, eip):
                    reason = EXIT_TRIPLE_FAULT
                    break
                eip = c.eip
            if now >= c.py_deadline:
                reason = EXIT_TIMER
                break
            next_ev = devices_next_event(c, now)
            if c.halted:
                if c.nmi_pending or not (c.flags & F_IF) or next_ev == 0xFFFFFFFFFFFFFFFFULL:
                    reason = EXIT_HLT       # nothing in the machine can wake it
                    break
                if remaining == 0:
                    reason = EXIT_BUDGET
                    break
                if next_ev <= now:
                    next_ev = now + 1
                # Skip the idle time; it counts against the budget (as the
                # instructions a busy CPU would have run) so a run always ends.
                skip = insns_until(c, next_ev)
                c.idle_ns += next_ev - now
                remaining = remaining - skip if skip < remaining else 0
                continue
            chunk = remaining
            if next_ev != 0xFFFFFFFFFFFFFFFFULL:
                chunk = insns_until(c, next_ev)
        if remaining == 0:
            reason = EXIT_BUDGET
            break
        if chunk > remaining:
            chunk = remaining
        c.chunk_len = chunk
        c.stop_reason = 0
        left = chunk

        while left:
            left -= 1
            t = eip - c.win_lo
            if t < c.win_len:
                d.p = c.win_host + t
            else:
                d.p = fetch_slow(c, eip)
            d.start = d.p
            op = d.p[0]
            d.p += 1
            if c.prefixes[op] == 0:
                # No prefix: d's prefix fields keep the defaults set before
                # the loop, and gcc folds them into this copy of the switch.
                execute(c, &d, op, 0, &eip, &left)
            else:
                # Prefixed instructions decode into a copy (d must not
                # escape: it would live in memory for the whole loop).
                dp = d
                eip_tmp = eip
                left_tmp = left
                execute_prefixed(c, &dp, op, &eip_tmp, &left_tmp)
                d.p = dp.p
                d.start = dp.start
                eip = eip_tmp
                left = left_tmp
            eip = (eip + insn_len(&d)) & ipmask

        # The chunk ran out, or an instruction stopped it (see stop_run).
        reason = c.stop_reason
        if reason:
            left = c.stop_left
            c.stop_reason = 0
        executed = chunk - left
        c.icount += executed
        remaining -= executed
        if reason == 0 or reason == STOP_EVENTS:
            continue
        if reason != STOP_FAULT:
            break
        if c.fault_vec == VEC_UD and c.ud_exit:
            c.icount -= 1           # not retired
            reason = EXIT_INVALID_OPCODE
            break
        # Faults return to the faulting instruction on the 386; the 8086's
        # divide error returns past it.
        t = eip
        if c.fault_vec == VEC_DE and c.model == MODEL_8086:
            t = c.fault_next
        c.eip = eip
        if do_interrupt(c, c.fault_vec, t & ipmask):
            reason = EXIT_TRIPLE_FAULT
            break
        eip = c.eip

    c.eip = eip
    c.exit_reason = reason
    c.exit_cs = c.seg[S_CS].sel
    c.exit_eip = c.eip
    return reason


cdef int cpu_run(CpuState* c, uint64_t budget) noexcept nogil:
    # Breakpoints are checked between single-instruction runs, so the hot
    # loop carries no test for them. A run resumes over a breakpoint at
    # its first instruction.
    cdef uint64_t done = 0
    cdef uint32_t i, lin
    cdef int r
    if not (c.events & EV_BREAKPOINTS):
        return cpu_run_loop(c, budget)
    while done < budget:
        if done:
            lin = c.seg[S_CS].base + c.eip
            for i in range(c.nbp):
                if c.bp[i] == lin:
                    c.exit_reason = EXIT_BREAKPOINT
                    c.exit_cs = c.seg[S_CS].sel
                    c.exit_eip = c.eip
                    return EXIT_BREAKPOINT
        r = cpu_run_loop(c, 1)
        done += 1
        if r != EXIT_BUDGET:
            return r
    return EXIT_BUDGET
