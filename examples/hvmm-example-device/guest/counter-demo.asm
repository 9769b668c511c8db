; counter-demo.asm: a guest for the example counter device (hvmm_example_device).
;
;   nasm -f bin -o counter-demo.bin counter-demo.asm
;   hvmm exec counter-demo.bin --device example-counter --stats
;
; A raw real-mode binary loaded at 0000:7C00, no BIOS. It
;   1. programs the two 8259A PICs like a PC BIOS (vectors 08h and 70h) and
;      unmasks only IRQ 5, the counter's; installs an IRQ 5 handler;
;   2. reads the counter three times with IN (three exits to Python) and
;      eight more values with one REP INSB (one exit), printing them;
;   3. commands an interrupt now (02), then one 1 ms of virtual time later
;      (03) and waits for it in a HLT loop;
;   4. prints the device's status and exits through port 0xF4 with the
;      number of interrupts it handled (2: process exit status 5).
; Output goes to the debug console, port 0xE9:
;   counter: 00 01 02
;   block: 03 04 05 06 07 08 09 0A
;   interrupts: 02 status: 02

        cpu     386
        org     0x7C00

COUNTER_CMD  equ 0x510
COUNTER_DATA equ 0x511
IRQ5_VECTOR  equ 0x08 + 5

start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7C00
        cld

        ; ICW1 (edge, cascade, ICW4), ICW2 (vector base), ICW3, ICW4 (8086)
        mov     al, 0x11
        out     0x20, al
        out     0xA0, al
        mov     al, 0x08
        out     0x21, al
        mov     al, 0x70
        out     0xA1, al
        mov     al, 0x04
        out     0x21, al
        mov     al, 0x02
        out     0xA1, al
        mov     al, 0x01
        out     0x21, al
        out     0xA1, al
        mov     al, 0xDF                ; OCW1: only IRQ 5 unmasked
        out     0x21, al
        mov     al, 0xFF
        out     0xA1, al

        mov     word [IRQ5_VECTOR*4], irq5
        mov     word [IRQ5_VECTOR*4+2], 0

        ; 2. three single reads
        mov     si, msg_counter
        call    puts
        mov     dx, COUNTER_DATA
        mov     cx, 3
.read:  in      al, dx
        call    hex2sp
        loop    .read
        mov     si, crlf
        call    puts

        ; eight values in one block (one exit to Python)
        mov     si, msg_block
        call    puts
        mov     di, buffer
        mov     cx, 8
        mov     dx, COUNTER_DATA
        rep insb
        mov     si, buffer
        mov     cx, 8
.show:  lodsb
        call    hex2sp
        loop    .show
        mov     si, crlf
        call    puts

        ; 3. an interrupt now, then one from the device's timer
        mov     dx, COUNTER_CMD
        mov     al, 0x02
        out     dx, al
        sti                             ; IRQ 5 is delivered here
        mov     al, 0x03
        out     dx, al
.wait:  hlt                             ; until the timer's interrupt
        cmp     byte [irqs], 2
        jb      .wait
        cli

        ; 4. report and exit
        mov     si, msg_irqs
        call    puts
        mov     al, [irqs]
        call    hex2sp
        mov     si, msg_status
        call    puts
        mov     dx, COUNTER_CMD
        in      al, dx
        call    hex2sp
        mov     si, crlf
        call    puts
        mov     al, [irqs]
        out     0xF4, al                ; exit status (2 << 1) | 1 = 5
        cli
        hlt
        jmp     short $-2

irq5:   push    ax
        inc     byte [cs:irqs]
        mov     al, 0x20                ; non-specific EOI
        out     0x20, al
        pop     ax
        iret

; puts: the NUL-terminated string at DS:SI to port 0xE9
puts:   push    ax
.next:  lodsb
        test    al, al
        jz      .done
        out     0xE9, al
        jmp     short .next
.done:  pop     ax
        ret

; hex2sp: a space and AL as two hex digits to port 0xE9 (keeps registers)
hex2sp: push    ax
        push    bx
        mov     bx, hexdigits
        push    ax
        mov     al, ' '
        out     0xE9, al
        pop     ax
        push    ax
        shr     al, 4
        xlatb
        out     0xE9, al
        pop     ax
        and     al, 0x0F
        xlatb
        out     0xE9, al
        pop     bx
        pop     ax
        ret

hexdigits:      db      "0123456789ABCDEF"
msg_counter:    db      "counter:", 0
msg_block:      db      "block:", 0
msg_irqs:       db      "interrupts:", 0
msg_status:     db      " status:", 0
crlf:           db      13, 10, 0
irqs:           db      0
buffer:         times 8 db 0
