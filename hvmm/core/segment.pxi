# Segment limits. The fast paths of memory.pxi compare an offset against
# the bounds (end1/end2/end4) kept in the segment cache; everything else
# comes here, out of line: the full check, and the fault it raises.

cdef enum:
    ATTR_S = 0x10           # code or data segment (not a system descriptor)
    ATTR_CODE = 0x08
    ATTR_EXPAND_DOWN = 0x04 # in a data segment's type
    ATTR_RW = 0x02          # readable code / writable data
    ATTR_CONFORMING = 0x04  # in a code segment's type
    ATTR_ACCESSED = 0x01
    ATTR_PRESENT = 0x80
    ATTR_DB = 0x4000        # D/B: 32-bit code segment / big stack
    ATTR_G = 0x8000
    ATTR_UNUSABLE = 0x10000 # VMX layout: a null selector was loaded

# Recompute the bounds after the limit or attributes changed (never on a
# real-mode selector load, which keeps both).
cdef void seg_bounds(SegCache* s) noexcept nogil:
    cdef uint64_t e = <uint64_t>s.limit + 1
    if (s.attr & ATTR_UNUSABLE) or (s.attr & (ATTR_S | ATTR_CODE | ATTR_EXPAND_DOWN)) == (
            ATTR_S | ATTR_EXPAND_DOWN):
        s.end1 = s.end2 = s.end4 = 0        # always the checked path
        s.wend1 = s.wend2 = s.wend4 = 0
        return
    s.end1 = e
    s.end2 = e - 1
    s.end4 = e - 3 if e >= 3 else 0
    if (s.attr & (ATTR_CODE | ATTR_RW)) == ATTR_CODE:
        s.end1 = s.end2 = s.end4 = 0        # execute-only code: reads checked
    if (s.attr & (ATTR_CODE | ATTR_RW)) == ATTR_RW:
        s.wend1 = s.end1
        s.wend2 = s.end2
        s.wend4 = s.end4
    else:                                   # code, read-only data: writes checked
        s.wend1 = s.wend2 = s.wend4 = 0

# Whether `size` bytes at `off` lie inside the segment (expand-up: offsets
# 0..limit; expand-down: limit+1 .. FFFF or FFFFFFFF by the B bit).
cdef int seg_access_ok(SegCache* s, uint32_t off, uint32_t size) noexcept nogil:
    cdef uint64_t last = <uint64_t>off + size - 1
    cdef uint64_t upper
    if s.attr & ATTR_UNUSABLE:
        return 0
    if (s.attr & (ATTR_S | ATTR_CODE | ATTR_EXPAND_DOWN)) == (ATTR_S | ATTR_EXPAND_DOWN):
        upper = 0xFFFFFFFFu if (s.attr & ATTR_DB) else 0xFFFF
        return off > s.limit and last <= upper
    return last <= s.limit

# The vector of a limit fault: #SS(0) through SS, else #GP(0). A 286 in
# real mode raises INT 13 through SS too (the sst286 captures).
cdef inline int limit_vec(CpuState* c, int seg) noexcept nogil:
    if seg == S_SS and (c.model != MODEL_286 or (c.cr[0] & 1)):
        return VEC_SS
    return VEC_GP

# An access missed the fast bound: fault unless it is inside the segment
# after all (an expand-down segment). The 8086 has no limits: it returns
# and the caller wraps the offset.
cdef void seg_check(CpuState* c, int seg, uint32_t off, uint32_t size) noexcept nogil:
    if not c.limit_checks:
        return
    if (c.cr[0] & 1) and (c.seg[seg].attr & (ATTR_CODE | ATTR_RW)) == ATTR_CODE:
        raise_exception(c, limit_vec(c, seg), 0)   # execute-only
    if seg_access_ok(&c.seg[seg], off, size):
        return
    raise_exception(c, limit_vec(c, seg), 0)

# The same for a write (and the read of a read-modify-write operand): in
# protected mode the segment must be writable data.
cdef void seg_check_w(CpuState* c, int seg, uint32_t off, uint32_t size) noexcept nogil:
    if not c.limit_checks:
        return
    if (c.cr[0] & 1) and (c.seg[seg].attr & (ATTR_CODE | ATTR_RW)) != ATTR_RW:
        raise_exception(c, limit_vec(c, seg), 0)
    if seg_access_ok(&c.seg[seg], off, size):
        return
    raise_exception(c, limit_vec(c, seg), 0)

# The offset mask for the bytes of an access that went the slow way: the
# 8086 wraps inside its 64 KiB segment; later models checked the limit, so
# the bytes follow each other linearly.
cdef inline uint32_t slow_mask(CpuState* c, uint32_t amask) noexcept nogil:
    return 0xFFFFFFFFu if c.limit_checks else amask
