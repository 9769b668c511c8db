; debug_demo.asm: a boot sector for the debugging tools' tests (the GDB stub,
; --trace, --trace-int): a counting loop over a word in memory, INT 60h, a
; divide error (#DE), an optional invalid opcode (#UD), then the debug-exit
; port with the count (exit status (5 << 1) | 1 = 11 under `hvmm exec`).
; Fixed addresses, so tests can name them (tests/test_gdbstub.py, test_trace.py):
;   7C40 counter (word)  7C42 int60_seen  7C43 want_ud (poke 1 for the #UD)
;   7C50 main            7C80 the loop    7C90 after the loop (INT 60h)
%include "bootsector.inc"
        org     0x7C00
        BOOT_PROLOGUE cli
        jmp     main
        times   0x40 - ($ - $$) db 0
counter:        dw 0
int60_seen:     db 0
want_ud:        db 0
        times   0x50 - ($ - $$) db 0
main:   mov     word [0x60 * 4], int60
        mov     word [0x60 * 4 + 2], 0
        mov     word [0 * 4], skip2
        mov     word [0 * 4 + 2], 0
        mov     word [6 * 4], skip2
        mov     word [6 * 4 + 2], 0
        mov     cx, 5
        jmp     the_loop
        times   0x80 - ($ - $$) nop
the_loop:
        inc     word [counter]
        loop    the_loop
        times   0x90 - ($ - $$) nop
        int     0x60
        xor     dx, dx
        mov     ax, 1
        xor     bx, bx
        div     bx                      ; #DE: skip2 resumes past it
        cmp     byte [want_ud], 0
        je      .done
        ud2                             ; #UD: skip2 resumes past it
.done:  mov     al, [counter]
        out     0xF4, al
        hlt

int60:  mov     byte [int60_seen], 1
        iret

; A fault handler that resumes after the faulting 2-byte instruction (the
; 386 pushes the faulting instruction's address).
skip2:  push    bp
        mov     bp, sp
        add     word [bp + 2], 2
        pop     bp
        iret

        BOOT_SIGNATURE
