; bench.asm - CPU-bound real-mode benchmark guest for hvmm.
;
; Assemble with guests/build.sh (nasm -f bin); the image is hvmm/guests/bench.bin.
; Load at 0000:7C00 (like a boot sector) and jump there.  Needs no BIOS and
; uses only 8086 instructions, so it runs on both the "8086" and "386" models.
;
; What it does
;   1. fills a 256-byte buffer BUF (128 words at 0000:1000) with a pattern;
;   2. runs OUTER x INNER iterations of a 10-instruction loop that mixes a
;      string load (lodsw), ALU ops (add/adc/rol/and), a read-modify-write
;      store to memory (xor [mem], reg) and a conditional branch (jnz);
;      after each inner loop, `rep movsw` shifts the buffer down one word;
;   3. stores the checksum words DX and BX at RESULT (0000:0500, DX first),
;      prints "hvmm bench: checksum DDDD BBBB" + CR LF to the debug port 0xE9,
;      writes 0 to the exit port 0xF4, and stops with `cli; hlt`.
;   Ports 0xE9 and 0xF4 are in-kernel devices of hvmm's core: the text is
;   the debug console's output, and the write to 0xF4 ends the run (exit
;   'debug_exit', process status 1) after 10,003,422 instructions, before
;   `cli; hlt`, which ends it where that port does not exist.  At the exit
;   (and at the HLT) DX and BX hold the checksum again (reloaded from RESULT).
;
; Exact instruction count.  A REP-prefixed string instruction counts one
; instruction per iteration (as in Bochs and QEMU's icount: the 127-word
; rep movsw counts 127); the final HLT counts as one.  The count does not depend on
; the data: every loop runs a fixed number of times.
;
;   total = SETUP + FILL_WORDS*4 + OUTER_SETUP
;         + OUTER*(OUTER_OVERHEAD + INNER*10) + EPILOGUE
;         = 10 + 128*4 + 3 + 20*(7 + 127 + 50000*10) + 219
;         = 10,003,424
;
;   EPILOGUE = 18 straight-line instructions (including the calls, the
;              outs, cli and hlt)
;            + PUTS_BODY(21) + PUTS_BODY(2) + 2*HEX4_BODY
;            = 18 + 109 + 14 + 2*39 = 219
;   PUTS_BODY(n) = 5*n + 4  (n characters, then lodsb/test/jz and ret)
;   HEX4_BODY    = 2 + 4*9 + 1 = 39
;
;   The counts per part are given next to each block as [n].
;   tests/test_bench_guest.py recomputes every term and the checksum.

        cpu     8086
        bits    16
        org     0x7C00

BUF             equ     0x1000          ; 256-byte work buffer, 0000:1000
BUF_MASK        equ     0x10FE          ; keeps SI even and inside BUF
RESULT          equ     0x0500          ; checksum words stored here
FILL_WORDS      equ     128
INNER           equ     50000
OUTER           equ     20

start:                                  ; SETUP [10]
        cli                             ; 1
        cld                             ; 2
        xor     ax, ax                  ; 3
        mov     ds, ax                  ; 4
        mov     es, ax                  ; 5
        mov     ss, ax                  ; 6
        mov     sp, 0x7C00              ; 7
        mov     di, BUF                 ; 8
        mov     cx, FILL_WORDS          ; 9
        mov     ax, 0x1234              ; 10

fill:                                   ; [4] per word
        stosw
        add     ax, 0x9E37
        rol     ax, 1
        loop    fill

        xor     dx, dx                  ; OUTER SETUP [3]
        xor     bx, bx
        mov     bp, OUTER

outer:                                  ; OUTER_OVERHEAD [2 + 6]
        mov     si, BUF
        mov     cx, INNER
inner:                                  ; [10] per inner iteration
        lodsw                           ; ax = [si], si += 2
        add     dx, ax
        adc     bx, dx                  ; uses the carry of the add
        rol     dx, 1
        mov     di, bx
        and     di, 0x00FE
        xor     [di+BUF], dx            ; load + store
        and     si, BUF_MASK            ; wrap SI inside BUF
        dec     cx
        jnz     inner

        mov     si, BUF+2               ; shift BUF down one word (overlapping
        mov     di, BUF                 ; forward copy; the last word stays)
        mov     cx, 127
        rep     movsw                   ; 127 instructions (one per word)
        dec     bp
        jnz     outer

        ; EPILOGUE [219]: 18 instructions here + the bodies of the calls
        mov     [RESULT], dx            ; 1
        mov     [RESULT+2], bx          ; 2
        mov     si, msg                 ; 3
        call    puts                    ; 4 + PUTS_BODY(21)
        mov     ax, dx                  ; 5
        call    hex4                    ; 6 + HEX4_BODY
        mov     al, ' '                 ; 7
        out     0xE9, al                ; 8
        mov     ax, bx                  ; 9
        call    hex4                    ; 10 + HEX4_BODY
        mov     si, crlf                ; 11
        call    puts                    ; 12 + PUTS_BODY(2)
        mov     dx, [RESULT]            ; 13  restore the checksum registers
        mov     bx, [RESULT+2]          ; 14
        xor     al, al                  ; 15
        out     0xF4, al                ; 16  exit port: the run ends here
        cli                             ; 17  (where there is no exit port)
        hlt                             ; 18
        jmp     short $-2               ; back to cli; hlt

; puts: write the NUL-terminated string at DS:SI to port 0xE9.
; PUTS_BODY(n) = 5*n + 3 (final lodsb/test/jz) + 1 (ret)
puts:
        lodsb
        test    al, al
        jz      .done
        out     0xE9, al
        jmp     short puts
.done:  ret

; hex4: write AX as four hex digits to port 0xE9.  Clobbers AX, CX, DX, DI.
; HEX4_BODY = 2 + 4*9 + 1 (ret) = 39
hex4:
        mov     dx, ax                  ; 1
        mov     cx, 4                   ; 2
.digit:                                 ; [9] per digit
        push    cx
        mov     cl, 4
        rol     dx, cl                  ; next nibble into the low 4 bits
        pop     cx
        mov     di, dx
        and     di, 0x000F
        mov     al, [di+hexdigits]
        out     0xE9, al
        loop    .digit
        ret                             ; 1

hexdigits:      db      "0123456789ABCDEF"
msg:            db      "hvmm bench: checksum ", 0
crlf:           db      13, 10, 0
