# The debug registers (Intel SDM Vol. 3, 17.2-17.3): DR0-DR3 hold linear
# breakpoint addresses (or I/O ports), DR7 enables them (L0-L3/G0-G3), with
# a kind (R/W: 00 instruction, 01 data writes, 11 data reads and writes, 10
# I/O reads and writes with CR4.DE) and a length (1, 2, 4, or 8 bytes, the
# address aligned down to it); DR6 reports what hit (B0-B3, BS single-step,
# BD general detect). DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD).
# R/W = 10 without CR4.DE is undefined (SDM 17.2.4, the 386 and 486 had no
# I/O breakpoints): such a breakpoint does nothing, and setting CR4.DE
# later arms it.
#
# Nothing here costs a run whose DR7 enables nothing: dr_update keeps three
# bit masks, c.dr_exec, c.dr_data and c.dr_io, and only out-of-line paths
# test them. An IN/OUT through an in-kernel device tests c.io_slow, the
# flag it tested for io_timing before (bus.pxi); Python and unclaimed ports,
# the slower paths, test c.dr_io; INS/OUTS test it once per instruction.
# * Instruction breakpoints (a fault, 17.3.1.1): the direct-fetch window
#   (code_window, loop.pxi) never covers a breakpoint's address, so the
#   instruction there is fetched through fetch_slow, which checks it
#   before it runs: #DB with EIP on it, B<n> in DR6. RF (set by IRETD from
#   the handler's frame) suppresses it for one instruction: the run loop
#   steps that instruction alone and clears RF as it starts (rf_skip).
# * Data breakpoints (a trap, 17.3.1.2): the TLB gives a page holding one
#   no fast tag for the watched kind of access (tlb_miss, paging.pxi), so
#   those accesses take the slow paths of memory.pxi, which compare them
#   with the breakpoints once translated. A hit records B<n> and ends the
#   chunk after this instruction (c.insn_left = 0, the real count kept in
#   db_left), and the run loop delivers #DB with EIP past it, together with
#   BS when single-stepping. A REP string instruction stops after the
#   iteration that hit, EIP still on it, as on hardware.
# * I/O breakpoints (a trap, 17.3.1.2): IN/OUT (bus_read/bus_write) and
#   each element of INS/OUTS (string.pxi) compare the port bytes they
#   accessed with the breakpoints once an in-kernel device has taken the
#   access (before the 'io' exit for a Python device), and a
#   hit ends the chunk as a data breakpoint's does. A REP INS/OUTS stops
#   after the element that hit; for a port Python serves, the block of the
#   'io' exit is then that one element. The #DB frame is pushed before the
#   exit returns to Python, which then completes an IN: no guest
#   instruction runs in between.
# Data accesses by the processor itself (descriptor tables, the TSS, an
# interrupt's frame in protected mode) are not watched, nor the memory an
# INS block from a Python port fills (complete_io, outside the run loop);
# a data breakpoint on an OUTS block's source ends the block there.

cdef enum:
    DR6_BS = 0x4000
    DR6_BD = 0x2000
    DR6_FIXED = 0xFFFF0FF0      # reads as 1 (486 and later; QEMU)
    DR7_FIXED = 0x400
    DR7_GD = 0x2000
    CR4_DE = 0x8

cdef inline uint32_t dr_rw(uint32_t dr7, uint32_t i) noexcept nogil:
    return (dr7 >> (16 + 4 * i)) & 3

cdef inline uint32_t dr_len(uint32_t dr7, uint32_t i) noexcept nogil:
    cdef uint32_t n = (dr7 >> (18 + 4 * i)) & 3
    return 8 if n == 2 else n + 1

# DR7 (or DR0-DR3) changed: which breakpoints are enabled, of which kind.
# A change that involves an enabled breakpoint flushes the TLB (the data
# pages' tags) and with it the fetch window.
# (CR4.DE changes call it too: it arms the I/O ones.)
cdef void dr_update(CpuState* c) noexcept nogil:
    cdef uint32_t dr7 = c.dr[7], ex = 0, data = 0, io = 0, i, rw
    cdef uint32_t was = c.dr_exec | c.dr_data
    for i in range(4):
        if (dr7 >> (2 * i)) & 3:
            rw = dr_rw(dr7, i)
            if rw == 0:
                ex |= 1u << i
            elif rw != 2:
                data |= 1u << i
            elif c.cr[4] & CR4_DE:
                io |= 1u << i
    c.dr_exec = ex
    c.dr_data = data
    c.dr_io = io
    c.io_slow = (c.io_slow & 1) | (2 if io else 0)
    if was or ex or data:
        tlb_flush(c, 0)

# ---- MOV DRn ----------------------------------------------------------------------
cdef uint32_t dr_index(CpuState* c, uint32_t n) noexcept nogil:
    if n == 4 or n == 5:
        if c.cr[4] & CR4_DE:
            raise_exception(c, VEC_UD, 0)
        n += 2
    if c.dr[7] & DR7_GD:
        # general detect: #DB (a fault) before the access, GD cleared so
        # the handler can use the registers
        c.dr[6] |= DR6_BD
        c.dr[7] &= ~(<uint32_t>DR7_GD)
        raise_exception(c, VEC_DB, 0)
    return n

cdef uint32_t dr_read(CpuState* c, uint32_t n) noexcept nogil:
    return c.dr[dr_index(c, n)]

cdef void dr_write(CpuState* c, uint32_t n, uint32_t v) noexcept nogil:
    n = dr_index(c, n)
    if n == 6:
        v |= DR6_FIXED
    elif n == 7:
        v = (v | DR7_FIXED) & ~(<uint32_t>0x0000D800)  # bits 11, 12, 14, 15 read 0
    c.dr[n] = v
    if n != 6:
        dr_update(c)

# ---- instruction breakpoints ---------------------------------------------------------
# Before the instruction at CS:EIP runs (fetch_slow): a fault on a match.
cdef void dr_exec_check(CpuState* c, uint32_t eip) noexcept nogil:
    cdef uint32_t i, hits = 0, lin = c.seg[S_CS].base + eip
    if c.rf_skip:
        return
    for i in range(4):
        if (c.dr_exec >> i) & 1 and c.dr[i] == lin:
            hits |= 1u << i
    if hits:
        c.dr[6] = (c.dr[6] & ~(<uint32_t>0xF)) | hits
        raise_exception(c, VEC_DB, 0)

# The fetch window [lo, hi) (EIP values) around `eip` leaves out every
# instruction breakpoint, so that fetch_slow sees it.
cdef void dr_window_cut(CpuState* c, uint32_t eip, int64_t* lo, int64_t* hi) noexcept nogil:
    cdef uint32_t i
    cdef int64_t b
    for i in range(4):
        if (c.dr_exec >> i) & 1:
            b = <int64_t>(<uint32_t>(c.dr[i] - c.seg[S_CS].base))
            if lo[0] <= b < hi[0]:
                if b <= <int64_t>eip:
                    lo[0] = b + 1
                else:
                    hi[0] = b

# ---- data breakpoints ---------------------------------------------------------------
# The access kinds a TLB entry of linear page `page` must not grant a fast
# tag for (tlb_miss): 1 writes, 2 reads.
cdef uint32_t dr_page_kinds(CpuState* c, uint32_t page) noexcept nogil:
    cdef uint32_t i, k = 0, n
    for i in range(4):
        if (c.dr_data >> i) & 1:
            n = dr_len(c.dr[7], i)
            if (c.dr[i] & ~(n - 1) & 0xFFFFF000u) == page:
                k |= 1
                if dr_rw(c.dr[7], i) == 3:
                    k |= 2
    return k

# The breakpoints of `mask` that the `size` bytes at `a` overlap (each
# breakpoint's address aligned down to its length, 17.2.5).
cdef inline uint32_t dr_overlap(CpuState* c, uint32_t mask, uint32_t a, uint32_t size) noexcept nogil:
    cdef uint32_t i, n, lo, hits = 0
    for i in range(4):
        if (mask >> i) & 1:
            n = dr_len(c.dr[7], i)
            lo = c.dr[i] & ~(n - 1)
            if a - lo < n or lo - a < size:
                hits |= 1u << i
    return hits

# A translated access of `size` bytes at `lin` (the slow paths of
# memory.pxi; `write` also for the read of a read-modify-write operand).
cdef void dr_data_check(CpuState* c, uint32_t lin, uint32_t size, int write) noexcept nogil:
    cdef uint32_t i, mask = c.dr_data
    if not write:
        for i in range(4):
            if dr_rw(c.dr[7], i) != 3:
                mask &= ~(1u << i)
    dr_hit(c, dr_overlap(c, mask, lin, size))

# Breakpoints `hits` (data or I/O) were hit: record them and end the chunk
# after this instruction (or this REP iteration).
cdef void dr_hit(CpuState* c, uint32_t hits) noexcept nogil:
    if hits and c.in_chunk:
        c.db_hits |= hits
        if not c.db_stop:
            # end the chunk after this instruction (run_chunk adds db_left
            # back to the count it reports); chunk_len moves with the
            # count, so the instruction's serial number and the virtual
            # time (insn_serial, now_in_loop) stay as they were
            c.db_stop = 1
            c.db_left = c.insn_left
            c.chunk_len -= c.insn_left
            c.insn_left = 0

# An IN/OUT or an INS/OUTS element moved `size` bytes through `port`
# (only with c.dr_io set). Returns whether a breakpoint hit.
cdef int dr_io_check(CpuState* c, uint32_t port, uint32_t size) noexcept nogil:
    cdef uint32_t hits = dr_overlap(c, c.dr_io, port, size)
    dr_hit(c, hits)
    return hits != 0

# The #DB trap after an instruction (run_loop): the data breakpoints it
# hit and the single-step flag, in one exception.
cdef inline uint32_t dr_trap_bits(CpuState* c, uint32_t step) noexcept nogil:
    cdef uint32_t bits = c.db_hits
    c.db_hits = 0
    if bits:
        c.dr[6] = (c.dr[6] & ~(<uint32_t>0xF)) | bits
    if step & F_TF:
        c.dr[6] |= DR6_BS
    return bits | (step & F_TF)
