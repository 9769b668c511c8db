/* The reference for the x87 differential suite (tests/x87_reference.py):
 * the host CPU's own x87 unit runs one instruction from a given state.
 *
 * For each case: FRSTOR the 108-byte image (32-bit protected-mode layout),
 * load the arithmetic flags, run the instruction (its memory operand, if
 * any, is the 16 bytes at mem), FNSAVE the state and read the flags back.
 * The instruction runs from a small generated code page, so the bytes are
 * the guest's (a memory operand's ModRM is re-pointed at [rsi]).
 *
 * Built by the test run (cc -shared), loaded with ctypes. Independent of
 * hvmm's core: its FRSTOR/FNSAVE are the host's, not hvmm's emulation.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

typedef uint64_t (*case_fn)(const void* in, void* mem, void* out, uint64_t flags);
static sigjmp_buf trap;
static void on_signal(int sig) { siglongjmp(trap, sig); }

/* n cases. insn: 2 bytes each (opcode, ModRM as the guest has it);
 * state_in/state_out: 108 bytes each; mem: 16 bytes each, in and out;
 * flags: 2 bytes each, in and out; result: 0, or the signal number. */
int x87_run(int n, const uint8_t* insn, const uint8_t* state_in, uint8_t* mem,
            uint8_t* state_out, uint16_t* flags, int* result) {
    /* every case's stub first, then the runs: no code is modified while
       the page is being executed */
    size_t size = 16 * (size_t)n + 4096;
    uint8_t* page = mmap(0, size, PROT_READ | PROT_WRITE | PROT_EXEC,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct sigaction sa, old_ill, old_fpe;
    int i;
    if (page == MAP_FAILED)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGILL, &sa, &old_ill);
    sigaction(SIGFPE, &sa, &old_fpe);
    for (i = 0; i < n; i++) {
        uint8_t* p = page + 16 * i;
        uint8_t op = insn[2 * i], modrm = insn[2 * i + 1];
        *p++ = 0x51; *p++ = 0x9D;               /* push rcx; popfq */
        *p++ = 0xDD; *p++ = 0x27;               /* frstor [rdi] */
        *p++ = op;
        *p++ = (modrm >= 0xC0) ? modrm : (uint8_t)((modrm & 0x38) | 0x06);   /* [rsi] */
        *p++ = 0xDD; *p++ = 0x32;               /* fnsave [rdx] */
        *p++ = 0x9C; *p++ = 0x58;               /* pushfq; pop rax */
        *p++ = 0xC3;
    }
    __builtin___clear_cache((char*)page, (char*)page + 16 * (size_t)n);
    for (i = 0; i < n; i++) {
        volatile int sig = sigsetjmp(trap, 1);
        if (sig == 0) {
            uint64_t f = ((case_fn)(page + 16 * i))(state_in + 108 * i, mem + 16 * i, state_out + 108 * i,
                                         (flags[2 * i] & 0x8D5) | 2);
            flags[2 * i + 1] = (uint16_t)(f & 0x8D5);
            result[i] = 0;
        } else {
            __asm__ volatile("fninit");
            result[i] = sig;
        }
    }
    sigaction(SIGILL, &old_ill, 0);
    sigaction(SIGFPE, &old_fpe, 0);
    munmap(page, size);
    return 0;
}
