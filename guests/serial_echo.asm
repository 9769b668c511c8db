; serial_echo: a COM1 echo guest that needs no BIOS (hvmm exec) and is also
; a boot sector (hvmm boot), for the --serial stdio tests.
;
; Programs the 16550 at 0x3F8 (9600 8N1, FIFOs on, polled: no interrupts),
; prints a prompt on COM1, then echoes each received byte upper-cased until
; it receives 'q', says bye and writes 0x10 to port 0xF4 (exit status 0x21).

        cpu     8086
        bits    16
        org     0x7C00

%include "bootsector.inc"

COM1    equ     0x3F8

start:
        BOOT_PROLOGUE cli               ; polled: interrupts stay off
        mov     dx, COM1 + 3
        mov     al, 0x80                ; LCR: DLAB
        out     dx, al
        mov     dx, COM1
        mov     al, 12                  ; divisor 12: 9600 baud
        out     dx, al
        inc     dx
        xor     al, al
        out     dx, al
        mov     dx, COM1 + 3
        mov     al, 0x03                ; 8N1, DLAB off
        out     dx, al
        dec     dx
        mov     al, 0x07                ; FCR: FIFOs on, both cleared
        out     dx, al
        mov     dx, COM1 + 4
        mov     al, 0x03                ; MCR: DTR, RTS
        out     dx, al
        mov     dx, COM1 + 1
        xor     al, al                  ; IER: polled
        out     dx, al

        mov     si, msg_prompt
        call    puts
.next:
        mov     dx, COM1 + 5
.wait:  in      al, dx                  ; LSR bit 0: data ready
        test    al, 1
        jz      .wait
        mov     dx, COM1
        in      al, dx
        cmp     al, 'q'
        je      .quit
        cmp     al, 'a'
        jb      .echo
        cmp     al, 'z'
        ja      .echo
        sub     al, 0x20
.echo:  call    putc
        jmp     .next
.quit:
        mov     si, msg_bye
        call    puts
        mov     al, 0x10
        out     0xF4, al
        hlt

; putc: AL to COM1 (waits for THRE).
putc:
        push    ax
        mov     dx, COM1 + 5
.busy:  in      al, dx
        test    al, 0x20
        jz      .busy
        pop     ax
        mov     dx, COM1
        out     dx, al
        ret

; puts: the NUL-terminated string at DS:SI to COM1.
puts:
        lodsb
        test    al, al
        jz      .done
        call    putc
        jmp     puts
.done:  ret

msg_prompt:     db      "serial echo> ", 0
msg_bye:        db      13, 10, "bye", 13, 10, 0

        BOOT_SIGNATURE
