; hvmm BIOS: the PC firmware written by this project.
;
; A 64 KiB ROM for F0000-FFFFF (nasm -f bin, org 0 with CS = F000h). The CPU
; starts at F000:FFF0, which jumps to POST. 8086 instructions only, so the
; same ROM runs on every CPU model (386 code only where a 386 asked for it).
;
; What is here: POST (IVT, BDA, PIC, PIT, video), IRQ 0 (timer ticks), IRQ 1
; (keyboard into the BDA buffer), 11h, 12h, 16h and 1Ah (ticks, RTC); in
; include files (guests/bios/, assembled with -i guests/): INT 10h
; (bios/video.asm), 13h, 18h and 19h (bios/disk.asm, through the
; paravirtual disk port, see docs/firmware.md), 14h and 17h
; (bios/serial.asm), 15h (bios/int15.asm), 70h and the RTC parts of POST and
; INT 1Ah (bios/rtc.asm), the MTRRs on a CPU that has them (bios/mtrr.asm).
; See docs/firmware.md for what is not done yet.
;
; Conventions: service routines (INT 10h/13h/16h/1Ah) save every register in
; a frame on the stack (FRAME_ENTER), run with DS = 0040h (the BDA) and
; BP pointing at the frame, and return values by writing into the frame; the
; caller's flags are in the frame too, so CF/ZF results are set there.

        cpu     8086
        bits    16
        org     0

BDA_SEG         equ 0x0040
VIDEO_SEG       equ 0xB800
ROM_SEG         equ 0xF000
; POST code (port 0x80) written before the BIOS halts for good: INT 18h,
; nothing to boot (hvmm reports it as its own exit status, not the guest's).
POST_NO_BOOT    equ 0x18

; ---- the paravirtual disk port device (hvmm/firmware/disk_port.py) --------
DISK_CMD        equ 0x4A0           ; write: command; read: status
DISK_DRIVE      equ 0x4A2           ; BIOS drive number (00h, 01h, 80h...)
DISK_LBA_LO     equ 0x4A4           ; after GEOMETRY: cylinders
DISK_LBA_HI     equ 0x4A6           ; after GEOMETRY: heads
DISK_COUNT      equ 0x4A8           ; sectors; after a transfer: sectors done
                                    ; after GEOMETRY: sectors per track
DISK_BUF_OFF    equ 0x4AA
DISK_BUF_SEG    equ 0x4AC
DISK_INFO       equ 0x4AE           ; after GEOMETRY: drive type; after DRIVES: hard disks
CMD_READ        equ 1
CMD_WRITE       equ 2
CMD_VERIFY      equ 3
CMD_GEOMETRY    equ 4
CMD_DRIVES      equ 5
CMD_SIZE        equ 6               ; total sectors in LBA low/high
CMD_KERNEL      equ 7               ; a loaded kernel: segment in LBA low, SP in high

; ---- BDA offsets (segment 0040h) ---------------------------------------------
BDA_COM1        equ 0x00
BDA_EQUIP       equ 0x10
BDA_MEMSIZE     equ 0x13
BDA_KBFLAGS     equ 0x17            ; shift/ctrl/alt/lock state
BDA_KBFLAGS2    equ 0x18            ; keys held: bit 6 caps, 5 num, 4 scroll
BDA_KBHEAD      equ 0x1A
BDA_KBTAIL      equ 0x1C
BDA_KBBUF       equ 0x1E
BDA_KBBUF_END   equ 0x3E
BDA_FD_STATUS   equ 0x41            ; last floppy status
BDA_VMODE       equ 0x49
BDA_VCOLS       equ 0x4A
BDA_VPAGESIZE   equ 0x4C
BDA_VPAGESTART  equ 0x4E
BDA_CURSOR      equ 0x50            ; 8 words: col (low), row (high) per page
BDA_CURSHAPE    equ 0x60            ; end line (low), start line (high)
BDA_VPAGE       equ 0x62
BDA_CRTC        equ 0x63
BDA_VMODECTL    equ 0x65
BDA_VPALETTE    equ 0x66
BDA_TICKS       equ 0x6C            ; dword
BDA_MIDNIGHT    equ 0x70
BDA_RESETFLAG   equ 0x72
BDA_HD_STATUS   equ 0x74
BDA_LPT_TIMEOUT equ 0x78
BDA_COM_TIMEOUT equ 0x7C            ; 4 bytes: INT 14h time-outs (x 65536 polls)
BDA_HD_COUNT    equ 0x75
BDA_KBSTART     equ 0x80
BDA_KBEND       equ 0x82
BDA_VROWS       equ 0x84            ; rows - 1
BDA_VCHARH      equ 0x85            ; word: character height
BDA_VEGAMISC    equ 0x87            ; EGA/VGA: bit 7 memory kept at mode set
BDA_VSWITCHES   equ 0x88            ; EGA/VGA: switch settings
BDA_VGAFLAGS    equ 0x89            ; VGA: mode set options
BDA_KBFLAGS3    equ 0x96            ; bit 1: last code was E0

TICKS_PER_DAY   equ 0x1800B0        ; 18.2065 Hz * 86400 s

; Register frame built by FRAME_ENTER, addressed as [bp+F_xx].
F_AX    equ 0
F_AL    equ 0
F_AH    equ 1
F_BX    equ 2
F_BL    equ 2
F_BH    equ 3
F_CX    equ 4
F_CL    equ 4
F_CH    equ 5
F_DX    equ 6
F_DL    equ 6
F_DH    equ 7
F_SI    equ 8
F_DI    equ 10
F_BP    equ 12
F_DS    equ 14
F_ES    equ 16
F_IP    equ 18
F_CS    equ 20
F_FLAGS equ 22

FL_CF   equ 0x0001
FL_ZF   equ 0x0040

%macro FRAME_ENTER 0
        push    es
        push    ds
        push    bp
        push    di
        push    si
        push    dx
        push    cx
        push    bx
        push    ax
        mov     bp, sp
        mov     ax, BDA_SEG
        mov     ds, ax
        mov     ax, [bp+F_AX]
        cld
%endmacro

%macro FRAME_LEAVE 0
        pop     ax
        pop     bx
        pop     cx
        pop     dx
        pop     si
        pop     di
        pop     bp
        pop     ds
        pop     es
        iret
%endmacro

%macro SET_CF 0
        or      word [bp+F_FLAGS], FL_CF
%endmacro
%macro CLEAR_CF 0
        and     word [bp+F_FLAGS], ~FL_CF
%endmacro

; =============================================================================
; POST
; =============================================================================
post:
        cli
        cld
        xor     ax, ax
        mov     ss, ax
        mov     sp, 0x7C00              ; below the boot sector's load address

        ; --- IVT: every vector to an IRET, then the services we provide ----
        mov     es, ax
        xor     di, di
        mov     cx, 256
.ivt:   mov     ax, iret_stub
        stosw
        mov     ax, ROM_SEG
        stosw
        loop    .ivt
        ; Unhandled hardware IRQs must still be acknowledged at the PIC, or
        ; the line stays in service and blocks lower priorities.
        mov     di, 0x0A * 4
        mov     cx, 6                   ; IRQ 2-7
.ivtm:  mov     ax, irq_master_stub
        stosw
        mov     ax, ROM_SEG
        stosw
        loop    .ivtm
        mov     di, 0x70 * 4
        mov     cx, 8                   ; IRQ 8-15
.ivts:  mov     ax, irq_slave_stub
        stosw
        mov     ax, ROM_SEG
        stosw
        loop    .ivts
        mov     si, vector_table
.vec:   cs lodsw                        ; vector number (FFFFh ends the table)
        cmp     ax, 0xFFFF
        je      .vec_done
        shl     ax, 1
        shl     ax, 1
        mov     di, ax
        cs lodsw                        ; handler offset in F000
        stosw
        mov     ax, ROM_SEG
        stosw
        jmp     .vec
.vec_done:

        ; --- BDA: zero it, then the fields DOS and programs read ----------
        mov     di, 0x400
        mov     cx, 0x80
        xor     ax, ax
        rep stosw
        mov     ax, BDA_SEG
        mov     ds, ax
        mov     word [BDA_COM1], 0x3F8
        mov     word [BDA_MEMSIZE], 640
        mov     word [BDA_KBHEAD], BDA_KBBUF
        mov     word [BDA_KBTAIL], BDA_KBBUF
        mov     word [BDA_KBSTART], BDA_KBBUF
        mov     word [BDA_KBEND], BDA_KBBUF_END
        mov     byte [BDA_LPT_TIMEOUT], 0x14
        mov     word [BDA_COM_TIMEOUT], 0x0101
        mov     word [BDA_COM_TIMEOUT+2], 0x0101
        call    rtc_post                ; RTC interrupts off; ticks from the RTC
        call    mtrr_post               ; memory types, where CPUID has MTRRs

        ; --- 8259A PICs: master at vector 08h, slave at 70h (PC/AT layout) --
        mov     al, 0x11                ; ICW1: edge, cascade, ICW4 follows
        out     0x20, al
        out     0xA0, al
        mov     al, 0x08                ; ICW2: vector bases
        out     0x21, al
        mov     al, 0x70
        out     0xA1, al
        mov     al, 0x04                ; ICW3: slave on master's IR2
        out     0x21, al
        mov     al, 0x02                ; ICW3: slave identity 2
        out     0xA1, al
        mov     al, 0x01                ; ICW4: 8086 mode, normal EOI
        out     0x21, al
        out     0xA1, al
        mov     al, 0xF8                ; unmask IRQ 0 (timer), 1 (kbd), 2 (cascade)
        out     0x21, al
        mov     al, 0xFE                ; IRQ 8 (RTC; it interrupts only when asked)
        out     0xA1, al

        ; --- 8254 PIT channel 0: mode 3, divisor 65536 -> 18.2065 Hz -------
        mov     al, 0x36                ; channel 0, lobyte/hibyte, mode 3, binary
        out     0x43, al
        xor     al, al
        out     0x40, al
        out     0x40, al

        ; --- 8042: drop anything left in the output buffer -----------------
        ; (The controller powers up with IRQ 1 and set 2 -> set 1 translation
        ; on, which is what the IRQ 1 handler expects.)
        mov     cx, 16
.kflush: in     al, 0x64
        test    al, 1
        jz      .kdone
        in      al, 0x60
        loop    .kflush
.kdone:

        ; --- disks: ask the disk port how many drives it has ---------------
        mov     dx, DISK_CMD
        mov     ax, CMD_DRIVES
        out     dx, ax
        in      ax, dx                  ; status: 0 = ok (FFFFh: no device)
        xor     bx, bx                  ; BL = floppies, BH = hard disks
        test    ax, ax
        jnz     .nodisk
        mov     dx, DISK_COUNT
        in      ax, dx
        mov     bl, al
        mov     dx, DISK_INFO
        in      ax, dx
        mov     bh, al
.nodisk:
        mov     [BDA_HD_COUNT], bh
        ; Equipment word: 80x25 colour (bits 4-5 = 10b), one serial port
        ; (bits 9-11), floppies present (bit 0) and their count - 1 (bits 6-7).
        mov     ax, 0x0220
        test    bl, bl
        jz      .noflop
        mov     cl, 6
        mov     dl, bl
        dec     dl
        and     dl, 3
        xor     dh, dh
        shl     dx, cl
        or      ax, dx
        or      al, 1
.noflop:
        mov     [BDA_EQUIP], ax

        ; --- video: mode 3, banner -----------------------------------------
        mov     ax, 0x0003
        int     0x10
        mov     si, msg_banner
        call    print_rom_string

        sti
        int     0x19                    ; boot (does not return)
        jmp     halt_forever

; Vectors installed by POST: (vector, handler) pairs.
vector_table:
        dw      0x08, irq0_handler
        dw      0x09, irq1_handler
        dw      0x10, int10_handler
        dw      0x11, int11_handler
        dw      0x12, int12_handler
        dw      0x13, int13_handler
        dw      0x14, int14_handler
        dw      0x15, int15_handler
        dw      0x16, int16_handler
        dw      0x17, int17_handler
        dw      0x18, int18_handler
        dw      0x19, int19_handler
        dw      0x1A, int1a_handler
        dw      0x1E, diskette_params  ; INT 1Eh is a pointer to data
        dw      0x1F, font_8x8_upper   ; graphics characters 80h-FFh
        dw      0x43, font_8x8         ; graphics characters (EGA/VGA)
        dw      0x70, int70_handler
        dw      0xFFFF

msg_banner:     db "hvmm BIOS 0.1  640K base memory", 13, 10, 0
msg_int18:      db "hvmm BIOS: no bootable device (INT 18h)", 13, 10, 0

; print_rom_string: CS:SI -> NUL-terminated text through INT 10h AH=0Eh.
print_rom_string:
        push    ax
        push    bx
        push    si
.next:  cs lodsb
        test    al, al
        jz      .done
        mov     ah, 0x0E
        mov     bx, 0x0007
        int     0x10
        jmp     .next
.done:  pop     si
        pop     bx
        pop     ax
        ret

halt_forever:
        cli
        hlt
        jmp     halt_forever

; =============================================================================
; Default and unhandled interrupts
; =============================================================================
iret_stub:
        iret

irq_master_stub:                        ; IRQ 2-7 nobody handles: EOI
        push    ax
        mov     al, 0x20
        out     0x20, al
        pop     ax
        iret

irq_slave_stub:                         ; IRQ 8-15: EOI both PICs
        push    ax
        mov     al, 0x20
        out     0xA0, al
        out     0x20, al
        pop     ax
        iret

; =============================================================================
; IRQ 0: timer tick (18.2 Hz)
; =============================================================================
irq0_handler:
        push    ax
        push    ds
        mov     ax, BDA_SEG
        mov     ds, ax
        add     word [BDA_TICKS], 1
        adc     word [BDA_TICKS+2], 0
        cmp     word [BDA_TICKS+2], TICKS_PER_DAY >> 16
        jb      .user
        cmp     word [BDA_TICKS], TICKS_PER_DAY & 0xFFFF
        jb      .user
        mov     word [BDA_TICKS], 0     ; midnight: restart the count and
        mov     word [BDA_TICKS+2], 0   ; tell INT 1Ah AH=00 a day passed
        mov     byte [BDA_MIDNIGHT], 1
.user:  int     0x1C                    ; the user timer hook
        mov     al, 0x20
        out     0x20, al
        pop     ds
        pop     ax
        iret

; =============================================================================
; IRQ 1: keyboard. The 8042 translates the keyboard's set 2 to set 1, so
; port 60h gives set 1 codes: bit 7 set = key released, E0 = extended prefix.
; =============================================================================
irq1_handler:
        push    ax
        push    bx
        push    cx
        push    ds
        mov     ax, BDA_SEG
        mov     ds, ax
        in      al, 0x60
        cmp     al, 0xE0
        jne     .not_e0
        or      byte [BDA_KBFLAGS3], 2
        jmp     .eoi
.not_e0:
        cmp     al, 0xE1                ; Pause prefix: not handled yet
        je      .eoi
        mov     bl, [BDA_KBFLAGS3]      ; BL bit 1: this code had E0 before it
        and     byte [BDA_KBFLAGS3], ~2
        mov     ah, al
        and     ah, 0x7F                ; AH = key, AL bit 7 = release

        ; --- modifier keys: update 0040:0017 ---
        mov     cl, 0x02                ; left shift
        cmp     ah, 0x2A
        je      .shift
        mov     cl, 0x01                ; right shift
        cmp     ah, 0x36
        je      .shift
        mov     cl, 0x04                ; ctrl (left, or E0 1D right)
        cmp     ah, 0x1D
        je      .modifier
        mov     cl, 0x08                ; alt (left, or E0 38 right)
        cmp     ah, 0x38
        je      .modifier
        mov     cl, 0x40                ; caps lock
        cmp     ah, 0x3A
        je      .toggle
        mov     cl, 0x20                ; num lock
        cmp     ah, 0x45
        je      .toggle
        mov     cl, 0x10                ; scroll lock
        cmp     ah, 0x46
        je      .toggle
        test    al, 0x80
        jnz     .eoi                    ; other releases: nothing to do
        jmp     .make

.shift: test    bl, 2                   ; E0 2A / E0 36 are the keyboard's
        jnz     .eoi                    ; "fake shifts" around grey keys
.modifier:
        test    al, 0x80
        jnz     .mod_up
        or      [BDA_KBFLAGS], cl
        jmp     .eoi
.mod_up:
        not     cl
        and     [BDA_KBFLAGS], cl
        jmp     .eoi

.toggle:                                ; toggle once per press, not per repeat
        test    al, 0x80
        jnz     .tog_up
        test    [BDA_KBFLAGS2], cl
        jnz     .eoi
        or      [BDA_KBFLAGS2], cl
        xor     [BDA_KBFLAGS], cl
        jmp     .eoi
.tog_up:
        not     cl
        and     [BDA_KBFLAGS2], cl
        jmp     .eoi

.make:  ; AH = scan code of a pressed key: make AL = its character
        mov     cl, [BDA_KBFLAGS]
        test    cl, 0x04                ; Ctrl+Alt+Del: warm reboot
        jz      .no_cad
        test    cl, 0x08
        jz      .no_cad
        cmp     ah, 0x53
        jne     .no_cad
        mov     word [BDA_RESETFLAG], 0x1234
        jmp     ROM_SEG:0xFFF0
.no_cad:
        xor     al, al
        cmp     ah, 0x47                ; keypad 7..keypad .
        jb      .main
        cmp     ah, 0x53
        ja      .store                  ; F11, F12 and the rest: scan code only
        test    bl, 2                   ; E0: grey cursor keys, no digits
        jnz     .store
        mov     bl, ah
        sub     bl, 0x47
        xor     bh, bh
        mov     al, [cs:bx+keypad_ascii]
        cmp     al, '-'                 ; keypad - and + ignore num lock
        je      .store
        cmp     al, '+'
        je      .store
        mov     ch, cl                  ; digits if num lock XOR shift
        and     ch, 0x20
        test    cl, 0x03
        jz      .kp1
        xor     ch, 0x20
.kp1:   test    ch, ch
        jnz     .store
        xor     al, al
        jmp     .store
.main:  cmp     ah, 0x39
        ja      .store                  ; F1-F10 etc.: ASCII 0
        mov     bl, ah
        xor     bh, bh
        mov     al, [cs:bx+ascii_normal]
        test    cl, 0x03                ; a shift key
        jz      .caps
        mov     al, [cs:bx+ascii_shift]
.caps:  test    cl, 0x40                ; caps lock inverts the case of letters
        jz      .ctrl
        mov     ch, al
        or      ch, 0x20
        cmp     ch, 'a'
        jb      .ctrl
        cmp     ch, 'z'
        ja      .ctrl
        xor     al, 0x20
.ctrl:  test    cl, 0x04
        jz      .alt
        cmp     al, 0x40                ; Ctrl+letter, @ [ \ ] ^ _ -> 00-1F
        jb      .alt
        and     al, 0x1F
.alt:   test    cl, 0x08
        jz      .store
        xor     al, al                  ; Alt+key: scan code only
.store: ; AX = scan << 8 | ascii: append to the ring buffer (drop if full)
        test    ax, ax
        jz      .eoi
        mov     bx, [BDA_KBTAIL]
        mov     cx, bx
        add     cx, 2
        cmp     cx, [BDA_KBEND]
        jb      .nowrap
        mov     cx, [BDA_KBSTART]
.nowrap:
        cmp     cx, [BDA_KBHEAD]
        je      .eoi                    ; full
        mov     [bx], ax
        mov     [BDA_KBTAIL], cx
.eoi:   mov     al, 0x20
        out     0x20, al
        pop     ds
        pop     cx
        pop     bx
        pop     ax
        iret

; Set 1 scan code -> ASCII, US layout, codes 00h-39h.
ascii_normal:
        db 0, 27, "1234567890-=", 8, 9
        db "qwertyuiop[]", 13, 0
        db "asdfghjkl;'`", 0, "\"
        db "zxcvbnm,./", 0, "*", 0, " "
ascii_shift:
        db 0, 27, "!@#$%^&*()_+", 8, 0
        db "QWERTYUIOP{}", 13, 0
        db 'ASDFGHJKL:"~', 0, "|"
        db "ZXCVBNM<>?", 0, "*", 0, " "
keypad_ascii:                           ; codes 47h-53h with num lock
        db "789-456+1230."

; =============================================================================
; INT 11h: equipment word. INT 12h: conventional memory in KiB.
; =============================================================================
int11_handler:
        push    ds
        mov     ax, BDA_SEG
        mov     ds, ax
        mov     ax, [BDA_EQUIP]
        pop     ds
        iret

int12_handler:
        push    ds
        mov     ax, BDA_SEG
        mov     ds, ax
        mov     ax, [BDA_MEMSIZE]
        pop     ds
        iret

; =============================================================================
; INT 16h: keyboard
; =============================================================================
int16_handler:
        sti
        FRAME_ENTER
        cmp     ah, 0x00
        je      kbd_read
        cmp     ah, 0x10
        je      kbd_read
        cmp     ah, 0x01
        je      kbd_peek
        cmp     ah, 0x11
        je      kbd_peek
        cmp     ah, 0x02
        je      kbd_flags
        cmp     ah, 0x12
        je      kbd_flags_ext
        cmp     ah, 0x05
        je      kbd_push
kbd_ret:
        FRAME_LEAVE

; AH=00h/10h: wait for a key; AX = scan << 8 | ASCII. Waits in HLT: the
; keyboard (or timer) interrupt wakes the CPU.
kbd_read:
        cli
        mov     bx, [BDA_KBHEAD]
        cmp     bx, [BDA_KBTAIL]
        jne     .got
        sti
        hlt
        jmp     kbd_read
.got:   mov     ax, [bx]
        add     bx, 2
        cmp     bx, [BDA_KBEND]
        jb      .nowrap
        mov     bx, [BDA_KBSTART]
.nowrap:
        mov     [BDA_KBHEAD], bx
        sti
        mov     [bp+F_AX], ax
        jmp     kbd_ret

; AH=01h/11h: ZF = 1 if no key is waiting, else ZF = 0 and AX = the key
; (left in the buffer).
kbd_peek:
        cli
        mov     bx, [BDA_KBHEAD]
        cmp     bx, [BDA_KBTAIL]
        sti
        je      .empty
        mov     ax, [bx]
        mov     [bp+F_AX], ax
        and     word [bp+F_FLAGS], ~FL_ZF
        jmp     kbd_ret
.empty: or      word [bp+F_FLAGS], FL_ZF
        jmp     kbd_ret

; AH=02h: AL = shift flags (0040:0017).
kbd_flags:
        mov     al, [BDA_KBFLAGS]
        mov     [bp+F_AL], al
        jmp     kbd_ret

; AH=12h: AL = shift flags, AH = extended flags (keys held).
kbd_flags_ext:
        mov     al, [BDA_KBFLAGS]
        mov     ah, [BDA_KBFLAGS2]
        mov     [bp+F_AX], ax
        jmp     kbd_ret

; AH=05h: put CH = scan, CL = ASCII into the buffer; AL = 0 ok, 1 full.
kbd_push:
        cli
        mov     bx, [BDA_KBTAIL]
        mov     dx, bx
        add     dx, 2
        cmp     dx, [BDA_KBEND]
        jb      .nowrap
        mov     dx, [BDA_KBSTART]
.nowrap:
        mov     al, 1
        cmp     dx, [BDA_KBHEAD]
        je      .out
        mov     cx, [bp+F_CX]
        mov     [bx], cx
        mov     [BDA_KBTAIL], dx
        xor     al, al
.out:   sti
        mov     [bp+F_AL], al
        jmp     kbd_ret

; =============================================================================
; INT 1Ah: time of day
; =============================================================================
int1a_handler:
        sti
        FRAME_ENTER
        cmp     ah, 0x00
        je      time_get_ticks
        cmp     ah, 0x01
        je      time_set_ticks
        cmp     ah, 0x02
        je      time_rtc_time
        cmp     ah, 0x03
        je      time_set_rtc_time
        cmp     ah, 0x04
        je      time_rtc_date
        cmp     ah, 0x05
        je      time_set_rtc_date
        SET_CF
time_ret:
        FRAME_LEAVE

; AH=00h: CX:DX = ticks since midnight, AL = midnight passed (then cleared).
time_get_ticks:
        cli
        mov     ax, [BDA_TICKS]
        mov     [bp+F_DX], ax
        mov     ax, [BDA_TICKS+2]
        mov     [bp+F_CX], ax
        mov     al, 0
        xchg    al, [BDA_MIDNIGHT]
        sti
        mov     [bp+F_AL], al
        jmp     time_ret

; AH=01h: ticks = CX:DX.
time_set_ticks:
        cli
        mov     ax, [bp+F_DX]
        mov     [BDA_TICKS], ax
        mov     ax, [bp+F_CX]
        mov     [BDA_TICKS+2], ax
        mov     byte [BDA_MIDNIGHT], 0
        sti
        jmp     time_ret

; AH=02h: CH = hours, CL = minutes, DH = seconds (BCD), DL = DST flag.
time_rtc_time:
        call    rtc_wait
        mov     al, 0x04
        call    cmos_read
        mov     [bp+F_CH], al
        mov     al, 0x02
        call    cmos_read
        mov     [bp+F_CL], al
        mov     al, 0x00
        call    cmos_read
        mov     [bp+F_DH], al
        mov     al, 0x0B
        call    cmos_read
        and     al, 1
        mov     [bp+F_DL], al
        CLEAR_CF
        jmp     time_ret

; AH=04h: CH = century, CL = year, DH = month, DL = day (BCD).
time_rtc_date:
        call    rtc_wait
        mov     al, 0x32
        call    cmos_read
        mov     [bp+F_CH], al
        mov     al, 0x09
        call    cmos_read
        mov     [bp+F_CL], al
        mov     al, 0x08
        call    cmos_read
        mov     [bp+F_DH], al
        mov     al, 0x07
        call    cmos_read
        mov     [bp+F_DL], al
        CLEAR_CF
        jmp     time_ret

; cmos_read: AL = CMOS register AL.
cmos_read:
        out     0x70, al
        in      al, 0x71
        ret

; rtc_wait: wait while an update is in progress (register A bit 7), so the
; registers read next are consistent (the update takes under 2 ms).
rtc_wait:
        mov     cx, 0xFFFF
.poll:  mov     al, 0x0A
        call    cmos_read
        test    al, 0x80
        jz      .done
        loop    .poll
.done:  ret

; =============================================================================
; Services in their own files (guests/bios/)
; =============================================================================
%include "bios/video.asm"
%include "bios/disk.asm"
%include "bios/int15.asm"
%include "bios/serial.asm"
%include "bios/rtc.asm"
%include "bios/mtrr.asm"

; =============================================================================
; Reset vector and ROM identification
; =============================================================================
        times   0xFFF0 - ($ - $$) db 0xFF
reset_vector:                           ; F000:FFF0
        jmp     ROM_SEG:post
        db      "01/01/26"              ; F000:FFF5 ROM date
        db      0xFF
        db      0xFC                    ; F000:FFFE model: PC/AT
        db      0xFF
