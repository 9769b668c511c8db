; timer.asm - PIT + PIC timer-interrupt guest for hvmm.
;
; Assemble with guests/build.sh (nasm -f bin); the image is hvmm/guests/timer.bin.
; Load at 0000:7C00 and jump there.  Needs no BIOS and uses only 8086
; instructions, so it runs on both the "8086" and "386" models.  It is also a
; valid boot sector (512 bytes, signature 55AA) and uses only standard PC
; hardware, so it boots unchanged on QEMU:
;
;   qemu-system-i386 -drive file=hvmm/guests/timer.bin,format=raw,if=floppy \
;       -device isa-debug-exit,iobase=0xf4,iosize=0x04 -debugcon stdio \
;       -display none
;
; What it does
;   1. installs an IRQ0 handler at vector 08h of the real-mode IVT;
;   2. initialises both 8259A PICs the way a PC BIOS does (ICW1 11h,
;      ICW2 08h/70h, ICW3 04h/02h, ICW4 01h) and masks every IRQ but IRQ0;
;   3. programs 8254 PIT channel 0 in mode 2 (rate generator), LSB then MSB,
;      binary, with DIVISOR = 11932 (1193182 Hz / 11932 = 100.0 Hz);
;   4. waits in a HLT loop (interrupts enabled only across STI; HLT, so no
;      wake-up is lost) until the handler - which counts in TICKS_ADDR and
;      sends a non-specific EOI (20h to port 20h) - has counted TICKS ticks;
;   5. with interrupts off, latches channel 0 (control word 00h) and reads
;      the count, LSB then MSB;
;   6. prints "hvmm timer: 100 ticks, PIT count NNNNN" + CR LF to the debug
;      port 0xE9 (both numbers in decimal; the count is what the PIT read
;      just after the 100th reload, so a little below DIVISOR);
;   7. writes 0 to port 0xF4 (QEMU isa-debug-exit: process status
;      (0 << 1) | 1 = 1; hvmm: exit 'debug_exit', value 0), and stops with
;      `cli; hlt` should that port not exist.
;
; Expected virtual time: the Nth IRQ0 comes TICKS * DIVISOR PIT clocks
; after the count is written (one clock to load it, then DIVISOR per
; period), i.e. 100 * 11932 / 1193182 s = 1.00001 s.  Nearly all of it is
; spent in HLT, so a VMM that skips idle time runs this in a few thousand
; instructions.  tests/test_timer_guest.py checks the output, the exit, the
; virtual time and that two runs are identical.

        cpu     8086
        bits    16
        org     0x7C00

TICKS           equ     100             ; timer interrupts to wait for
DIVISOR         equ     11932           ; PIT input 1193182 Hz -> ~100 Hz
TICKS_ADDR      equ     0x0500          ; the tick counter, 0000:0500
IRQ0_VECTOR     equ     0x08            ; where ICW2 puts the master's IRQ0

PIC1_CMD        equ     0x20
PIC1_DATA       equ     0x21
PIC2_CMD        equ     0xA0
PIC2_DATA       equ     0xA1
PIT_CH0         equ     0x40
PIT_CONTROL     equ     0x43
DEBUGCON        equ     0xE9
DEBUG_EXIT      equ     0xF4

start:
        cli
        jmp     0x0000:.cs_zero         ; a BIOS may enter at 07C0:0000
.cs_zero:
        cld
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7C00
        mov     word [TICKS_ADDR], 0

        ; IRQ0 handler into the IVT
        mov     word [IRQ0_VECTOR*4], irq0
        mov     word [IRQ0_VECTOR*4+2], 0

        ; Both PICs, as a PC BIOS sets them up
        mov     al, 0x11                ; ICW1: edge triggered, cascade, ICW4
        out     PIC1_CMD, al
        out     PIC2_CMD, al
        mov     al, 0x08                ; ICW2: master vectors 08h-0Fh
        out     PIC1_DATA, al
        mov     al, 0x70                ; ICW2: slave vectors 70h-77h
        out     PIC2_DATA, al
        mov     al, 0x04                ; ICW3: slave on master's IRQ2
        out     PIC1_DATA, al
        mov     al, 0x02                ; ICW3: slave identity 2
        out     PIC2_DATA, al
        mov     al, 0x01                ; ICW4: 8086 mode, normal EOI
        out     PIC1_DATA, al
        out     PIC2_DATA, al
        mov     al, 0xFE                ; OCW1: only IRQ0 unmasked
        out     PIC1_DATA, al
        mov     al, 0xFF                ; OCW1: slave all masked
        out     PIC2_DATA, al

        ; PIT channel 0: mode 2, LSB then MSB, binary
        mov     al, 0x34                ; 00 11 010 0
        out     PIT_CONTROL, al
        mov     al, DIVISOR & 0xFF
        out     PIT_CH0, al
        mov     al, DIVISOR >> 8
        out     PIT_CH0, al             ; the count starts on the next clock

        ; Wait for TICKS interrupts.  The check runs with IF clear; STI's
        ; one-instruction shadow means the interrupt that ends a HLT cannot
        ; slip in between the check and the HLT.
wait_ticks:
        cli
        cmp     word [TICKS_ADDR], TICKS
        jae     done
        sti
        hlt
        jmp     short wait_ticks

done:                                   ; IF is clear here
        mov     al, 0xFF                ; mask IRQ0 again
        out     PIC1_DATA, al
        xor     al, al                  ; counter latch command, channel 0
        out     PIT_CONTROL, al
        in      al, PIT_CH0             ; latched LSB
        mov     bl, al
        in      al, PIT_CH0             ; latched MSB
        mov     bh, al                  ; BX = count

        mov     si, msg_head
        call    puts
        mov     ax, [TICKS_ADDR]
        call    putdec
        mov     si, msg_mid
        call    puts
        mov     ax, bx
        call    putdec
        mov     si, crlf
        call    puts

        xor     al, al
        out     DEBUG_EXIT, al          ; QEMU/hvmm: the run ends here
halt:
        cli
        hlt
        jmp     short halt

; IRQ0: count the tick, non-specific EOI to the master PIC.
irq0:
        push    ax
        inc     word [cs:TICKS_ADDR]    ; CS = 0, whatever DS holds
        mov     al, 0x20
        out     PIC1_CMD, al
        pop     ax
        iret

; puts: write the NUL-terminated string at DS:SI to port 0xE9.
puts:
        lodsb
        test    al, al
        jz      .done
        out     DEBUGCON, al
        jmp     short puts
.done:  ret

; putdec: write AX as an unsigned decimal number to port 0xE9.
; Clobbers AX, CX, DX.
putdec:
        mov     cx, 10
        xor     dx, dx
        div     cx                      ; AX = AX / 10, DX = last digit
        push    dx
        test    ax, ax
        jz      .out
        call    putdec                  ; the leading digits first
.out:   pop     ax
        add     al, '0'
        out     DEBUGCON, al
        ret

msg_head:       db      "hvmm timer: ", 0
msg_mid:        db      " ticks, PIT count ", 0
crlf:           db      13, 10, 0

        times   510 - ($ - $$) db 0
        dw      0xAA55                  ; boot sector signature
