; hvmm BIOS, included by guests/bios.asm: INT 15h system services.
;
;   AH=24h  A20 gate through port 92h ("fast A20"): 00 off, 01 on, 02 state
;           in AL, 03 support (BX = 2: port 92h)
;   AH=41h  wait on external event (PS/2 only): not supported, CF = 1
;   AH=4Fh  keyboard intercept: CF = 1, AL unchanged (use the scan code)
;   AH=86h  wait CX:DX microseconds on the RTC periodic interrupt (1024 Hz,
;           INT 70h counts down 0040:009C; 0040:00A0 is the wait flag)
;   AH=88h  extended memory in KiB above 1 MiB (CMOS 30h/31h, set by the
;           machine: hvmm/pc.py)
;   AH=C0h  ES:BX = system configuration table (model FCh)
;   AX=E801h  AX = CX = KiB between 1 and 16 MiB, BX = DX = 64 KiB blocks
;           above 16 MiB (CMOS 34h/35h)
;   AX=E820h  memory map (386 only: it needs the 32-bit registers)
; Anything else: CF = 1, AH = 86h.

BDA_WAIT_COUNT  equ 0x9C            ; dword: microseconds left (INT 15h AH=86h)
BDA_WAIT_FLAG   equ 0xA0            ; bit 0: wait active, bit 7: time is up
RTC_PERIOD_US   equ 976             ; 1024 Hz periodic interrupt

int15_handler:
        cmp     ax, 0xE820
        jne     .frame
        jmp     int15_e820
.frame: sti
        FRAME_ENTER
        cmp     ah, 0x88
        je      int15_ext_memory
        cmp     ax, 0xE801
        je      int15_e801
        cmp     ah, 0x86
        je      int15_wait
        cmp     ah, 0xC0
        je      int15_config
        cmp     ah, 0x24
        je      int15_a20
        cmp     ah, 0x4F
        je      int15_fail_keep_ah
int15_unsupported:                      ; also AH=41h
        mov     byte [bp+F_AH], 0x86
int15_fail_keep_ah:
        SET_CF
int15_ret:
        FRAME_LEAVE

int15_ok:                               ; AH = 0, CF = 0
        mov     byte [bp+F_AH], 0
        CLEAR_CF
        jmp     int15_ret

; cmos_read_word: AX = CMOS registers AL (low byte) and AL + 1 (high byte).
cmos_read_word:
        push    bx
        mov     bl, al
        inc     al
        call    cmos_read
        mov     bh, al
        mov     al, bl
        call    cmos_read
        mov     ah, bh
        pop     bx
        ret

; AH=88h: AX = extended memory (KiB above 1 MiB, at most FFFFh).
int15_ext_memory:
        mov     al, 0x30
        call    cmos_read_word
        mov     [bp+F_AX], ax
        CLEAR_CF
        jmp     int15_ret

; AX=E801h: AX = CX = KiB from 1 to 16 MiB (at most 3C00h), BX = DX = 64 KiB
; blocks above 16 MiB.
int15_e801:
        mov     al, 0x30
        call    cmos_read_word
        cmp     ax, 0x3C00
        jbe     .below
        mov     ax, 0x3C00
.below: mov     [bp+F_AX], ax
        mov     [bp+F_CX], ax
        mov     al, 0x34
        call    cmos_read_word
        mov     [bp+F_BX], ax
        mov     [bp+F_DX], ax
        CLEAR_CF
        jmp     int15_ret

; AH=C0h: ES:BX = the configuration table, AH = 0.
int15_config:
        mov     word [bp+F_BX], sys_config_table
        mov     word [bp+F_ES], ROM_SEG
        jmp     int15_ok

sys_config_table:
        dw      8                       ; bytes that follow
        db      0xFC                    ; model: PC/AT
        db      0x01                    ; submodel
        db      0x00                    ; BIOS revision
        db      0x60                    ; feature 1: second 8259 (bit 6), RTC (bit 5)
        db      0, 0, 0, 0              ; features 2-5

; AH=24h: A20 gate through port 92h. Not on an 8086 (no A20 gate).
int15_a20:
        call    is_8086
        je      int15_unsupported
        mov     al, [bp+F_AL]
        cmp     al, 0x03
        je      .support
        cmp     al, 0x02
        je      .state
        cmp     al, 0x01
        ja      int15_unsupported
        mov     ah, al                  ; AH = 0 off, 1 on
        shl     ah, 1                   ; -> bit 1
        in      al, 0x92
        and     al, 0xFC                ; bit 0 is the fast reset: leave it 0
        or      al, ah
        out     0x92, al
        jmp     int15_ok
.state: in      al, 0x92
        shr     al, 1
        and     al, 1
        mov     [bp+F_AL], al
        jmp     int15_ok
.support:
        mov     word [bp+F_BX], 0x0002  ; bit 1: port 92h (bit 0: 8042 not used)
        jmp     int15_ok

; is_8086: ZF = 1 on an 8086 (PUSH SP pushes the decremented SP there).
is_8086:
        push    ax
        push    sp
        pop     ax
        cmp     ax, sp
        pop     ax
        je      .no
        cmp     ax, ax                  ; ZF = 1
        ret
.no:    or      sp, sp                  ; SP is never 0 here: ZF = 0
        ret

; is_pre386: ZF = 1 on an 8086 or a 286 (whose POPF cannot set IOPL and NT
; in real mode: FLAGS bits 12-14 stay clear).
is_pre386:
        call    is_8086
        je      .ret
        push    ax
        pushf
        pushf
        pop     ax
        or      ax, 0x7000
        push    ax
        popf
        pushf
        pop     ax                      ; FLAGS as POPF left them
        popf                            ; the caller's flags back
        test    ax, 0x7000              ; ZF = 1: none of them set (a 286)
        pop     ax
.ret:   ret

; AH=86h: wait CX:DX microseconds (in steps of the 976 us RTC period).
int15_wait:
        cli
        test    byte [BDA_WAIT_FLAG], 1
        jz      .free
        sti
        mov     byte [bp+F_AH], 0x83    ; a wait is already running
        SET_CF
        jmp     int15_ret
.free:  mov     ax, [bp+F_DX]
        mov     [BDA_WAIT_COUNT], ax
        mov     ax, [bp+F_CX]
        mov     [BDA_WAIT_COUNT+2], ax
        mov     byte [BDA_WAIT_FLAG], 1
        in      al, 0xA1                ; IRQ 8 unmasked
        and     al, 0xFE
        out     0xA1, al
        in      al, 0x21                ; and the cascade
        and     al, 0xFB
        out     0x21, al
        mov     al, 0x0B                ; periodic interrupt on
        call    cmos_read
        or      al, 0x40
        mov     ah, al
        mov     al, 0x0B
        call    cmos_write
.wait:  cli
        test    byte [BDA_WAIT_FLAG], 0x80
        jnz     .done
        sti                             ; STI; HLT: no wakeup is lost between them
        hlt
        jmp     .wait
.done:  mov     byte [BDA_WAIT_FLAG], 0
        sti
        jmp     int15_ok

; cmos_write: CMOS register AL = AH.
cmos_write:
        out     0x70, al
        mov     al, ah
        out     0x71, al
        ret

; AX=E820h: EDX = 'SMAP', EBX = continuation (0 first), ECX = buffer size,
; ES:DI = buffer. Returns the entry, EAX = 'SMAP', ECX = 20, EBX = the next
; continuation (0 after the last entry), CF = 0. The map:
;   0 - A0000 usable (640 KiB, what INT 12h reports; no EBDA)
;   F0000 - 100000 reserved (this ROM)
;   100000 - top usable (from CMOS 30h/31h, or 34h/35h above 16 MiB)
int15_e820:
        call    is_pre386               ; (8086 code up to here)
        je      int15_e820_fail
        cpu     386
        cmp     edx, 0x534D4150         ; 'SMAP'
        jne     int15_e820_fail
        cmp     ecx, 20
        jb      int15_e820_fail
        cmp     ebx, 2
        ja      int15_e820_fail
        push    eax
        push    edx
        push    esi
        cld
        cmp     bx, 1
        je      .rom
        ja      .high
        xor     eax, eax                ; 0: base 0, 640 KiB, usable
        mov     edx, 0xA0000
        mov     esi, 1
        jmp     .store
.rom:   mov     eax, 0xF0000            ; 1: the BIOS ROM, reserved
        mov     edx, 0x10000
        mov     esi, 2
        jmp     .store
.high:  call    extended_bytes          ; 2: above 1 MiB
        test    edx, edx
        jz      .nohigh
        mov     eax, 0x100000
        mov     esi, 1
.store: push    di
        stosd                           ; base (qword)
        xor     eax, eax
        stosd
        mov     eax, edx                ; length (qword)
        stosd
        xor     eax, eax
        stosd
        mov     eax, esi                ; type
        stosd
        pop     di
        inc     ebx                     ; next entry
        cmp     ebx, 2
        jb      .more
        ja      .last
        call    extended_bytes          ; no memory above 1 MiB: entry 1 is the last
        test    edx, edx
        jnz     .more
.last:  xor     ebx, ebx
.more:  pop     esi
        pop     edx
        pop     eax
        mov     eax, 0x534D4150
        mov     ecx, 20
        push    bp
        mov     bp, sp
        and     word [bp+6], ~FL_CF
        pop     bp
        iret
.nohigh:
        pop     esi
        pop     edx
        pop     eax
int15_e820_fail:                        ; (8086 code)
        push    bp
        mov     bp, sp
        or      word [bp+6], FL_CF
        pop     bp
        mov     ah, 0x86
        iret

; extended_bytes: EDX = bytes of RAM above 1 MiB (from the CMOS).
extended_bytes:
        push    eax
        mov     al, 0x34
        call    cmos_read_word
        movzx   edx, ax
        test    edx, edx
        jz      .below16
        shl     edx, 16                 ; 64 KiB blocks above 16 MiB
        add     edx, 0xF00000           ; + 15 MiB from 1 to 16 MiB
        jmp     .done
.below16:
        mov     al, 0x30
        call    cmos_read_word
        movzx   edx, ax
        shl     edx, 10
.done:  pop     eax
        ret
        cpu     8086
