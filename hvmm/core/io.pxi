# Port I/O. The core has no devices yet: every port behaves like an
# empty ISA bus (reads float to all ones, writes are dropped), counted.

cdef inline uint32_t port_in(CpuState* c, uint32_t port, uint32_t size) noexcept nogil:
    c.io_in += 1
    if size == 1:
        return 0xFF
    elif size == 2:
        return 0xFFFF
    return 0xFFFFFFFFu

cdef inline void port_out(CpuState* c, uint32_t port, uint32_t size, uint32_t v) noexcept nogil:
    c.io_out += 1
