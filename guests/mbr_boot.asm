; hvmm MBR guest: a master boot record that boots from a hard disk image and
; checks the BIOS's INT 13h hard-disk services on the way.
;
;   python -m hvmm boot --hda hvmm/guests/mbr_boot.bin --headless
;
; The BIOS loads sector 0 to 0000:7C00 with DL = the boot drive (80h). Like
; a DOS MBR it moves itself to 0000:0600 first; then INT 13h AH=41h (EDD
; check), AH=08h (CHS geometry) and AH=42h (extended read) load the second
; stage, sectors 1..N of the same disk, to 0000:0800, which is where it is
; assembled for (it follows the MBR in this file). Stage 2 asks AH=48h for
; the disk's size and ends the run through port 0xF4. Everything printed
; goes to the screen (INT 10h AH=0Eh) and to port 0xE9.
;
; Exit: 2Ah to port 0xF4 (hvmm exit status 85) when every step worked,
; 2Bh (87) after a failure, which the last line names.

        cpu     8086
        bits    16
        org     0x0600

%include "bootsector.inc"

RELOCATED       equ 0x0600
LOADED_AT       equ 0x7C00
EXIT_OK         equ 0x2A
EXIT_FAILED     equ 0x2B
STAGE2_MAGIC    equ 0x3253              ; "S2"

mbr:
        BOOT_PROLOGUE                   ; stack below LOADED_AT (0x7C00)
        ; Not yet at the address we are assembled for: only relative jumps
        ; and absolute data addresses below LOADED_AT until the far jump.
        mov     si, LOADED_AT
        mov     di, RELOCATED
        mov     cx, 256
        rep movsw
        jmp     0x0000:relocated

relocated:
        mov     [boot_drive], dl
        mov     si, msg_hello
        call    print

        ; INT 13h AH=41h: are the extensions there?
        mov     ah, 0x41
        mov     bx, 0x55AA
        mov     dl, [boot_drive]
        int     0x13
        mov     si, fail_41h
        jc      fail
        cmp     bx, 0xAA55
        jne     fail
        test    cl, 1                   ; the packet functions 42h-44h, 47h, 48h
        jz      fail
        mov     si, msg_edd
        call    print
        mov     al, ah                  ; version: 30h = 3.0
        mov     cl, 4
        shr     al, cl
        call    print_digit
        mov     al, '.'
        call    putc
        mov     al, ah
        and     al, 0x0F
        call    print_digit

        ; INT 13h AH=08h: the CHS geometry
        mov     ah, 0x08
        mov     dl, [boot_drive]
        int     0x13
        mov     si, fail_08h
        jc      fail
        push    dx
        mov     si, msg_comma
        call    print
        mov     ax, cx
        and     ax, 0x3F
        call    print_number
        mov     si, msg_spt
        call    print
        pop     dx
        mov     al, dh
        xor     ah, ah
        inc     ax                      ; last head + 1
        call    print_number
        mov     si, msg_heads
        call    print

        ; INT 13h AH=42h: stage 2, LBA 1.., to 0000:0800
        mov     ah, 0x42
        mov     dl, [boot_drive]
        mov     si, packet
        int     0x13
        mov     si, fail_42h
        jc      fail
        cmp     word [packet.count], STAGE2_SECTORS
        jne     fail
        cmp     word [stage2], STAGE2_MAGIC
        jne     fail
        cmp     word [stage2_last], STAGE2_MAGIC
        jne     fail
        jmp     stage2_main

; fail: print "failed: " and the text at SI, then exit with EXIT_FAILED.
fail:
        push    si
        mov     si, msg_failed
        call    print
        pop     si
        call    print
        mov     al, EXIT_FAILED
        jmp     exit

; exit: newline, then AL to port 0xF4, which ends the run.
exit:
        push    ax
        mov     si, msg_crlf
        call    print
        pop     ax
        out     0xF4, al
        cli
.halt:  hlt
        jmp     .halt

; print: the NUL-terminated text at DS:SI.
print:
        push    ax
.next:  lodsb
        test    al, al
        jz      .done
        call    putc
        jmp     .next
.done:  pop     ax
        ret

; print_number: AX in decimal.
print_number:
        push    ax
        push    cx
        push    dx
        push    bx
        mov     bx, 10
        xor     cx, cx
.div:   xor     dx, dx
        div     bx
        push    dx
        inc     cx
        test    ax, ax
        jnz     .div
.out:   pop     ax
        call    print_digit
        loop    .out
        pop     bx
        pop     dx
        pop     cx
        pop     ax
        ret

print_digit:
        push    ax
        and     al, 0x0F
        add     al, '0'
        call    putc
        pop     ax
        ret

; putc: AL to the screen (INT 10h teletype) and to port 0xE9.
putc:
        push    ax
        push    bx
        out     0xE9, al
        mov     ah, 0x0E
        mov     bx, 0x0007
        int     0x10
        pop     bx
        pop     ax
        ret

; The disk address packet for AH=42h.
packet:         db 0x10, 0
.count:         dw STAGE2_SECTORS
                dw stage2, 0            ; buffer offset, segment
                dd 1, 0                 ; LBA

boot_drive:     db 0
msg_hello:      db "hvmm MBR: ", 0
msg_edd:        db "EDD ", 0
msg_comma:      db ", ", 0
msg_spt:        db " sectors/track, ", 0
msg_heads:      db " heads", 0
msg_failed:     db "; failed: ", 0
msg_crlf:       db 13, 10, 0
fail_41h:       db "INT 13h AH=41h", 0
fail_08h:       db "INT 13h AH=08h", 0
fail_42h:       db "INT 13h AH=42h", 0

        times 446 - ($ - $$) db 0
        times 64 db 0                   ; no partitions: the BIOS's default geometry
        dw      0xAA55

; =============================================================================
; Stage 2: sectors 1..N, loaded to 0000:0800 by the MBR.
; =============================================================================
stage2:
        dw      STAGE2_MAGIC
stage2_main:
        mov     si, msg_loaded
        call    print
        mov     ax, STAGE2_SECTORS
        call    print_number
        mov     si, msg_sectors
        call    print

        ; INT 13h AH=48h: the drive's size
        mov     ah, 0x48
        mov     dl, [boot_drive]
        mov     si, params
        int     0x13
        mov     si, fail_48h
        jc      fail
        cmp     word [params.size], 0x1A
        jb      fail
        cmp     word [params.bytes], 512
        jne     fail
        mov     si, msg_size
        call    print
        mov     ax, [params.total]
        call    print_number
        mov     si, msg_total
        call    print
        mov     al, EXIT_OK
        jmp     exit

msg_loaded:     db "; stage 2 loaded from LBA 1 (", 0
msg_sectors:    db " sectors)", 0
msg_size:       db "; disk: ", 0
msg_total:      db " sectors of 512 bytes; done", 0
fail_48h:       db "INT 13h AH=48h", 0

; The AH=48h result buffer: word 0 is its size on the call.
params:
.size:          dw 0x1E
.flags:         dw 0
.cylinders:     dd 0
.heads:         dd 0
.spt:           dd 0
.total:         dq 0
.bytes:         dw 0
.dpte:          dd 0

        times 1024 - ($ - stage2) - 2 db 0  ; two sectors: one AH=42h call reads both
stage2_last:
        dw      STAGE2_MAGIC
STAGE2_SECTORS  equ ($ - stage2) / 512
