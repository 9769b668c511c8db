; demo: what `hvmm run` boots. A floppy boot sector (plus the sectors it
; loads with INT 13h) that uses standard BIOS services only, so it runs on
; the hvmm BIOS and unchanged on QEMU or Bochs:
;
;   * draws a colour title screen with box-drawing characters (INT 10h
;     AH=06h scroll/fill, 02h cursor, 09h character and attribute);
;   * reports the machine it found: the CPU (8086 or 386+ by the FLAGS bits
;     12-15 test, then the CPUID vendor and family if the ID flag toggles),
;     conventional memory (INT 12h), the equipment word (INT 11h), the RTC
;     date and time (INT 1Ah AH=04h/02h);
;   * counts timer interrupts (IRQ 0, seen as INT 1Ah AH=00h ticks, waiting
;     with HLT) for 36 ticks, about 2 s, with a progress bar;
;   * prints a summary line to port 0xE9 (the Bochs/QEMU debug console) and
;     writes 0 to port 0xF4 (QEMU's isa-debug-exit), which ends the run under
;     hvmm; where that port does not exist it halts with the screen shown.
;
; Put demo.bin at the start of a floppy image (`hvmm run` pads it to
; 1.44 MB in memory). 8086 instructions except in the CPUID probe, which
; only runs on a 386 or later.

        cpu     8086
        bits    16
        org     0x7C00

%include "bootsector.inc"

SECTORS equ     (image_end - sector2 + 511) / 512      ; loaded after the boot sector
TICKS   equ     36                                      ; ~1.98 s at 18.2065 Hz
BAR     equ     36                                      ; progress bar cells

; colours (attribute bytes: background << 4 | foreground)
A_DESK   equ    0x17            ; light grey on blue
A_FRAME  equ    0x1B            ; light cyan on blue
A_TITLE  equ    0x4F            ; white on red
A_TITLEF equ    0x4E            ; yellow on red
A_LABEL  equ    0x1E            ; yellow on blue
A_VALUE  equ    0x1F            ; white on blue
A_BARON  equ    0x1A            ; light green on blue
A_BAROFF equ    0x19            ; light blue on blue
A_NOTE   equ    0x13            ; cyan on blue

start:
        BOOT_PROLOGUE
        mov     [boot_drive], dl

        mov     di, 3                   ; tries (real floppy drives need retries)
.load:
        mov     ax, 0x0200 + SECTORS
        mov     cx, 0x0002              ; cylinder 0, sector 2
        xor     dh, dh
        mov     dl, [boot_drive]
        mov     bx, sector2
        int     0x13
        jnc     main
        xor     ah, ah                  ; reset the drive and try again
        mov     dl, [boot_drive]
        int     0x13
        dec     di
        jnz     .load
        mov     si, msg_disk_error
.print: lodsb
        test    al, al
        jz      .stop
        mov     ah, 0x0E
        mov     bx, 0x0007
        int     0x10
        jmp     .print
.stop:  mov     al, 0xEE
        out     0xF4, al
        cli
        hlt
        jmp     .stop

msg_disk_error: db "demo: INT 13h could not read the rest of the demo", 13, 10, 0
boot_drive:     db 0

        BOOT_SIGNATURE

; ---- the rest, loaded to 0000:7E00 ------------------------------------------
sector2:

main:
        xor     ax, ax                  ; the variables (not in the image)
        mov     di, bss
        mov     cx, bss_end - bss
        rep     stosb
        mov     ax, 0x0003              ; 80x25 colour text
        int     0x10
        mov     ah, 0x01                ; hide the cursor while drawing
        mov     cx, 0x2000
        int     0x10

        ; the desk
        mov     bh, A_DESK
        xor     cx, cx
        mov     dx, 0x184F
        call    fill

        ; the title: a double-line box on red
        mov     bh, A_TITLE
        mov     cx, 0x010C
        mov     dx, 0x0443
        call    fill
        mov     bl, A_TITLEF
        mov     cx, 0x010C
        mov     dx, 0x0443
        mov     si, double_frame
        call    frame
        mov     dx, 0x0223
        mov     bl, A_TITLE
        mov     si, s_title
        call    puts_at
        mov     dx, 0x0312
        mov     bl, A_TITLEF
        mov     si, s_subtitle
        call    puts_at

        ; the machine panel
        mov     bl, A_FRAME
        mov     cx, 0x0604
        mov     dx, 0x0C4B
        mov     si, single_frame
        call    frame
        mov     dx, 0x0606
        mov     bl, A_LABEL
        mov     si, s_machine
        call    puts_at

        call    report_cpu
        call    report_memory
        call    report_equipment
        call    report_clock
        call    report_video

        ; the timer panel
        mov     bl, A_FRAME
        mov     cx, 0x0E04
        mov     dx, 0x124B
        mov     si, single_frame
        call    frame
        mov     dx, 0x0E06
        mov     bl, A_LABEL
        mov     si, s_timer
        call    puts_at

        ; the palette: the 16 background colours
        mov     dx, 0x1406
        mov     bl, A_NOTE
        mov     si, s_palette
        call    puts_at
        xor     bl, bl
.palette:
        mov     al, 0xDB
        push    bx
        mov     bh, bl                  ; block in colour bl, foreground = background
        mov     cl, 4
        shl     bl, cl
        or      bl, bh
        mov     cx, 3
        call    putn
        pop     bx
        inc     bl
        cmp     bl, 16
        jb      .palette

        call    count_ticks

        ; the summary, on screen and to port 0xE9
        mov     di, summary
        mov     si, s_sum1
        call    strcpy
        mov     si, [cpu_short]
        call    strcpy
        mov     si, vendor_sp
        call    strcpy
        mov     si, s_sum2
        call    strcpy
        mov     ax, [mem_kb]
        call    fmt_dec
        mov     si, s_sum3
        call    strcpy
        mov     ax, [ticks]
        call    fmt_dec
        mov     si, s_sum4
        call    strcpy
        mov     ax, [ms]
        call    fmt_ms
        mov     si, s_sum5
        call    strcpy
        mov     byte [di], 0
        mov     dx, 0x1606
        mov     bl, A_VALUE
        mov     si, summary
        call    puts_at
        mov     si, summary
        call    e9_puts
        mov     al, 10
        out     0xE9, al

        mov     dx, 0x1806
        mov     bl, A_NOTE
        mov     si, s_end
        call    puts_at
        mov     dx, 0x1800              ; park the cursor
        call    goto
        mov     ah, 0x01
        mov     cx, 0x0607
        int     0x10

        xor     al, al                  ; the demo's normal end
        out     0xF4, al
.halt:  cli
        hlt
        jmp     .halt

; ---- the machine report --------------------------------------------------

report_cpu:
        mov     dx, 0x0707
        mov     bl, A_LABEL
        mov     si, s_cpu
        call    puts_at
        mov     di, cpu_name
        ; 8086/8088: FLAGS bits 12-15 always read as 1.
        pushf
        pop     ax
        mov     cx, ax
        and     ax, 0x0FFF
        push    ax
        popf
        pushf
        pop     ax
        push    cx
        popf
        and     ax, 0xF000
        cmp     ax, 0xF000
        jne     .not8086
        mov     word [cpu_short], s_short8086
        mov     si, s_8086
        call    strcpy
        jmp     .show
.not8086:
        ; 286 in real mode: bits 12-15 always read as 0.
        or      cx, 0xF000
        push    cx
        popf
        pushf
        pop     ax
        and     cx, 0x0FFF
        push    cx
        popf
        test    ax, 0x7000
        jnz     .is386
        mov     word [cpu_short], s_short286
        mov     si, s_286
        call    strcpy
        jmp     .show
.is386:
        call    probe_cpuid
.show:
        mov     byte [di], 0
        mov     bl, A_VALUE
        mov     dx, 0x0712
        mov     si, cpu_name
        jmp     puts_at

; 386 or later: DI -> where the name goes; appends it.
        cpu     586
probe_cpuid:
        mov     word [cpu_short], s_short386
        pushfd
        pop     eax
        mov     ecx, eax
        xor     eax, 0x00200000         ; the ID flag
        push    eax
        popfd
        pushfd
        pop     eax
        push    ecx
        popfd
        xor     eax, ecx
        test    eax, 0x00200000
        jnz     .cpuid
        mov     si, s_386
        jmp     strcpy
.cpuid:
        xor     eax, eax
        cpuid
        mov     [vendor], ebx
        mov     [vendor + 4], edx
        mov     [vendor + 8], ecx
        mov     byte [vendor_sp], ' '
        mov     si, s_386id
        call    strcpy
        mov     si, vendor
        call    strcpy
        mov     si, s_family
        call    strcpy
        mov     eax, 1
        cpuid
        shr     ax, 8
        and     ax, 0x0F
        call    fmt_dec
        ret
        cpu     8086

report_memory:
        mov     dx, 0x0807
        mov     bl, A_LABEL
        mov     si, s_mem
        call    puts_at
        int     0x12
        mov     [mem_kb], ax
        mov     di, line
        call    fmt_dec
        mov     si, s_kb
        call    strcpy
        mov     byte [di], 0
        mov     dx, 0x0812
        mov     bl, A_VALUE
        mov     si, line
        jmp     puts_at

report_equipment:
        mov     dx, 0x0907
        mov     bl, A_LABEL
        mov     si, s_equip
        call    puts_at
        int     0x11
        mov     bp, ax
        mov     di, line
        call    fmt_hex16
        mov     si, s_colon
        call    strcpy
        ; floppies: bit 0, count in bits 6-7
        xor     ax, ax
        test    bp, 1
        jz      .nofd
        mov     ax, bp
        mov     cl, 6
        shr     ax, cl
        and     ax, 3
        inc     ax
.nofd:  call    fmt_dec
        mov     si, s_floppy
        call    strcpy
        ; video: bits 4-5
        mov     ax, bp
        mov     cl, 4
        shr     ax, cl
        and     ax, 3
        mov     si, s_vid_other
        cmp     al, 2
        jne     .vid
        mov     si, s_vid_colour
        jmp     .vid2
.vid:   cmp     al, 3
        jne     .vid2
        mov     si, s_vid_mono
.vid2:  call    strcpy
        ; serial ports: bits 9-11
        mov     ax, bp
        mov     cl, 9
        shr     ax, cl
        and     ax, 7
        call    fmt_dec
        mov     si, s_serial
        call    strcpy
        mov     byte [di], 0
        mov     dx, 0x0912
        mov     bl, A_VALUE
        mov     si, line
        jmp     puts_at

report_clock:
        mov     dx, 0x0A07
        mov     bl, A_LABEL
        mov     si, s_clock
        call    puts_at
        mov     di, line
        mov     ah, 0x04                ; date: CH century, CL year, DH month, DL day
        int     0x1A
        jc      .none
        mov     al, ch
        call    fmt_bcd
        mov     al, cl
        call    fmt_bcd
        mov     al, '-'
        stosb
        mov     al, dh
        call    fmt_bcd
        mov     al, '-'
        stosb
        mov     al, dl
        call    fmt_bcd
        mov     al, ' '
        stosb
        mov     ah, 0x02                ; time: CH hours, CL minutes, DH seconds
        int     0x1A
        jc      .none
        mov     al, ch
        call    fmt_bcd
        mov     al, ':'
        stosb
        mov     al, cl
        call    fmt_bcd
        mov     al, ':'
        stosb
        mov     al, dh
        call    fmt_bcd
        mov     si, s_rtc
        call    strcpy
        jmp     .show
.none:  mov     di, line
        mov     si, s_no_rtc
        call    strcpy
.show:  mov     byte [di], 0
        mov     dx, 0x0A12
        mov     bl, A_VALUE
        mov     si, line
        jmp     puts_at

report_video:
        mov     dx, 0x0B07
        mov     bl, A_LABEL
        mov     si, s_video
        call    puts_at
        mov     ah, 0x0F                ; AL mode, AH columns, BH page
        int     0x10
        push    ax
        mov     di, line
        mov     si, s_mode
        call    strcpy
        pop     ax
        push    ax
        xor     ah, ah
        call    fmt_dec
        mov     si, s_cols
        call    strcpy
        pop     ax
        mov     al, ah
        xor     ah, ah
        call    fmt_dec
        mov     si, s_cols2
        call    strcpy
        mov     byte [di], 0
        mov     dx, 0x0B12
        mov     bl, A_VALUE
        mov     si, line
        jmp     puts_at

; ---- timer interrupts ----------------------------------------------------

count_ticks:
        mov     dx, 0x0F07              ; the empty bar
        call    goto
        mov     al, 0xB0
        mov     bl, A_BAROFF
        mov     cx, BAR
        call    putn
        call    show_count
        xor     ah, ah                  ; wait for a tick edge, so the count
        int     0x1A                    ; covers whole tick periods
        mov     si, dx
.sync:  sti
        hlt
        xor     ah, ah
        int     0x1A
        cmp     dx, si
        je      .sync
        mov     [start_tick], dx
.wait:  sti
        hlt                             ; until the next interrupt
        inc     word [wakeups]
        xor     ah, ah
        int     0x1A
        sub     dx, [start_tick]
        cmp     dx, [ticks]
        je      .wait
        mov     [ticks], dx
        ; fill the bar up to ticks * BAR / TICKS cells
        mov     ax, dx
        mov     cx, BAR
        mul     cx
        mov     cx, TICKS
        div     cx
        mov     cx, ax
        jcxz    .count
        cmp     cx, BAR
        jbe     .bar
        mov     cx, BAR
.bar:   mov     dx, 0x0F07
        call    goto
        mov     al, 0xDB
        mov     bl, A_BARON
        call    putn
.count: call    show_count
        cmp     word [ticks], TICKS
        jb      .wait
        ; 36 ticks of 65536 / 1193182 s: ms = ticks * 54925 / 1000
        mov     ax, [ticks]
        mov     cx, 54925
        mul     cx
        mov     cx, 1000
        div     cx
        mov     [ms], ax
        ; the result line: "36 ticks in 1.977 s of virtual time: 18.2 Hz"
        mov     di, line
        mov     ax, [ticks]
        call    fmt_dec
        mov     si, s_res1
        call    strcpy
        mov     ax, [ms]
        call    fmt_ms
        mov     si, s_res2
        call    strcpy
        mov     ax, [ticks]             ; tenths of Hz: ticks * 10000 / ms
        mov     cx, 10000
        mul     cx
        div     word [ms]
        xor     dx, dx
        mov     cx, 10
        div     cx
        push    dx
        call    fmt_dec
        mov     al, '.'
        stosb
        pop     ax
        call    fmt_dec
        mov     si, s_res3
        call    strcpy
        mov     ax, [wakeups]
        call    fmt_dec
        mov     si, s_res4
        call    strcpy
        mov     byte [di], 0
        mov     dx, 0x1107
        mov     bl, A_VALUE
        mov     si, line
        jmp     puts_at

show_count:                             ; " nn/36 ticks" after the bar
        mov     di, line
        mov     ax, [ticks]
        call    fmt_dec
        mov     si, s_of
        call    strcpy
        mov     byte [di], 0
        mov     dx, 0x0F07 + BAR + 1
        mov     bl, A_VALUE
        mov     si, line
        jmp     puts_at

; ---- screen ----------------------------------------------------------------

; fill: the rectangle CH,CL (top row, left column) to DH,DL with blanks of
; attribute BH (INT 10h AH=06h, AL=0 clears the window).
fill:
        mov     ax, 0x0600
        int     0x10
        ret

; goto: cursor to row DH, column DL.
goto:
        mov     [cur], dx
        push    ax
        push    bx
        mov     ah, 0x02
        xor     bh, bh
        int     0x10
        pop     bx
        pop     ax
        ret

; putn: CX copies of AL in attribute BL at the cursor; the cursor moves on.
putn:
        push    ax
        push    bx
        push    cx
        push    dx
        mov     ah, 0x09
        xor     bh, bh
        int     0x10
        mov     dx, [cur]
        add     dl, cl
        call    goto
        pop     dx
        pop     cx
        pop     bx
        pop     ax
        ret

; puts_at: the NUL-terminated string at DS:SI at row DH, column DL, in
; attribute BL.
puts_at:
        call    goto
.next:  lodsb
        test    al, al
        jz      .done
        mov     cx, 1
        call    putn
        jmp     .next
.done:  ret

; frame: a box from CH,CL to DH,DL in attribute BL, drawn with the six
; characters at SI (top left, horizontal, top right, vertical, bottom left,
; bottom right).
frame:
        push    dx
        push    cx
        mov     bp, sp                  ; [bp] = top-left, [bp+2] = bottom-right
        mov     dx, cx
        call    goto
        mov     al, [si]
        mov     cx, 1
        call    putn
        mov     al, [si + 1]
        mov     cl, [bp + 2]
        sub     cl, [bp]
        dec     cl
        xor     ch, ch
        call    putn
        mov     al, [si + 2]
        mov     cx, 1
        call    putn
        mov     dx, [bp]                ; the sides
.side:  inc     dh
        cmp     dh, [bp + 3]
        jae     .bottom
        call    goto
        mov     al, [si + 3]
        mov     cx, 1
        call    putn
        push    dx
        mov     dl, [bp + 2]
        call    goto
        call    putn
        pop     dx
        jmp     .side
.bottom:
        call    goto
        mov     al, [si + 4]
        call    putn
        mov     al, [si + 1]
        mov     cl, [bp + 2]
        sub     cl, [bp]
        dec     cl
        xor     ch, ch
        call    putn
        mov     al, [si + 5]
        mov     cx, 1
        call    putn
        pop     cx
        pop     dx
        ret

; ---- text ------------------------------------------------------------------

; strcpy: append the NUL-terminated string at SI to DI (no NUL written).
strcpy:
        lodsb
        test    al, al
        jz      .done
        stosb
        jmp     strcpy
.done:  ret

; fmt_dec: append AX in decimal to DI.
fmt_dec:
        push    ax
        push    bx
        push    cx
        push    dx
        mov     bx, 10
        xor     cx, cx
.div:   xor     dx, dx
        div     bx
        push    dx
        inc     cx
        test    ax, ax
        jnz     .div
.out:   pop     ax
        add     al, '0'
        stosb
        loop    .out
        pop     dx
        pop     cx
        pop     bx
        pop     ax
        ret

; fmt_ms: append AX milliseconds as seconds, "1.977".
fmt_ms:
        push    ax
        push    bx
        push    dx
        xor     dx, dx
        mov     bx, 1000
        div     bx
        call    fmt_dec
        mov     al, '.'
        stosb
        mov     ax, dx
        mov     bl, 100
        div     bl                      ; AL hundreds, AH rest
        add     al, '0'
        stosb
        mov     al, ah
        xor     ah, ah
        mov     bl, 10
        div     bl
        add     ax, '00'
        stosw
        pop     dx
        pop     bx
        pop     ax
        ret

; fmt_bcd: append the BCD byte AL as two digits.
fmt_bcd:
        push    ax
        push    cx
        mov     ah, al
        mov     cl, 4
        shr     al, cl
        and     ah, 0x0F
        add     ax, '00'
        stosw
        pop     cx
        pop     ax
        ret

; fmt_hex16: append AX as "0xNNNN".
fmt_hex16:
        push    ax
        push    bx
        push    cx
        mov     bx, ax
        mov     ax, '0x'
        stosw
        mov     cx, 4
.digit: push    cx
        mov     cl, 4
        rol     bx, cl
        pop     cx
        mov     al, bl
        and     al, 0x0F
        add     al, '0'
        cmp     al, '9'
        jbe     .put
        add     al, 'A' - '9' - 1
.put:   stosb
        loop    .digit
        pop     cx
        pop     bx
        pop     ax
        ret

; e9_puts: the NUL-terminated string at SI to port 0xE9.
e9_puts:
        lodsb
        test    al, al
        jz      .done
        out     0xE9, al
        jmp     e9_puts
.done:  ret

; ---- data ------------------------------------------------------------------

double_frame:   db 0xC9, 0xCD, 0xBB, 0xBA, 0xC8, 0xBC
single_frame:   db 0xDA, 0xC4, 0xBF, 0xB3, 0xC0, 0xD9

s_title:        db "hvmm demo", 0
s_subtitle:     db "a hybrid virtual machine monitor for x86 PCs", 0
s_machine:      db " The machine I found ", 0
s_cpu:          db "CPU", 0
s_mem:          db "Memory", 0
s_equip:        db "Equipment", 0
s_clock:        db "Clock", 0
s_8086:         db "8086/8088 (FLAGS bits 12-15 stuck at 1)", 0
s_286:          db "80286 (FLAGS bits 12-15 stuck at 0)", 0
s_386:          db "386 or later, no CPUID", 0
s_386id:        db "386 or later, CPUID ", 0
s_family:       db " family ", 0
s_kb:           db " KB conventional (INT 12h)", 0
s_colon:        db ": ", 0
s_floppy:       db " floppy, ", 0
s_vid_colour:   db "80x25 colour, ", 0
s_vid_mono:     db "80x25 mono, ", 0
s_vid_other:    db "40x25 colour, ", 0
s_serial:       db " serial (INT 11h)", 0
s_video:        db "Video", 0
s_mode:         db "mode ", 0
s_cols:         db ", ", 0
s_cols2:        db " columns, text at B800:0000 (INT 10h AH=0Fh)", 0
s_rtc:          db " (RTC, INT 1Ah)", 0
s_no_rtc:       db "no RTC (INT 1Ah AH=04h failed)", 0
s_timer:        db " Timer interrupts: IRQ 0, INT 1Ah ticks, HLT between ", 0
s_of:           db "/36 ticks", 0
s_res1:         db " ticks in ", 0
s_res2:         db " s of PC time: ", 0
s_res3:         db " Hz, ", 0
s_res4:         db " wake-ups from HLT", 0
s_palette:      db "The 16 colours: ", 0
s_short8086:    db "8086", 0
s_short286:     db "286", 0
s_short386:     db "386+", 0
s_sum1:         db "hvmm demo: ", 0
s_sum2:         db ", ", 0
s_sum3:         db " KB, ", 0
s_sum4:         db " timer ticks in ", 0
s_sum5:         db " s", 0
s_end:          db "Done: writing 0 to port 0xF4 ends the run.", 0

        align   512, db 0
image_end:

; ---- uninitialised ---------------------------------------------------------
        absolute image_end
bss:
cur:            resw 1
cpu_short:      resw 1
mem_kb:         resw 1
ticks:          resw 1
wakeups:        resw 1
start_tick:     resw 1
ms:             resw 1
vendor_sp:      resb 1                  ; ' ' before the vendor, if any
vendor:         resb 13
cpu_name:       resb 80
line:           resb 80
summary:        resb 160
bss_end:
