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

# Linear to physical. Paging comes with protected mode; today it is the
# A20 gate (the 8086 model always wraps at 1 MiB).
cdef inline uint32_t lin2phys(CpuState* c, uint32_t lin) noexcept nogil:
    return lin & c.a20mask

# Segment:offset accesses. Each checks the offset against the segment's
# precomputed bound (segment.pxi) in the same compare that used to test
# for the 64 KiB wrap; what misses it goes out of line.
cdef uint32_t rd8_slow(CpuState* c, int seg, uint32_t off) noexcept nogil:
    seg_check(c, seg, off, 1)
    return phys_rd8(c, lin2phys(c, c.seg[seg].base + off))

cdef void wr8_slow(CpuState* c, int seg, uint32_t off, uint32_t v) noexcept nogil:
    seg_check_w(c, seg, off, 1)
    phys_wr8(c, lin2phys(c, c.seg[seg].base + off), v)

cdef inline uint32_t rd8(CpuState* c, int seg, uint32_t off) noexcept nogil:
    if __builtin_expect(off >= c.seg[seg].end1, 0):
        return rd8_slow(c, seg, off)
    return phys_rd8(c, lin2phys(c, c.seg[seg].base + off))

cdef inline void wr8(CpuState* c, int seg, uint32_t off, uint32_t v) noexcept nogil:
    if __builtin_expect(off >= c.seg[seg].wend1, 0):
        wr8_slow(c, seg, off, v)
    else:
        phys_wr8(c, lin2phys(c, c.seg[seg].base + off), v)

# Bytes of a slow access, after the limit check: no further check.
cdef inline uint32_t rd8_in(CpuState* c, int seg, uint32_t off) noexcept nogil:
    return phys_rd8(c, lin2phys(c, c.seg[seg].base + off))

cdef inline void wr8_in(CpuState* c, int seg, uint32_t off, uint32_t v) noexcept nogil:
    phys_wr8(c, lin2phys(c, c.seg[seg].base + off), v)

# A word or dword inside one MMIO page goes to the device whole.
cdef inline int mmio_whole(CpuState* c, uint32_t phys, uint32_t off, uint32_t size,
                           uint32_t amask) noexcept nogil:
    return (c.pagekind[phys >> 12] == PG_MMIO and (phys & 0xFFF) <= 0x1000 - size
            and off <= amask - (size - 1))

# The slow paths: the limit check first (a fault leaves memory untouched),
# then whole MMIO accesses, then bytewise (page crossings, the 8086's wrap).
cdef uint32_t rd16_slow(CpuState* c, int seg, uint32_t off, uint32_t amask) noexcept nogil:
    cdef uint32_t phys = lin2phys(c, c.seg[seg].base + off)
    seg_check(c, seg, off, 2)
    amask = slow_mask(c, amask)
    if mmio_whole(c, phys, off, 2, amask):
        return mmio_access(c, phys, 2, 0, 0)
    return rd8_in(c, seg, off) | (rd8_in(c, seg, (off + 1) & amask) << 8)

cdef uint32_t rd32_slow(CpuState* c, int seg, uint32_t off, uint32_t amask) noexcept nogil:
    cdef uint32_t phys = lin2phys(c, c.seg[seg].base + off)
    seg_check(c, seg, off, 4)
    amask = slow_mask(c, amask)
    if mmio_whole(c, phys, off, 4, amask):
        return mmio_access(c, phys, 4, 0, 0)
    return (rd8_in(c, seg, off) | (rd8_in(c, seg, (off + 1) & amask) << 8)
            | (rd8_in(c, seg, (off + 2) & amask) << 16)
            | (rd8_in(c, seg, (off + 3) & amask) << 24))

cdef void wr16_slow(CpuState* c, int seg, uint32_t off, uint32_t v, uint32_t amask) noexcept nogil:
    cdef uint32_t phys = lin2phys(c, c.seg[seg].base + off)
    seg_check_w(c, seg, off, 2)
    amask = slow_mask(c, amask)
    if mmio_whole(c, phys, off, 2, amask):
        mmio_access(c, phys, 2, 1, v & 0xFFFF)
        return
    wr8_in(c, seg, off, v & 0xFF)
    wr8_in(c, seg, (off + 1) & amask, (v >> 8) & 0xFF)

cdef void wr32_slow(CpuState* c, int seg, uint32_t off, uint32_t v, uint32_t amask) noexcept nogil:
    cdef uint32_t phys = lin2phys(c, c.seg[seg].base + off)
    seg_check_w(c, seg, off, 4)
    amask = slow_mask(c, amask)
    if mmio_whole(c, phys, off, 4, amask):
        mmio_access(c, phys, 4, 1, v)
        return
    wr8_in(c, seg, off, v & 0xFF)
    wr8_in(c, seg, (off + 1) & amask, (v >> 8) & 0xFF)
    wr8_in(c, seg, (off + 2) & amask, (v >> 16) & 0xFF)
    wr8_in(c, seg, (off + 3) & amask, v >> 24)

cdef inline uint32_t rd16(CpuState* c, int seg, uint32_t off, uint32_t amask) noexcept nogil:
    cdef uint32_t phys = lin2phys(c, c.seg[seg].base + off)
    if off < c.seg[seg].end2:
        if phys < c.ram_top - 1:
            return ld16(c.mem + phys)
        if (phys & 0xFFF) != 0xFFF and c.pagekind[phys >> 12] <= PG_ROM:
            return ld16(c.mem + phys)
    return rd16_slow(c, seg, off, amask)

cdef inline uint32_t rd32(CpuState* c, int seg, uint32_t off, uint32_t amask) noexcept nogil:
    cdef uint32_t phys = lin2phys(c, c.seg[seg].base + off)
    if off < c.seg[seg].end4:
        if phys < c.ram_top - 3:
            return ld32(c.mem + phys)
        if (phys & 0xFFF) <= 0xFFC and c.pagekind[phys >> 12] <= PG_ROM:
            return ld32(c.mem + phys)
    return rd32_slow(c, seg, off, amask)

cdef inline void wr16(CpuState* c, int seg, uint32_t off, uint32_t v, uint32_t amask) noexcept nogil:
    cdef uint32_t phys = lin2phys(c, c.seg[seg].base + off)
    if off < c.seg[seg].wend2 and (phys < c.ram_top - 1 or (
            (phys & 0xFFF) != 0xFFF and c.pagekind[phys >> 12] == PG_RAM)):
        st16(c.mem + phys, v)
    else:
        wr16_slow(c, seg, off, v, amask)

cdef inline void wr32(CpuState* c, int seg, uint32_t off, uint32_t v, uint32_t amask) noexcept nogil:
    cdef uint32_t phys = lin2phys(c, c.seg[seg].base + off)
    if off < c.seg[seg].wend4 and (phys < c.ram_top - 3 or (
            (phys & 0xFFF) <= 0xFFC and c.pagekind[phys >> 12] == PG_RAM)):
        st32(c.mem + phys, v)
    else:
        wr32_slow(c, seg, off, v, amask)

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
