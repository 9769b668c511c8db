# Precise exceptions (docs/faults.md): a check that fails anywhere inside
# an instruction calls raise_exception, which records the vector and error
# code and longjmps back to the guard around the chunk (or around a
# delivery); the run loop restores the checkpoint (EIP, ESP, remaining
# count) and delivers the exception. Delivery applies the double-fault
# rules; the vector goes through the real-mode IVT (deliver_vector: the
# one place where the protected-mode IDT path will branch off).

from libc.setjmp cimport longjmp

cdef enum:
    VEC_DE = 0      # divide error
    VEC_DB = 1
    VEC_NMI = 2
    VEC_BP = 3
    VEC_OF = 4
    VEC_BR = 5      # BOUND range exceeded
    VEC_UD = 6
    VEC_NM = 7      # device not available (ESC with CR0.EM)
    VEC_DF = 8      # double fault
    VEC_TS = 10
    VEC_NP = 11
    VEC_SS = 12     # stack fault: an SS-based access outside the limit
    VEC_GP = 13     # general protection
    VEC_PF = 14
    VEC_MF = 16     # x87 floating-point error (CR0.NE = 1; fpu.pxi)

# The guard: fn(c, arg) runs with c.fault_jmp armed; a raise_exception
# inside it returns -1 here. In C so that setjmp sits in a frame of its
# own (noipa: never inlined or specialised into the caller, and `fn`, the
# chunk's instruction loop, is reached through a pointer, so it is
# compiled as a function of its own with its state in registers).
cdef extern from *:
    """
    #include <setjmp.h>
    typedef int (*hvmm_guarded_fn)(void*, uint64_t);
    static __attribute__((noinline, noipa)) int hvmm_guarded(
            jmp_buf env, int* armed, hvmm_guarded_fn fn, void* c, uint64_t arg) {
        int r;
        if (setjmp(env)) {
            *armed = 0;
            return -1;
        }
        *armed = 1;
        r = fn(c, arg);
        *armed = 0;
        return r;
    }
    """
    ctypedef int (*hvmm_guarded_fn)(void*, uint64_t) noexcept nogil
    int hvmm_guarded(jmp_buf env, int* armed, hvmm_guarded_fn fn, void* c,
                     uint64_t arg) nogil

# Raise `vector` (with an error code when the vector has one in protected
# mode; real mode pushes none). Does not return while a guard is armed.
# Outside one (a Python API call that touched guest memory) the fault is
# recorded in c.fault_vec and the access goes on: there is no instruction
# to restart.
cdef void raise_exception(CpuState* c, int vector, uint32_t error_code) noexcept nogil:
    c.fault_vec = vector
    c.fault_err = error_code
    c.fault_has_err = vector == VEC_DF or (VEC_TS <= vector <= VEC_PF) or vector == 17
    if c.guarded:
        longjmp(c.fault_jmp, 1)

# #PF (for the paging helper): CR2 holds the linear address.
cdef void raise_page_fault(CpuState* c, uint32_t linear, uint32_t error_code) noexcept nogil:
    c.cr[2] = linear
    raise_exception(c, VEC_PF, error_code)

cdef inline void count_exception(CpuState* c, int vec) noexcept nogil:
    c.last_exception = vec
    c.exceptions += 1
    c.exc_by_vec[vec & 31] += 1

cdef inline int contributory(int vec) noexcept nogil:
    return vec == VEC_DE or (VEC_TS <= vec <= VEC_GP)

# Where the vector goes: the IVT in real mode. (The IDT's gates, with the
# error code pushed, branch off here once protected mode exists.)
cdef int deliver_guarded(void* cp, uint64_t ret_eip) noexcept nogil:
    cdef CpuState* c = <CpuState*>cp
    do_interrupt(c, c.deliver_vec, <uint32_t>ret_eip)
    return 0

# Deliver `vec` returning to `ret_eip`. `exception`: it is an exception (a
# fault or trap), not an external interrupt or INT n, so a fault while
# delivering it follows the double-fault rules (SDM Vol. 3A, 6.15, table
# 6-5); an interrupt that faults in delivery gives way to the fault.
# Returns 1 for a triple fault (a fault while delivering #DF: shutdown).
cdef int deliver(CpuState* c, int vec, uint32_t ret_eip, int exception) noexcept nogil:
    cdef uint32_t esp = c.regs[R_ESP]
    cdef int second
    while True:
        c.deliver_vec = vec
        c.deliver_flags = DLV_EXT
        if exception and (vec == VEC_DF or (VEC_TS <= vec <= VEC_PF) or vec == 17):
            c.deliver_flags = DLV_EXT | DLV_ERR
        c.task_committed = 0
        if hvmm_guarded(c.fault_jmp, &c.guarded, deliver_guarded, c, ret_eip) == 0:
            if exception:
                count_exception(c, vec)
            return 0
        second = c.fault_vec
        if c.task_committed:
            # through a task gate, past the switch's commit point: the new
            # task's fault, at its first instruction (SDM 7.3, task.pxi)
            esp = c.regs[R_ESP]
            ret_eip = c.eip
            if second == VEC_DB:    # its T bit: a trap once the switch is done
                if exception:
                    count_exception(c, vec)
                vec = VEC_DB
                exception = 1
                continue
        else:
            c.regs[R_ESP] = esp     # the frame pushed so far is dropped
        if exception and vec == VEC_DF:
            return 1
        if exception and ((contributory(vec) and contributory(second)) or
                          (vec == VEC_PF and (second == VEC_PF or contributory(second)))):
            vec = VEC_DF
            c.fault_err = 0
        else:
            vec = second
        exception = 1
