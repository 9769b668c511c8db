# Guest memory: physical accesses through the page-kind map, and
# segment:offset accesses with their limit checks (segment.pxi; the 8086
# wraps at 64 KiB instead).
#
# CpuState.ram_top is the end of the RAM that starts at address 0 with no
# hole: below it an access needs no page lookup (one compare).
#
# Fast paths read the RAM buffer directly; anything unusual (an offset
# past the segment's precomputed bound, page crossing, ROM, unmapped
# space) goes to an out-of-line slow path that checks the limit and then
# works bytewise.

cdef inline uint16_t ld16(const uint8_t* p) noexcept nogil:
    cdef uint16_t v
    memcpy(&v, p, 2)
    return v

cdef inline uint32_t ld32(const uint8_t* p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)
    return v

cdef inline void st16(uint8_t* p, uint32_t v) noexcept nogil:
    cdef uint16_t w = <uint16_t>v
    memcpy(p, &w, 2)

cdef inline void st32(uint8_t* p, uint32_t v) noexcept nogil:
    memcpy(p, &v, 4)

# Memory-mapped I/O for Python devices: the access calls the Cpu's MMIO
# handler synchronously (the run loop holds the GIL), which is the 'exit'
# to Python for memory; the handler routes it to the device and counts it.
cdef uint32_t mmio_access(CpuState* c, uint32_t phys, uint32_t size, int write,
                          uint32_t value) noexcept nogil:
    with gil:
        try:
            r = (<object>c.mmio_handler)(phys, size, write, value)
            return 0 if write else (<uint32_t>r & (0xFFFFFFFFu >> (32 - 8 * size)))
        except BaseException as exc:
            # Kept for the Python side, which raises it after the run.
            (<object>c.mmio_handler).error = exc
            return 0xFFFFFFFFu

cdef uint8_t phys_read8_slow(CpuState* c, uint32_t phys) noexcept nogil:
    cdef uint8_t kind = c.pagekind[phys >> 12]
    if kind == PG_RAM or kind == PG_ROM:
        return c.mem[phys]
    if kind == PG_MMIO:
        return <uint8_t>mmio_access(c, phys, 1, 0, 0)
    if kind == PG_ROM_ALIAS:
        return c.mem[phys - c.rom_alias_base + c.rom_alias_src]
    if kind == PG_WATCH:                # a watchpoint's page (debug.pxi)
        return watch_read8(c, phys)
    return 0xFF

cdef void phys_write8_slow(CpuState* c, uint32_t phys, uint32_t v) noexcept nogil:
    cdef uint8_t kind = c.pagekind[phys >> 12]
    if kind == PG_RAM:
        c.mem[phys] = <uint8_t>v
    elif kind == PG_MMIO:
        mmio_access(c, phys, 1, 1, v & 0xFF)
    elif kind == PG_WATCH:              # a watchpoint's page (debug.pxi)
        watch_write8(c, phys, v)

cdef inline uint32_t phys_rd8(CpuState* c, uint32_t phys) noexcept nogil:
    if phys < c.ram_top or c.pagekind[phys >> 12] <= PG_ROM:
        return c.mem[phys]
    return phys_read8_slow(c, phys)

cdef inline void phys_wr8(CpuState* c, uint32_t phys, uint32_t v) noexcept nogil:
    if phys < c.ram_top or c.pagekind[phys >> 12] == PG_RAM:
        c.mem[phys] = <uint8_t>v
    else:
        phys_write8_slow(c, phys, v)

# Linear to physical for a read at the current CPL: through the TLB
# (core/paging.pxi; the identity through the A20 mask with paging off).
# May raise #PF.
cdef inline uint32_t lin2phys(CpuState* c, uint32_t lin) noexcept nogil:
    return translate(c, lin, 0)

# The TLB entry of a linear address, and whether the `size` bytes at `lin`
# go straight to host memory: the tag of the access kind equals the page of
# the access's last byte (so an access crossing into the next page, whose
# entry sits at the next index, misses) with the CPL. One compare.
cdef inline TlbEntry* tlb_at(CpuState* c, uint32_t lin) noexcept nogil:
    # &c.tlb[(lin >> 12) & TLB_MASK] with the scaling by 32 bytes folded
    # into the shift (gcc does not: two host instructions per access)
    return <TlbEntry*>(<char*>c.tlb + ((lin >> (12 - TLB_ENTRY_SHIFT))
                                        & (TLB_MASK << TLB_ENTRY_SHIFT)))

cdef inline uint32_t tlb_key(CpuState* c, uint32_t lin, uint32_t size) noexcept nogil:
    return ((lin + (size - 1)) & 0xFFFFF000u) | c.cpl

# The slow paths: the limit check first, then every byte's translation
# (a #PF leaves memory untouched, also for a write that crosses into a page
# that is not present), then whole MMIO accesses, then bytewise (page
# crossings, ROM, watched pages, the 8086's wrap).
cdef uint32_t mem_read_slow(CpuState* c, int seg, uint32_t off, uint32_t size,
                            uint32_t amask, int write) noexcept nogil:
    cdef uint32_t ph[4]
    cdef uint32_t k, v = 0, base = c.seg[seg].base
    if write:                   # a read-modify-write operand: writable data
        seg_check_w(c, seg, off, size)
    else:
        seg_check(c, seg, off, size)
    amask = slow_mask(c, amask)
    for k in range(size):
        ph[k] = translate(c, base + ((off + k) & amask), write)
    if c.dr_data:                       # data breakpoints (debugreg.pxi)
        dr_data_check(c, base + (off & amask), size, write)
    if size > 1 and mmio_whole(c, ph[0], off, size, amask):
        return mmio_access(c, ph[0], size, 0, 0)
    for k in range(size):
        v |= phys_rd8(c, ph[k]) << (8 * k)
    return v

cdef void mem_write_slow(CpuState* c, int seg, uint32_t off, uint32_t v, uint32_t size,
                         uint32_t amask) noexcept nogil:
    cdef uint32_t ph[4]
    cdef uint32_t k, base = c.seg[seg].base
    seg_check_w(c, seg, off, size)
    amask = slow_mask(c, amask)
    for k in range(size):
        ph[k] = translate(c, base + ((off + k) & amask), 1)
    if c.dr_data:
        dr_data_check(c, base + (off & amask), size, 1)
    if size > 1 and mmio_whole(c, ph[0], off, size, amask):
        mmio_access(c, ph[0], size, 1, v)
        return
    for k in range(size):
        phys_wr8(c, ph[k], (v >> (8 * k)) & 0xFF)

# A word or dword inside one MMIO page goes to the device whole.
cdef inline int mmio_whole(CpuState* c, uint32_t phys, uint32_t off, uint32_t size,
                           uint32_t amask) noexcept nogil:
    return (c.pagekind[phys >> 12] == PG_MMIO and (phys & 0xFFF) <= 0x1000 - size
            and off <= amask - (size - 1))

# Segment:offset accesses. The offset is checked against the segment's
# precomputed bound (segment.pxi), the linear address against the TLB
# entry's tag for the access kind; what misses either goes out of line.
cdef inline uint32_t rd8(CpuState* c, int seg, uint32_t off) noexcept nogil:
    cdef uint32_t lin = c.seg[seg].base + off
    cdef TlbEntry* e = tlb_at(c, lin)
    if __builtin_expect(off < c.seg[seg].end1 and e.rtag == tlb_key(c, lin, 1), 1):
        return (<uint8_t*>(e.addend + lin))[0]
    return mem_read_slow(c, seg, off, 1, 0xFFFFFFFFu, 0)

cdef inline void wr8(CpuState* c, int seg, uint32_t off, uint32_t v) noexcept nogil:
    cdef uint32_t lin = c.seg[seg].base + off
    cdef TlbEntry* e = tlb_at(c, lin)
    if __builtin_expect(off < c.seg[seg].wend1 and e.wtag == tlb_key(c, lin, 1), 1):
        (<uint8_t*>(e.addend + lin))[0] = <uint8_t>v
    else:
        mem_write_slow(c, seg, off, v, 1, 0xFFFFFFFFu)

cdef inline uint32_t rd16(CpuState* c, int seg, uint32_t off, uint32_t amask) noexcept nogil:
    cdef uint32_t lin = c.seg[seg].base + off
    cdef TlbEntry* e = tlb_at(c, lin)
    if off < c.seg[seg].end2 and e.rtag == tlb_key(c, lin, 2):
        return ld16(<uint8_t*>(e.addend + lin))
    return mem_read_slow(c, seg, off, 2, amask, 0)

cdef inline uint32_t rd32(CpuState* c, int seg, uint32_t off, uint32_t amask) noexcept nogil:
    cdef uint32_t lin = c.seg[seg].base + off
    cdef TlbEntry* e = tlb_at(c, lin)
    if off < c.seg[seg].end4 and e.rtag == tlb_key(c, lin, 4):
        return ld32(<uint8_t*>(e.addend + lin))
    return mem_read_slow(c, seg, off, 4, amask, 0)

cdef inline void wr16(CpuState* c, int seg, uint32_t off, uint32_t v, uint32_t amask) noexcept nogil:
    cdef uint32_t lin = c.seg[seg].base + off
    cdef TlbEntry* e = tlb_at(c, lin)
    if off < c.seg[seg].wend2 and e.wtag == tlb_key(c, lin, 2):
        st16(<uint8_t*>(e.addend + lin), v)
    else:
        mem_write_slow(c, seg, off, v & 0xFFFF, 2, amask)

cdef inline void wr32(CpuState* c, int seg, uint32_t off, uint32_t v, uint32_t amask) noexcept nogil:
    cdef uint32_t lin = c.seg[seg].base + off
    cdef TlbEntry* e = tlb_at(c, lin)
    if off < c.seg[seg].wend4 and e.wtag == tlb_key(c, lin, 4):
        st32(<uint8_t*>(e.addend + lin), v)
    else:
        mem_write_slow(c, seg, off, v, 4, amask)

# Reads of a read-modify-write operand (docs/faults.md, rule 1): checked
# for writing when read, so a write fault (a read-only page, CR0.WP) comes
# before the instruction changes anything (flags included). The fast path
# tests the write tag; a miss walks for a write (and sets D, as the write
# that follows would).
cdef inline uint32_t rd8w(CpuState* c, int seg, uint32_t off) noexcept nogil:
    cdef uint32_t lin = c.seg[seg].base + off
    cdef TlbEntry* e = tlb_at(c, lin)
    if off < c.seg[seg].wend1 and e.wtag == tlb_key(c, lin, 1):
        return (<uint8_t*>(e.addend + lin))[0]
    return mem_read_slow(c, seg, off, 1, 0xFFFFFFFFu, 1)

cdef inline uint32_t rdvw(CpuState* c, int seg, uint32_t off, int o32, uint32_t amask) noexcept nogil:
    cdef uint32_t lin = c.seg[seg].base + off
    cdef TlbEntry* e = tlb_at(c, lin)
    if o32:
        if off < c.seg[seg].wend4 and e.wtag == tlb_key(c, lin, 4):
            return ld32(<uint8_t*>(e.addend + lin))
        return mem_read_slow(c, seg, off, 4, amask, 1)
    if off < c.seg[seg].wend2 and e.wtag == tlb_key(c, lin, 2):
        return ld16(<uint8_t*>(e.addend + lin))
    return mem_read_slow(c, seg, off, 2, amask, 1)

# Operand-size generic forms: size is 2 or 4.
cdef inline uint32_t rdv(CpuState* c, int seg, uint32_t off, int o32, uint32_t amask) noexcept nogil:
    if o32:
        return rd32(c, seg, off, amask)
    return rd16(c, seg, off, amask)

cdef inline void wrv(CpuState* c, int seg, uint32_t off, uint32_t v, int o32, uint32_t amask) noexcept nogil:
    if o32:
        wr32(c, seg, off, v, amask)
    else:
        wr16(c, seg, off, v, amask)
