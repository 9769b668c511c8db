; A 128 KiB test ROM for `hvmm boot --bios`: the firmware slot also takes
; other ROM images, and this one checks the mapping a PC gives them.
;
;   hvmm boot --bios hvmm/guests/testrom.bin --headless
;
; The CPU starts at F000:FFF0 in the ROM's last 16 bytes, which jump into
; its first half at E000:0000 (so both 64 KiB halves are mapped). It reports
; through the debug console (port 0xE9) and ends the run through port 0xF4
; with 0x21 (exit status 0x43) when all went well, 0x7F otherwise. No BIOS
; services are used: this is the firmware.

        cpu     8086
        bits    16
        org     0

start:                                  ; E000:0000
        cli
        mov     ax, cs
        mov     ds, ax
        xor     ax, ax                  ; a stack in RAM below 0000:7C00
        mov     ss, ax
        mov     sp, 0x7C00
        mov     si, msg_hello
        call    print
        ; The ROM's last bytes seen through F000: the same chip.
        mov     ax, 0xF000
        mov     es, ax
        cmp     word [es:0xFFFE], 0xFFFC
        jne     fail
        mov     si, msg_ok
        call    print
        mov     al, 0x21
        out     0xF4, al
fail:   mov     si, msg_fail
        call    print
        mov     al, 0x7F
        out     0xF4, al
        hlt

print:  lodsb                           ; DS:SI, zero-terminated, to port 0xE9
        test    al, al
        jz      .done
        out     0xE9, al
        jmp     print
.done:  ret

msg_hello:  db "hvmm test ROM: running at E000:0000 of a 128 KiB image", 10, 0
msg_ok:     db "hvmm test ROM: F000:FFFE reads the model byte FCh", 10, 0
msg_fail:   db "hvmm test ROM: F000:FFFE is wrong", 10, 0

        times   0x1FFF0 - ($ - $$) db 0xFF
reset_vector:                           ; F000:FFF0 = offset 1FFF0h
        jmp     0xE000:start
        times   0x1FFFE - ($ - $$) db 0xFF
        db      0xFC, 0xFF              ; F000:FFFE model byte (AT), padding
