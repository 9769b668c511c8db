; hello_boot: a boot sector that uses the BIOS (unlike the other guests here).
;
; Prints a greeting with INT 10h AH=0Eh, reads the second sector of the boot
; drive with INT 13h AH=02h and prints the string stored there, waits for a
; key with INT 16h AH=00h, echoes it, and exits through port 0xF4 with the
; key's ASCII code (process status (key << 1) | 1 under hvmm).
;
; The image is two sectors: the boot sector and the sector it reads. Put it
; at the start of a floppy image (tests/test_bios.py pads it to 1.44 MB).

        cpu     8086
        bits    16
        org     0x7C00

%include "bootsector.inc"

start:
        BOOT_PROLOGUE
        mov     [boot_drive], dl

        mov     si, msg_hello
        call    print

        mov     ax, 0x0201              ; read 1 sector
        mov     cx, 0x0002              ; cylinder 0, sector 2
        xor     dh, dh                  ; head 0
        mov     dl, [boot_drive]
        mov     bx, sector2
        int     0x13
        jc      .disk_error
        mov     si, sector2
        call    print

        mov     si, msg_key
        call    print
        xor     ah, ah
        int     0x16                    ; AL = ASCII, AH = scan code
        push    ax
        mov     ah, 0x0E
        xor     bh, bh
        int     0x10                    ; echo it
        mov     si, msg_crlf
        call    print
        pop     ax
        out     0xF4, al                ; exit with the key
        jmp     halt

.disk_error:
        mov     si, msg_disk_error
        call    print
        mov     al, 0xEE
        out     0xF4, al
halt:   cli
        hlt
        jmp     halt

; print: DS:SI -> NUL-terminated string, through INT 10h AH=0Eh.
print:
        lodsb
        test    al, al
        jz      .done
        mov     ah, 0x0E
        mov     bx, 0x0007
        int     0x10
        jmp     print
.done:  ret

msg_hello:      db "Hello from the boot sector", 13, 10, 0
msg_key:        db "Press a key: ", 0
msg_crlf:       db 13, 10, 0
msg_disk_error: db "INT 13h read failed", 13, 10, 0
boot_drive:     db 0

        BOOT_SIGNATURE

; ---- sector 2: loaded by the code above to 0000:7E00 ---------------------
sector2:
        db      "Sector 2 says hello too", 13, 10, 0
        times   1024 - ($ - $$) db 0
