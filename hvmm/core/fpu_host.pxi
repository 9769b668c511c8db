# The host's x87 runs the guest's x87 instructions (see docs/x87.md).
#
# x87_host_run(f, form, mem, eflags) loads the guest state `f` into the host FPU
# (XRSTOR of the x87 component only), executes one instruction form on it
# and stores the state back (XSAVE), then leaves the host FPU initialised.
# Forms: 0-511 are the register forms ((opcode & 7) << 6 | (modrm & 63)),
# 512-575 the memory forms (512 + ((opcode & 7) << 3 | reg)), their operand
# at `mem` (host memory: the caller copies guest bytes in or out), -1 none
# (a load and store: the host recomputes ES and B, as FLDENV/FRSTOR do).
# Only the control, status and tag words and the registers come back (the
# pointers in f are the guest's), and the arithmetic flags as the
# instruction left them (register forms run with `eflags` loaded).
#
# Unmasked exceptions: the host raises #MF only at its next *waiting* x87
# instruction; nothing after the guest's instruction waits (XSAVE, FNINIT),
# and the caller never runs a waiting form while one is pending
# (fpu_pending), so the host process never sees SIGFPE.
# Without XSAVE enabled by the OS, FXSAVE/FXRSTOR do the same (keeping the
# host's SSE registers and MXCSR as they were).

cdef extern from *:
    """
    #include <string.h>
    #include <cpuid.h>
    static int hvmm_x87_xsave = -1;
    /* Register forms run with the guest's arithmetic flags (FCMOVcc reads
       them, FCOMI writes them), loaded in the same asm statement: below
       the red zone, which the compiler may be using. */
    #define X87_REG(n) case n: __asm__ volatile("sub $128, %%rsp\\n\\tpush %0\\n\\tpopfq\\n\\t" \\
        ".byte 0xD8+(%c1>>6), 0xC0+(%c1&63)\\n\\tpushfq\\n\\tpop %0\\n\\tadd $128, %%rsp" \\
        : "+r"(flags) : "i"(n) : "cc"); break;
    #define X87_REG8(n) X87_REG(n) X87_REG(n+1) X87_REG(n+2) X87_REG(n+3) \\
        X87_REG(n+4) X87_REG(n+5) X87_REG(n+6) X87_REG(n+7)
    #define X87_REG64(n) X87_REG8(n) X87_REG8(n+8) X87_REG8(n+16) X87_REG8(n+24) \\
        X87_REG8(n+32) X87_REG8(n+40) X87_REG8(n+48) X87_REG8(n+56)
    #define X87_MEM(n) case 512+n: __asm__ volatile(".byte 0xD8+(%c1>>3), (%c1&7)<<3" \\
        :: "a"(mem), "i"(n) : "memory"); break;
    #define X87_MEM8(n) X87_MEM(n) X87_MEM(n+1) X87_MEM(n+2) X87_MEM(n+3) \\
        X87_MEM(n+4) X87_MEM(n+5) X87_MEM(n+6) X87_MEM(n+7)

    static __attribute__((noinline)) unsigned long hvmm_x87_exec(int form, void* mem,
                                                                unsigned long flags) {
        switch (form) {
        X87_REG64(0) X87_REG64(64) X87_REG64(128) X87_REG64(192)
        X87_REG64(256) X87_REG64(320) X87_REG64(384) X87_REG64(448)
        X87_MEM8(0) X87_MEM8(8) X87_MEM8(16) X87_MEM8(24)
        X87_MEM8(32) X87_MEM8(40) X87_MEM8(48) X87_MEM8(56)
        default: break;
        }
        return flags;
    }

    static unsigned hvmm_x87_host_run(void* state, int form, void* mem, unsigned eflags) {
        unsigned long fl = (eflags & 0x8D5) | 2;
        unsigned char area[1024] __attribute__((aligned(64)));
        unsigned char* f = (unsigned char*)state;
        if (hvmm_x87_xsave < 0) {
            unsigned a, b, c, d;
            hvmm_x87_xsave = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27)) ? 1 : 0;
        }
        if (hvmm_x87_xsave) {
            memcpy(area, f, 160);
            memset(area + 512, 0, 64);
            area[512] = 1;                          /* XSTATE_BV: x87 */
            __asm__ volatile("xrstor (%0)" :: "r"(area), "a"(1), "d"(0) : "memory");
            fl = hvmm_x87_exec(form, mem, fl);
            __asm__ volatile("xsave (%0)" :: "r"(area), "a"(1), "d"(0) : "memory");
        } else {
            __asm__ volatile("fxsave (%0)" :: "r"(area) : "memory");
            memcpy(area, f, 24);                    /* not MXCSR */
            memcpy(area + 32, f + 32, 128);
            __asm__ volatile("fxrstor (%0)" :: "r"(area) : "memory");
            fl = hvmm_x87_exec(form, mem, fl);
            __asm__ volatile("fxsave (%0)" :: "r"(area) : "memory");
        }
        __asm__ volatile("fninit");
        memcpy(f, area, 5);                         /* FCW, FSW, abridged FTW */
        memcpy(f + 32, area + 32, 128);             /* ST(0)..ST(7) */
        return (unsigned)fl & 0x8D5;
    }
    """
    uint32_t x87_host_run "hvmm_x87_host_run"(void* state, int form, void* mem,
                                              uint32_t eflags) nogil
