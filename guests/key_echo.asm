; key_echo: a boot sector that echoes keys from INT 16h to the screen, for
; the interactive console's tests (tests/test_console.py).
;
; Shows a title line in yellow on blue, then for each key: Enter starts a new
; line; a key with no ASCII code (arrows, F-keys...) prints <SS> with its scan
; code in hex; a control character prints ^ and its letter (Ctrl-C: ^C);
; anything else is echoed.  'Q' ends the guest: it writes 'Q' to port 0xF4
; (exit status 0xA3).

        cpu     8086
        bits    16
        org     0x7C00

%include "bootsector.inc"

start:
        BOOT_PROLOGUE
        mov     ax, 0x0003              ; 80x25 colour text, clears the screen
        int     0x10
        mov     ax, 0x1301              ; write string, move the cursor
        mov     bx, 0x001E              ; page 0, yellow on blue
        mov     cx, title_len
        xor     dx, dx                  ; row 0, column 0
        mov     bp, title
        int     0x10
        mov     si, crlf
        call    print
.key:
        xor     ah, ah
        int     0x16                    ; AL = ASCII, AH = scan code
        cmp     al, 'Q'
        je      .quit
        cmp     al, 13
        je      .enter
        cmp     al, 0
        je      .scan
        cmp     al, 0xE0
        je      .scan
        cmp     al, 0x20
        jae     .plain
        push    ax                      ; a control character: ^ and its letter
        mov     al, '^'
        call    putc
        pop     ax
        add     al, 0x40
.plain: call    putc
        jmp     .key
.enter: mov     si, crlf
        call    print
        jmp     .key
.scan:  mov     al, '<'
        call    putc
        mov     al, ah
        mov     cl, 4
        shr     al, cl
        call    hexdigit
        mov     al, ah
        and     al, 0x0F
        call    hexdigit
        mov     al, '>'
        call    putc
        jmp     .key
.quit:
        out     0xF4, al
        cli
        hlt

hexdigit:
        add     al, '0'
        cmp     al, '9'
        jbe     putc
        add     al, 'A' - '9' - 1
; putc: AL to the screen (teletype).
putc:
        push    ax
        push    bx
        mov     ah, 0x0E
        xor     bh, bh
        int     0x10
        pop     bx
        pop     ax
        ret

print:
        lodsb
        test    al, al
        jz      .done
        call    putc
        jmp     print
.done:  ret

title:  db      "key echo: type keys, Q quits"
title_len equ $ - title
crlf:   db      13, 10, 0

        BOOT_SIGNATURE
