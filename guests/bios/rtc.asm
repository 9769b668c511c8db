; hvmm BIOS, included by guests/bios.asm: the MC146818 RTC side.
;
;   rtc_post      POST: RTC interrupts off, flags cleared, the tick count at
;                 0040:006C set from the RTC's time of day
;   INT 70h       IRQ 8: read register C, count down an INT 15h AH=86h wait
;                 on the periodic interrupt, INT 4Ah on the alarm, EOI to
;                 both PICs
;   INT 1Ah 03h   set the RTC time: CH hours, CL minutes, DH seconds (BCD),
;                 DL = 1 for daylight saving
;   INT 1Ah 05h   set the RTC date: CH century, CL year, DH month, DL day
; (Both with the SET bit of register B held while writing; the RTC is put
; in BCD, 24-hour mode as an AT BIOS does.)

; rtc_post: DS = BDA (already zeroed).
rtc_post:
        mov     al, 0x0B                ; no periodic/alarm/update interrupts
        call    cmos_read
        and     al, 0x0F                ; and not stopped (SET)
        mov     ah, al
        mov     al, 0x0B
        call    cmos_write
        mov     al, 0x0C                ; clear pending flags
        call    cmos_read
        ; ticks = seconds since midnight * 1573040 / 86400 (= * 19663 / 1080)
        call    rtc_wait
        mov     al, 0x04
        call    rtc_read_binary         ; hours (12-hour mode: bit 7 = PM)
        mov     bl, al
        mov     al, 0x0B
        call    cmos_read
        test    al, 0x02
        jnz     .h24
        mov     al, bl                  ; 12-hour: 12 AM = 0, PM + 12
        and     bl, 0x7F
        cmp     bl, 12
        jne     .h12
        xor     bl, bl
.h12:   test    al, 0x80
        jz      .h24
        add     bl, 12
.h24:   mov     al, bl
        xor     ah, ah
        mov     cx, 3600
        mul     cx                      ; DX:AX = hours * 3600
        push    dx
        push    ax
        mov     al, 0x02
        call    rtc_read_binary
        mov     cl, 60
        mul     cl                      ; AX = minutes * 60
        mov     bx, ax
        mov     al, 0x00
        call    rtc_read_binary
        xor     ah, ah
        add     bx, ax                  ; + seconds
        pop     ax
        pop     dx
        add     ax, bx
        adc     dx, 0                   ; DX:AX = seconds since midnight
        mov     cx, 19663
        mov     bx, dx                  ; (DX is 0 or 1)
        mul     cx
        test    bx, bx
        jz      .nohi
        add     dx, cx
.nohi:  mov     cx, 1080                ; DX:AX / 1080, high word first
        mov     bx, ax
        mov     ax, dx
        xor     dx, dx
        div     cx
        mov     [BDA_TICKS+2], ax
        mov     ax, bx
        div     cx
        mov     [BDA_TICKS], ax
        ret

; rtc_read_binary: AL = CMOS register AL in binary (converted from BCD
; unless register B says binary). Bit 7 is kept (the 12-hour PM flag).
rtc_read_binary:
        push    bx
        push    cx
        call    cmos_read
        mov     bl, al
        mov     al, 0x0B
        call    cmos_read
        test    al, 0x04
        mov     al, bl
        jnz     .out
        and     bl, 0x80
        and     al, 0x7F
        mov     ah, al                  ; BCD -> binary
        mov     cl, 4
        shr     ah, cl
        and     al, 0x0F
        mov     cl, al
        mov     al, 10
        mul     ah
        add     al, cl
        or      al, bl
.out:   pop     cx
        pop     bx
        ret

; INT 70h: IRQ 8, the RTC.
int70_handler:
        push    ax
        push    ds
        mov     ax, BDA_SEG
        mov     ds, ax
        mov     al, 0x0C                ; register C: which events (clears it)
        call    cmos_read
        mov     ah, al
        mov     al, 0x0B
        call    cmos_read
        and     ah, al                  ; only the enabled ones
        test    ah, 0x40                ; periodic: an INT 15h AH=86h wait
        jz      .alarm
        test    byte [BDA_WAIT_FLAG], 1
        jz      .alarm
        test    byte [BDA_WAIT_FLAG], 0x80
        jnz     .alarm
        sub     word [BDA_WAIT_COUNT], RTC_PERIOD_US
        sbb     word [BDA_WAIT_COUNT+2], 0
        jnc     .alarm
        or      byte [BDA_WAIT_FLAG], 0x80   ; time is up: periodic interrupt off
        push    ax
        mov     al, 0x0B
        call    cmos_read
        and     al, ~0x40
        mov     ah, al
        mov     al, 0x0B
        call    cmos_write
        pop     ax
.alarm: test    ah, 0x20
        jz      .eoi
        sti
        int     0x4A                    ; the user's alarm handler
        cli
.eoi:   mov     al, 0x20
        out     0xA0, al
        out     0x20, al
        pop     ds
        pop     ax
        iret

; rtc_set_begin: SET in register B (the clock stops counting while the
; registers are written).
rtc_set_begin:
        call    rtc_wait
        mov     al, 0x0B
        call    cmos_read
        or      al, 0x80
        mov     ah, al
        mov     al, 0x0B
        jmp     cmos_write

; rtc_write_frame: CMOS register AL = the frame byte at [bp+SI].
rtc_write_frame:
        mov     ah, [bp+si]
        jmp     cmos_write

; INT 1Ah AH=03h: set the time.
time_set_rtc_time:
        call    rtc_set_begin
        mov     al, 0x04
        mov     si, F_CH
        call    rtc_write_frame
        mov     al, 0x02
        mov     si, F_CL
        call    rtc_write_frame
        mov     al, 0x00
        mov     si, F_DH
        call    rtc_write_frame
        mov     al, 0x0B                ; SET off, BCD, 24-hour, DST from DL
        call    cmos_read
        and     al, 0x70                ; keep the interrupt enables
        or      al, 0x02
        mov     ah, [bp+F_DL]
        and     ah, 1
        or      ah, al
        mov     al, 0x0B
        call    cmos_write
        CLEAR_CF
        jmp     time_ret

; INT 1Ah AH=05h: set the date.
time_set_rtc_date:
        call    rtc_set_begin
        mov     al, 0x32
        mov     si, F_CH
        call    rtc_write_frame
        mov     al, 0x09
        mov     si, F_CL
        call    rtc_write_frame
        mov     al, 0x08
        mov     si, F_DH
        call    rtc_write_frame
        mov     al, 0x07
        mov     si, F_DL
        call    rtc_write_frame
        mov     al, 0x0B                ; SET off, BCD, 24-hour
        call    cmos_read
        and     al, 0x71                ; keep interrupt enables and DST
        or      al, 0x02
        mov     ah, al
        mov     al, 0x0B
        call    cmos_write
        CLEAR_CF
        jmp     time_ret
