; hvmm BIOS: INT 10h, video services (included by guests/bios.asm).
;
; Modes 0-3 (CGA-style colour text at B800), 7 (mono text at B000, CRTC at
; 3B4h), 4/5 (CGA 320x200 4 colours), 6 (CGA 640x200 2 colours), 13h (VGA
; 320x200 256 colours at A000). The hardware is the kernel's CGA 6845 model
; (3D4h-3DAh) plus the VGA registers at 3C0h-3CFh (hvmm/kernel/vga.pxi); the
; screen side tells the modes apart by the CGA mode control (3D8h) and the
; attribute controller's mode register (10h), so both are always written.
; Other modes (the planar EGA/VGA ones) are refused: the call changes nothing.

; Locals below the register frame (int10_handler reserves them).
L_KIND          equ -2              ; byte: K_xxx of the current mode
L_FLAG          equ -3              ; tty_put: write the attribute
L_ATTR          equ -4              ; tty_put: attribute / colour
L_FILL          equ -5              ; scroll: fill attribute / byte
L_LEFT          equ -6              ; scroll: left column
L_WIDTH         equ -7              ; scroll: columns
L_N             equ -8              ; scroll: lines
L_GLYPH         equ -16             ; 8 bytes: the cell read back by AH=08h
L_STEP          equ -18             ; word: scroll: bytes from row to row
L_SIZE          equ 18

K_TEXT          equ 0
K_CGA2          equ 1               ; 2 bits per pixel, interleaved at B800
K_CGA1          equ 2               ; 1 bit per pixel, interleaved at B800
K_VGA           equ 3               ; 1 byte per pixel, linear at A000

; =============================================================================
; INT 10h
; =============================================================================
int10_handler:
        sti
        FRAME_ENTER
        sub     sp, L_SIZE
        call    mode_kind
        mov     [bp+L_KIND], al
        mov     ax, [bp+F_AX]
        cmp     ah, VIDEO_FUNCS
        jae     .ret
        mov     al, ah
        xor     ah, ah
        shl     ax, 1
        mov     si, ax
        mov     ax, [bp+F_AX]
        call    [cs:si+video_table]
.ret:   mov     sp, bp
        FRAME_LEAVE

video_table:
        dw      vid_set_mode            ; 00
        dw      vid_cursor_shape        ; 01
        dw      vid_set_cursor          ; 02
        dw      vid_get_cursor          ; 03
        dw      vid_nop                 ; 04 light pen
        dw      vid_select_page         ; 05
        dw      vid_scroll_up           ; 06
        dw      vid_scroll_down         ; 07
        dw      vid_read_char           ; 08
        dw      vid_write_char_attr     ; 09
        dw      vid_write_char          ; 0A
        dw      vid_palette             ; 0B
        dw      vid_write_pixel         ; 0C
        dw      vid_read_pixel          ; 0D
        dw      vid_teletype            ; 0E
        dw      vid_get_mode            ; 0F
        dw      vid_dac_attr            ; 10
        dw      vid_font                ; 11
        dw      vid_alt_select          ; 12
        dw      vid_write_string        ; 13
        dw      vid_nop                 ; 14
        dw      vid_nop                 ; 15
        dw      vid_nop                 ; 16
        dw      vid_nop                 ; 17
        dw      vid_nop                 ; 18
        dw      vid_nop                 ; 19
        dw      vid_display_comb        ; 1A
        dw      vid_state_info          ; 1B
VIDEO_FUNCS     equ ($ - video_table) / 2

vid_nop:
        ret

; =============================================================================
; Mode tables
; =============================================================================
MI_COLS         equ 0
MI_ROWS         equ 1               ; rows - 1
MI_PAGESIZE     equ 2
MI_CRTC         equ 4               ; -> 16 6845 registers
MI_MODECTL      equ 6               ; CGA 3D8h
MI_COLSEL       equ 7               ; CGA 3D9h
MI_MISC         equ 8               ; VGA miscellaneous output
MI_ATTRMODE     equ 9               ; attribute controller register 10h
MI_CHARH        equ 10
MI_KIND         equ 11
MI_SEG          equ 12
MI_VGA          equ 14              ; -> vga_regs block
MI_CLEAR        equ 16              ; words to clear
MI_CURSOR       equ 18              ; cursor shape (start << 8 | end)

%macro MODE 13
        db      %1, 24
        dw      %2, %3
        db      %4, %5, %6, %7, %8, %9
        dw      %10, %11, %12, %13
%endmacro

; cols, page size, CRTC, 3D8h, 3D9h, misc, attr 10h, char height, kind,
; segment, VGA block, words to clear, cursor shape
mode_0: MODE 40, 0x0800, crtc_40, 0x2C, 0x30, 0x67, 0x0C, 16, K_TEXT, 0xB800, vga_text, 0x2000, 0x0607
mode_1: MODE 40, 0x0800, crtc_40, 0x28, 0x30, 0x67, 0x0C, 16, K_TEXT, 0xB800, vga_text, 0x2000, 0x0607
mode_2: MODE 80, 0x1000, crtc_80, 0x2D, 0x30, 0x67, 0x0C, 16, K_TEXT, 0xB800, vga_text, 0x2000, 0x0607
mode_3: MODE 80, 0x1000, crtc_80, 0x29, 0x30, 0x67, 0x0C, 16, K_TEXT, 0xB800, vga_text, 0x2000, 0x0607
mode_4: MODE 40, 0x4000, crtc_gfx, 0x0A, 0x30, 0x63, 0x01, 8, K_CGA2, 0xB800, vga_cga4, 0x2000, 0x0607
mode_5: MODE 40, 0x4000, crtc_gfx, 0x0E, 0x30, 0x63, 0x01, 8, K_CGA2, 0xB800, vga_cga4, 0x2000, 0x0607
mode_6: MODE 80, 0x4000, crtc_gfx, 0x1E, 0x3F, 0x63, 0x01, 8, K_CGA1, 0xB800, vga_cga6, 0x2000, 0x0607
; Mode 7 still writes 3D8h (text, graphics bit clear) so the CGA bits never
; claim the screen; the VGA shows B000 because misc bit 0 is clear.
mode_7: MODE 80, 0x1000, crtc_mono, 0x29, 0x30, 0x66, 0x0E, 16, K_TEXT, 0xB000, vga_mono, 0x4000, 0x0B0C
; 13h: 3D8h graphics bit clear, attr 10h = 41h is what marks the mode.
mode_13: MODE 40, 0xFA00, crtc_gfx, 0x08, 0x30, 0x63, 0x41, 8, K_VGA, 0xA000, vga_13, 0x8000, 0x0607

mode_ptrs:
        dw      mode_0, mode_1, mode_2, mode_3, mode_4, mode_5, mode_6, mode_7

; 6845 registers 0-15 (IBM CGA/MDA BIOS values; the kernel's CRTC is a 6845
; and times the display from them).
crtc_40:   db 0x38, 0x28, 0x2D, 0x0A, 0x1F, 0x06, 0x19, 0x1C, 0x02, 0x07, 0x06, 0x07, 0, 0, 0, 0
crtc_80:   db 0x71, 0x50, 0x5A, 0x0A, 0x1F, 0x06, 0x19, 0x1C, 0x02, 0x07, 0x06, 0x07, 0, 0, 0, 0
crtc_gfx:  db 0x38, 0x28, 0x2D, 0x0A, 0x7F, 0x06, 0x64, 0x70, 0x02, 0x01, 0x06, 0x07, 0, 0, 0, 0
crtc_mono: db 0x61, 0x50, 0x52, 0x0F, 0x19, 0x06, 0x19, 0x19, 0x02, 0x0D, 0x0B, 0x0C, 0, 0, 0, 0

; VGA register blocks: sequencer 1-4, graphics controller 0-8, attribute
; controller 0-0Fh (palette), 11h-14h (overscan, plane enable, panning,
; colour select). IBM VGA values for each group of modes.
VG_SEQ          equ 0
VG_GC           equ 4
VG_ATTR         equ 13
VG_ATTR11       equ 29
vga_text:
        db      0x00, 0x03, 0x00, 0x02
        db      0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF
        db      0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07
        db      0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F
        db      0x00, 0x0F, 0x08, 0x00
vga_mono:       ; grey and white from the EGA DAC (07h, 3Fh)
        db      0x00, 0x03, 0x00, 0x02
        db      0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0A, 0x00, 0xFF
        db      0x00, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07
        db      0x38, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F
        db      0x00, 0x0F, 0x08, 0x00
vga_cga4:
        db      0x09, 0x03, 0x00, 0x02
        db      0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0F, 0x00, 0xFF
        db      0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07
        db      0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17
        db      0x00, 0x03, 0x00, 0x00
vga_cga6:
        db      0x01, 0x01, 0x00, 0x06
        db      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0D, 0x00, 0xFF
        db      0x00, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17
        db      0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17
        db      0x00, 0x01, 0x00, 0x00
vga_13:
        db      0x01, 0x0F, 0x00, 0x0E
        db      0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF
        db      0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
        db      0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F
        db      0x00, 0x0F, 0x00, 0x00

%include "bios/vga_palette.inc"

; Fonts (hvmm/firmware/fonts, code page 437, bit 7 = leftmost pixel). There
; is no 8x14 font: AX=1130h BH=02h returns the 8x16 one.
font_8x8:
        incbin  "../hvmm/firmware/fonts/cp437-8x8.bin"
font_8x8_upper  equ font_8x8 + 128 * 8  ; INT 1Fh: characters 80h-FFh
font_8x16:
        incbin  "../hvmm/firmware/fonts/cp437-8x16.bin"

; =============================================================================
; Helpers
; =============================================================================

; mode_entry: AL = mode -> CS:BX = its table entry; CF if not supported.
mode_entry:
        mov     bx, mode_13
        cmp     al, 0x13
        je      .ok
        cmp     al, 7
        ja      .bad
        mov     bl, al
        xor     bh, bh
        shl     bx, 1
        mov     bx, [cs:bx+mode_ptrs]
.ok:    clc
        ret
.bad:   stc
        ret

; mode_kind: AL = K_xxx of the current mode (BDA 0049h). Clobbers BX.
mode_kind:
        mov     al, [BDA_VMODE]
        cmp     al, 4                   ; modes 0-3: the common case, quickly
        jb      .text
        call    mode_entry
        mov     al, K_TEXT
        jc      .done
        mov     al, [cs:bx+MI_KIND]
.done:  ret
.text:  mov     al, K_TEXT
        ret

; video_es: ES = frame buffer segment of the current mode.
video_es:
        push    ax
        push    bx
        mov     al, [BDA_VMODE]
        cmp     al, 4                   ; modes 0-3: B800, quickly
        jb      .cga
        call    mode_entry
        jc      .cga
        mov     ax, [cs:bx+MI_SEG]
        jmp     .set
.cga:   mov     ax, VIDEO_SEG
.set:   mov     es, ax
        pop     bx
        pop     ax
        ret

; attr_write: attribute controller register AL = AH. Leaves the palette
; address source bit (20h) clear: call attr_done when finished.
attr_write:
        push    dx
        push    ax
        mov     dx, [BDA_CRTC]
        add     dx, 6                   ; input status 1: resets the flip-flop
        in      al, dx
        pop     ax
        mov     dx, 0x3C0
        out     dx, al
        xchg    al, ah
        out     dx, al
        xchg    al, ah
        pop     dx
        ret

; out_regs: index/data pairs to port DX (index in AL, data in AH): the
; registers CL up to CH-1 from the bytes at CS:SI. Clobbers AX, CX, SI.
out_regs:
        mov     al, cl
        mov     ah, [cs:si]
        inc     si
        out     dx, ax
        inc     cl
        cmp     cl, ch
        jb      out_regs
        ret

; attr_regs: attribute controller registers CL up to CH-1 from CS:SI.
; Clobbers AX, CX, SI.
attr_regs:
        mov     al, cl
        mov     ah, [cs:si]
        inc     si
        call    attr_write
        inc     cl
        cmp     cl, ch
        jb      attr_regs
        ret

; attr_read: AH = attribute controller register AL.
attr_read:
        push    dx
        push    ax
        mov     dx, [BDA_CRTC]
        add     dx, 6
        in      al, dx
        pop     ax
        mov     dx, 0x3C0
        out     dx, al
        inc     dx
        xchg    al, ah
        in      al, dx
        xchg    al, ah
        pop     dx
        ret

; attr_done: index with bit 5 set, so the controller shows the screen again.
attr_done:
        push    ax
        push    dx
        mov     dx, [BDA_CRTC]
        add     dx, 6
        in      al, dx
        mov     dx, 0x3C0
        mov     al, 0x20
        out     dx, al
        pop     dx
        pop     ax
        ret

; text_addr: ES:DI = address of row DH, column DL of page BL (text modes).
; Clobbers AX.
text_addr:
        xor     di, di
        test    bl, 7
        jz      .page0
        push    dx
        mov     al, bl
        and     ax, 7
        mul     word [BDA_VPAGESIZE]
        mov     di, ax
        pop     dx
.page0:
        mov     al, dh
        mul     byte [BDA_VCOLS]
        add     al, dl
        adc     ah, 0
        shl     ax, 1
        add     di, ax
        jmp     video_es

; page_cursor: DX = cursor of page BL (BX = 2 * page). 
page_cursor:
        and     bx, 7
        shl     bx, 1
        mov     dx, [bx+BDA_CURSOR]
        ret

; active_cursor: DX = cursor of the active page, BX = 2 * page.
active_cursor:
        mov     bl, [BDA_VPAGE]
        jmp     page_cursor

; update_hw_cursor: CRTC registers 14/15 = the active page's cursor.
; Clobbers AX, BX, DX.
update_hw_cursor:
        call    active_cursor
        mov     al, dh
        mul     byte [BDA_VCOLS]
        add     al, dl
        adc     ah, 0
        mov     bx, [BDA_VPAGESTART]
        shr     bx, 1
        add     bx, ax
        mov     dx, [BDA_CRTC]
        mov     al, 14
        mov     ah, bh
        out     dx, ax
        mov     al, 15
        mov     ah, bl
        out     dx, ax
        ret

; gfx_cell: DI = offset of the first pixel line of text cell row AL,
; column AH (graphics modes). Clobbers AX, DX.
gfx_cell:
        mov     dl, ah
        mov     ah, 40
        mul     ah
        shl     ax, 1
        shl     ax, 1
        shl     ax, 1                   ; row * 320: CGA, 4 line pairs of 80
        mov     dh, [bp+L_KIND]
        cmp     dh, K_VGA
        jne     .cga
        shl     ax, 1
        shl     ax, 1
        shl     ax, 1                   ; VGA: 8 lines of 320
        mov     di, ax
        mov     al, dl
        xor     ah, ah
        shl     ax, 1
        shl     ax, 1
        shl     ax, 1
        add     di, ax
        ret
.cga:   mov     di, ax
        mov     al, dl
        xor     ah, ah
        cmp     dh, K_CGA1
        je      .one
        shl     ax, 1
.one:   add     di, ax
        ret

; gfx_line_down: DI = the next pixel line below DI. On the CGA even lines
; are at 0000h, odd ones at 2000h.
gfx_line_down:
        cmp     byte [bp+L_KIND], K_VGA
        je      .vga
        cmp     di, 0x2000
        jae     .odd
        add     di, 0x2000
        ret
.odd:   sub     di, 0x2000 - 80
        ret
.vga:   add     di, 320
        ret

; cell_bytes: AX = bytes per pixel line of one text cell.
cell_bytes:
        mov     ax, 8
        cmp     byte [bp+L_KIND], K_VGA
        je      .done
        mov     al, 1
        cmp     byte [bp+L_KIND], K_CGA1
        je      .done
        mov     al, 2
.done:  ret

; gfx_put_char: draw AL in colour BL (bit 7: XOR, CGA modes) at text cell
; row DH, column DL with the INT 43h font. Clobbers AX, CX, DX, SI, DI, ES.
gfx_put_char:
        call    video_es
        push    ds
        push    bx
        xor     ah, ah
        mov     cl, 3
        shl     ax, cl
        push    ax
        mov     al, dh
        mov     ah, dl
        call    gfx_cell
        pop     si
        xor     ax, ax
        mov     ds, ax
        add     si, [0x43*4]
        mov     ds, [0x43*4+2]          ; DS:SI = the glyph
        mov     bh, bl
        and     bh, 3                   ; CGA 4-colour pixel value
        mov     ch, 8
.line:  lodsb
        mov     ah, [bp+L_KIND]
        cmp     ah, K_CGA1
        je      .cga1
        cmp     ah, K_VGA
        je      .vga
        ; CGA2: each bit becomes 2 bits of colour BH; left pixels high
        mov     cl, 8
        xor     dx, dx
.bit:   shl     dx, 1
        shl     dx, 1
        shl     al, 1
        jnc     .b0
        or      dl, bh
.b0:    dec     cl
        jnz     .bit
        xchg    dl, dh                  ; first byte holds the left pixels
        test    bl, 0x80
        jnz     .x2
        mov     [es:di], dx
        jmp     .next
.x2:    xor     [es:di], dx
        jmp     .next
.cga1:  test    bl, 1
        jnz     .c1
        xor     al, al
.c1:    test    bl, 0x80
        jnz     .x1
        mov     [es:di], al
        jmp     .next
.x1:    xor     [es:di], al
        jmp     .next
.vga:   push    di
        mov     dl, al
        mov     cl, 8
.vbit:  xor     al, al
        shl     dl, 1
        jnc     .v0
        mov     al, bl
.v0:    stosb
        dec     cl
        jnz     .vbit
        pop     di
.next:  call    gfx_line_down
        dec     ch
        jnz     .line
        pop     bx
        pop     ds
        ret

; =============================================================================
; AH=00h: set mode AL (AL bit 7: keep the video memory).
; =============================================================================
vid_set_mode:
        and     al, 0x7F
        call    mode_entry
        jnc     .ok
        ret
.ok:    mov     [BDA_VMODE], al
        mov     al, [cs:bx+MI_KIND]
        mov     [bp+L_KIND], al
        mov     al, [cs:bx+MI_COLS]
        xor     ah, ah
        mov     [BDA_VCOLS], ax
        mov     ax, [cs:bx+MI_PAGESIZE]
        mov     [BDA_VPAGESIZE], ax
        xor     ax, ax
        mov     [BDA_VPAGESTART], ax
        mov     [BDA_VPAGE], al
        mov     al, [cs:bx+MI_ROWS]
        mov     [BDA_VROWS], al
        mov     al, [cs:bx+MI_CHARH]
        xor     ah, ah
        mov     [BDA_VCHARH], ax
        mov     al, [cs:bx+MI_MODECTL]
        mov     [BDA_VMODECTL], al
        mov     al, [cs:bx+MI_COLSEL]
        mov     [BDA_VPALETTE], al
        mov     ax, [cs:bx+MI_CURSOR]
        mov     [BDA_CURSHAPE], ax
        ; CRTC base and equipment word bits 4-5 (10b colour 80x25, 11b mono)
        mov     ax, 0x3D4
        mov     cl, 0x20
        cmp     byte [BDA_VMODE], 7
        jne     .crtc_base
        mov     ax, 0x3B4
        mov     cl, 0x30
.crtc_base:
        mov     [BDA_CRTC], ax
        and     byte [BDA_EQUIP], 0xCF
        or      [BDA_EQUIP], cl
        ; VGA BIOS state: 0087h bit 7 = memory kept, 60h = 256K, ...
        mov     al, [bp+F_AL]
        and     al, 0x80
        or      al, 0x60
        mov     [BDA_VEGAMISC], al
        mov     byte [BDA_VSWITCHES], 0x09  ; colour display
        mov     byte [BDA_VGAFLAGS], 0x11   ; VGA active, 400 lines
        push    ds
        pop     es
        mov     di, BDA_CURSOR
        mov     cx, 8
        xor     ax, ax
        rep stosw

        ; --- hardware ---------------------------------------------------
        mov     dx, 0x3C2
        mov     al, [cs:bx+MI_MISC]
        out     dx, al                  ; mono (bit 0 clear) moves the CRTC
        mov     di, [cs:bx+MI_VGA]
        mov     dx, 0x3C4
        mov     ax, 0x0300              ; sequencer reset: run
        out     dx, ax
        lea     si, [di+VG_SEQ]
        mov     cx, 0x0501              ; registers 1-4
        call    out_regs
        mov     dx, 0x3CE
        lea     si, [di+VG_GC]
        mov     cx, 0x0900              ; 0-8
        call    out_regs
        mov     dx, [BDA_CRTC]
        mov     si, [cs:bx+MI_CRTC]
        mov     cx, 0x1000              ; 0-15
        call    out_regs
        mov     dx, 0x3D8
        mov     al, [cs:bx+MI_MODECTL]
        out     dx, al
        inc     dx
        mov     al, [cs:bx+MI_COLSEL]
        out     dx, al
        ; attribute controller: palette 0-0Fh, mode 10h, 11h-14h
        lea     si, [di+VG_ATTR]
        mov     cx, 0x1000              ; palette 0-0Fh
        call    attr_regs
        mov     al, 0x10
        mov     ah, [cs:bx+MI_ATTRMODE]
        call    attr_write
        lea     si, [di+VG_ATTR11]
        mov     cx, 0x1511              ; 11h-14h
        call    attr_regs
        call    attr_done
        ; DAC: the 256-colour default in 13h, else the EGA's 64 colours
        mov     dx, 0x3C6
        mov     al, 0xFF
        out     dx, al
        mov     dx, 0x3C8
        xor     al, al
        out     dx, al
        inc     dx
        mov     si, ega_dac_64
        mov     cx, 64 * 3
        cmp     byte [bp+L_KIND], K_VGA
        jne     .dac
        mov     si, vga_dac_256
        mov     cx, 256 * 3
.dac:   cs lodsb
        out     dx, al
        loop    .dac

        test    byte [bp+F_AL], 0x80
        jnz     .keep
        mov     es, [cs:bx+MI_SEG]
        mov     cx, [cs:bx+MI_CLEAR]
        xor     di, di
        xor     ax, ax
        cmp     byte [bp+L_KIND], K_TEXT
        jne     .clear
        mov     ax, 0x0720
.clear: rep stosw
.keep:  jmp     update_hw_cursor

; =============================================================================
; Cursor, pages, scrolling
; =============================================================================

; AH=01h: cursor shape CH = start line (bit 5: hidden), CL = end line.
vid_cursor_shape:
        mov     cx, [bp+F_CX]
        mov     [BDA_CURSHAPE], cx
        mov     dx, [BDA_CRTC]
        mov     al, 10
        mov     ah, ch
        out     dx, ax
        mov     al, 11
        mov     ah, cl
        out     dx, ax
        ret

; AH=02h: cursor position DH = row, DL = column, BH = page.
vid_set_cursor:
        mov     bl, [bp+F_BH]
        and     bx, 7
        mov     al, bl
        shl     bx, 1
        mov     dx, [bp+F_DX]
        mov     [bx+BDA_CURSOR], dx
        cmp     al, [BDA_VPAGE]
        jne     .done
        jmp     update_hw_cursor
.done:  ret

; AH=03h: DH,DL = cursor row, column of page BH; CH,CL = cursor shape.
vid_get_cursor:
        mov     bl, [bp+F_BH]
        call    page_cursor
        mov     [bp+F_DX], dx
        mov     ax, [BDA_CURSHAPE]
        mov     [bp+F_CX], ax
        ret

; AH=05h: active page AL (text modes: 0-7; the CRTC start address moves).
vid_select_page:
        cmp     byte [bp+L_KIND], K_TEXT
        jne     .done
        cmp     al, 8
        jae     .done
        mov     [BDA_VPAGE], al
        xor     ah, ah
        mul     word [BDA_VPAGESIZE]
        mov     [BDA_VPAGESTART], ax
        shr     ax, 1                   ; the CRTC counts character cells
        mov     bx, ax
        mov     dx, [BDA_CRTC]
        mov     al, 12
        mov     ah, bh
        out     dx, ax
        mov     al, 13
        mov     ah, bl
        out     dx, ax
        jmp     update_hw_cursor
.done:  ret

; AH=06h/07h: scroll the window CH,CL - DH,DL up/down by AL lines
; (0: clear it), filling with attribute (graphics: byte) BH.
vid_scroll_up:
        xor     si, si
        jmp     vid_scroll
vid_scroll_down:
        mov     si, 1
vid_scroll:
        mov     ax, [bp+F_AX]
        mov     bx, [bp+F_BX]
        mov     cx, [bp+F_CX]
        mov     dx, [bp+F_DX]
        jmp     scroll_window

; scroll_window: AL = lines (0 or more than the height: clear), BH = fill,
; CH,CL = top row, left column, DH,DL = bottom row, right column, SI = 0 up,
; 1 down; on the active page (text) or the screen (graphics: rows of 8
; pixel lines). Clobbers AX, BX, CX, DX, SI, DI, ES.
scroll_window:
        mov     ah, [BDA_VCOLS]
        dec     ah
        cmp     dl, ah
        jbe     .c1
        mov     dl, ah
.c1:    cmp     dh, [BDA_VROWS]
        jbe     .c2
        mov     dh, [BDA_VROWS]
.c2:    cmp     ch, dh
        ja      .out
        cmp     cl, dl
        ja      .out
        mov     [bp+L_FILL], bh
        mov     [bp+L_LEFT], cl
        mov     ah, dl
        sub     ah, cl
        inc     ah
        mov     [bp+L_WIDTH], ah
        mov     ah, dh
        sub     ah, ch
        inc     ah                      ; AH = height
        test    al, al
        jz      .all
        cmp     al, ah
        jbe     .n_ok
.all:   mov     al, ah
.n_ok:  mov     [bp+L_N], al
        mov     bl, ah
        sub     bl, al                  ; BL = rows to move
        mov     bh, al                  ; BH = rows to fill
        call    video_es
        call    row_step
        mov     al, ch                  ; up: from the top row
        test    si, si
        jz      .first
        neg     word [bp+L_STEP]
        mov     al, dh                  ; down: from the bottom row
.first: push    ax
        call    row_offset
        mov     di, ax                  ; DI = first destination row
        pop     ax
        mov     cl, [bp+L_N]
        test    si, si
        jz      .src
        neg     cl
.src:   add     al, cl
        call    row_offset
        mov     si, ax                  ; SI = its source row
        cmp     byte [bp+L_KIND], K_TEXT
        jne     .move
        cmp     byte [bp+L_LEFT], 0
        jne     .move
        mov     al, [bp+L_WIDTH]
        cmp     al, [BDA_VCOLS]
        je      .block
.move:  test    bl, bl
        jz      .fill
        call    row_copy
        add     si, [bp+L_STEP]
        add     di, [bp+L_STEP]
        dec     bl
        jmp     .move
.fill:  test    bh, bh
        jz      .out
        call    row_fill
        add     di, [bp+L_STEP]
        dec     bh
        jmp     .fill
.out:   ret
; Full-width text window: its rows are contiguous, so move and fill each in
; one string instruction (the common case: teletype, clear screen). Fast,
; and the screen is never seen half scrolled for long.
.block: push    cx                      ; CH = top row
        mov     al, [bp+L_WIDTH]
        mul     bl
        mov     cx, ax                  ; words to move
        push    ds
        mov     ax, es
        mov     ds, ax
        mov     ax, [bp+L_STEP]
        test    ax, ax
        js      .bdown
        rep movsw                       ; up: DI ends at the first row to fill
        pop     ds
        pop     cx
        jmp     .bfill
.bdown: neg     ax                      ; down: backwards from the last word
        dec     ax
        dec     ax
        add     si, ax
        add     di, ax
        pushf
        cli                             ; no interrupt handler sees DF set
        std
        rep movsw
        popf
        pop     ds
        pop     cx
        mov     al, ch
        call    row_offset
        mov     di, ax                  ; fill from the top row
.bfill: mov     al, [bp+L_WIDTH]
        mul     bh
        mov     cx, ax
        mov     ah, [bp+L_FILL]
        mov     al, ' '
        rep stosw
        ret

; row_offset: AX = offset of row AL at the scroll's left column (text: in
; the active page; graphics: its first pixel line). Clobbers DX.
row_offset:
        cmp     byte [bp+L_KIND], K_TEXT
        jne     .gfx
        mul     byte [BDA_VCOLS]
        add     al, [bp+L_LEFT]
        adc     ah, 0
        shl     ax, 1
        add     ax, [BDA_VPAGESTART]
        ret
.gfx:   push    di
        mov     ah, [bp+L_LEFT]
        call    gfx_cell
        mov     ax, di
        pop     di
        ret

; row_step: [bp+L_STEP] = bytes from one text row to the next (text:
; columns * 2; CGA: 4 line pairs of 80; VGA: 8 lines of 320). Clobbers AX.
row_step:
        mov     ax, [BDA_VCOLS]
        shl     ax, 1
        cmp     byte [bp+L_KIND], K_TEXT
        je      .set
        mov     ax, 320
        cmp     byte [bp+L_KIND], K_VGA
        jne     .set
        mov     ax, 8 * 320
.set:   mov     [bp+L_STEP], ax
        ret

; row_copy: the window's part of the row at ES:SI to ES:DI (SI, DI kept).
; Clobbers AX, CX, DX.
row_copy:
        push    si
        push    di
        push    ds
        mov     cl, [bp+L_WIDTH]
        xor     ch, ch
        mov     ax, es
        mov     ds, ax
        cmp     byte [bp+L_KIND], K_TEXT
        jne     .gfx
        rep movsw
        jmp     .done
.gfx:   call    cell_bytes
        mul     cx
        mov     cx, ax                  ; bytes per pixel line
        mov     dl, 8
.line:  push    cx
        push    si
        push    di
        rep movsb
        pop     di
        pop     si
        pop     cx
        call    gfx_line_down
        xchg    si, di
        call    gfx_line_down
        xchg    si, di
        dec     dl
        jnz     .line
.done:  pop     ds
        pop     di
        pop     si
        ret

; row_fill: blank the window's part of the row at ES:DI (DI kept).
; Clobbers AX, CX, DX.
row_fill:
        push    di
        mov     cl, [bp+L_WIDTH]
        xor     ch, ch
        cmp     byte [bp+L_KIND], K_TEXT
        jne     .gfx
        mov     ah, [bp+L_FILL]
        mov     al, ' '
        rep stosw
        pop     di
        ret
.gfx:   call    cell_bytes
        mul     cx
        mov     dx, ax
        mov     ah, 8
        mov     al, [bp+L_FILL]
.line:  push    di
        mov     cx, dx
        rep stosb
        pop     di
        call    gfx_line_down
        dec     ah
        jnz     .line
        pop     di
        ret

; =============================================================================
; Characters
; =============================================================================

; AH=08h: AL = character, AH = attribute at the cursor of page BH. In
; graphics modes the cell is matched against the INT 43h font (AH = 0,
; AL = 0 if nothing matches).
vid_read_char:
        cmp     byte [bp+L_KIND], K_TEXT
        jne     .gfx
        mov     bl, [bp+F_BH]
        call    page_cursor
        shr     bx, 1
        call    text_addr
        mov     ax, [es:di]
        mov     [bp+F_AX], ax
        ret
.gfx:   call    active_cursor
        mov     al, dh
        mov     ah, dl
        call    gfx_cell
        call    video_es
        lea     si, [bp+L_GLYPH]
        mov     ch, 8
.line:  xor     bl, bl                  ; BL = the line's lit pixels
        mov     cl, 8
        mov     al, [bp+L_KIND]
        cmp     al, K_CGA1
        je      .one
        cmp     al, K_VGA
        je      .vga
        mov     ah, [es:di]
        mov     al, [es:di+1]
.p2:    shl     bl, 1
        test    ah, 0xC0
        jz      .z2
        or      bl, 1
.z2:    shl     ax, 1
        shl     ax, 1
        dec     cl
        jnz     .p2
        jmp     .store
.one:   mov     bl, [es:di]
        jmp     .store
.vga:   push    di
.pv:    shl     bl, 1
        cmp     byte [es:di], 0
        je      .zv
        or      bl, 1
.zv:    inc     di
        dec     cl
        jnz     .pv
        pop     di
.store: mov     [ss:si], bl
        inc     si
        call    gfx_line_down
        dec     ch
        jnz     .line
        ; compare with the 256 glyphs of the INT 43h font
        push    ds
        xor     ax, ax
        mov     ds, ax
        lds     si, [0x43*4]
        mov     ax, ss
        mov     es, ax
        xor     dx, dx                  ; DL = character
.cmp:   lea     di, [bp+L_GLYPH]
        mov     cx, 8
        push    si
        repe cmpsb
        pop     si
        je      .found
        add     si, 8
        inc     dl
        jnz     .cmp
.found: pop     ds
        mov     [bp+F_AX], dx           ; AH = 0; AL = 0 when not found
        ret

; AH=09h: write AL with attribute (graphics: colour) BL, CX times, at the
; cursor of page BH (graphics: the screen's cursor); the cursor stays.
vid_write_char_attr:
        cmp     byte [bp+L_KIND], K_TEXT
        jne     gfx_write_chars
        mov     bl, [bp+F_BH]
        call    page_cursor
        shr     bx, 1
        call    text_addr
        mov     al, [bp+F_AL]
        mov     ah, [bp+F_BL]
        mov     cx, [bp+F_CX]
        rep stosw
        ret

; AH=0Ah: write AL CX times at the cursor, keeping the attributes
; (graphics: as AH=09h).
vid_write_char:
        cmp     byte [bp+L_KIND], K_TEXT
        jne     gfx_write_chars
        mov     bl, [bp+F_BH]
        call    page_cursor
        shr     bx, 1
        call    text_addr
        mov     al, [bp+F_AL]
        mov     cx, [bp+F_CX]
        jcxz    .done
.next:  stosb
        inc     di
        loop    .next
.done:  ret

; gfx_write_chars: AL CX times in colour BL from the cursor on, going on
; to the next row at the right edge.
gfx_write_chars:
        call    active_cursor
        mov     cx, [bp+F_CX]
        jcxz    .done
.next:  cmp     dh, [BDA_VROWS]
        ja      .done
        push    cx
        push    dx
        mov     al, [bp+F_AL]
        mov     bl, [bp+F_BL]
        call    gfx_put_char
        pop     dx
        pop     cx
        inc     dl
        cmp     dl, [BDA_VCOLS]
        jb      .same
        xor     dl, dl
        inc     dh
.same:  loop    .next
.done:  ret

; AH=0Eh: teletype output of AL on the active page (CR, LF, BS, BEL
; handled; scrolls). Graphics modes: in colour BL.
vid_teletype:
        mov     ah, [bp+F_BL]
        xor     bl, bl                  ; text: keep the attribute on screen
        jmp     tty_put

; AH=13h: write string ES:BP, CX characters, at row DH column DL of the
; active page. AL bit 0: leave the cursor after the string; bit 1: the
; string holds (character, attribute) pairs, else every character gets
; attribute BL.
vid_write_string:
        call    active_cursor
        push    dx
        mov     dx, [bp+F_DX]
        mov     [bx+BDA_CURSOR], dx
        mov     si, [bp+F_BP]
        mov     cx, [bp+F_CX]
        jcxz    .end
.next:  mov     es, [bp+F_ES]
        mov     al, [es:si]
        inc     si
        mov     ah, [bp+F_BL]
        test    byte [bp+F_AL], 2
        jz      .put
        mov     ah, [es:si]
        inc     si
.put:   push    cx
        push    si
        mov     bl, 1                   ; write the attribute too
        call    tty_put
        pop     si
        pop     cx
        loop    .next
.end:   pop     ax
        test    byte [bp+F_AL], 1
        jnz     .done
        call    active_cursor
        mov     [bx+BDA_CURSOR], ax
        call    update_hw_cursor
.done:  ret

; tty_put: teletype AL on the active page. AH = attribute, written only if
; BL != 0 (graphics: AH is the colour, always used).
; DS = BDA. Clobbers AX, BX, CX, DX, SI, DI, ES.
tty_put:
        mov     [bp+L_FLAG], bl
        mov     [bp+L_ATTR], ah
        push    ax
        call    active_cursor           ; DL = column, DH = row
        pop     ax
        cmp     al, 13
        je      .cr
        cmp     al, 10
        je      .lf
        cmp     al, 8
        je      .bs
        cmp     al, 7
        je      .done                   ; BEL: no speaker yet
        cmp     byte [bp+L_KIND], K_TEXT
        jne     .gfx
        push    ax
        mov     bl, [BDA_VPAGE]
        call    text_addr
        pop     ax
        cmp     byte [bp+L_FLAG], 0
        je      .char_only
        mov     ah, [bp+L_ATTR]
        mov     [es:di], ax
        jmp     .advance
.char_only:
        mov     [es:di], al
        jmp     .advance
.gfx:   push    dx
        mov     bl, [bp+L_ATTR]
        call    gfx_put_char
        pop     dx
.advance:
        inc     dl
        cmp     dl, [BDA_VCOLS]
        jb      .set
        xor     dl, dl
.lf:    inc     dh
        cmp     dh, [BDA_VROWS]
        jbe     .set
        mov     dh, [BDA_VROWS]
        push    dx
        mov     ax, 0x0001              ; one line
        mov     bh, 0x07
        cmp     byte [bp+L_KIND], K_TEXT
        je      .fill
        xor     bh, bh                  ; graphics: background 0
.fill:  xor     cx, cx
        mov     dl, [BDA_VCOLS]
        dec     dl
        mov     dh, [BDA_VROWS]
        xor     si, si
        call    scroll_window
        pop     dx
        jmp     .set
.cr:    xor     dl, dl
        jmp     .set
.bs:    test    dl, dl
        jz      .set
        dec     dl
.set:   mov     bl, [BDA_VPAGE]
        and     bx, 7
        shl     bx, 1
        mov     [bx+BDA_CURSOR], dx
        call    update_hw_cursor
.done:  ret

; =============================================================================
; Pixels and colours
; =============================================================================

; pixel_addr: ES:DI = the byte holding pixel column CX, row DX; CGA modes:
; CL = shift of its bits, AH = their mask (3 or 1). CF if off the screen
; or in a text mode. Clobbers AX, BX, CX, DX.
pixel_addr:
        call    video_es
        mov     bl, [bp+L_KIND]
        cmp     bl, K_TEXT
        je      .off
        cmp     dx, 200
        jae     .off
        cmp     bl, K_VGA
        jne     .cga
        cmp     cx, 320
        jae     .off
        mov     ax, 320
        mul     dx
        add     ax, cx
        mov     di, ax
        clc
        ret
.cga:   mov     di, dx
        shr     dx, 1
        mov     ax, 80
        mul     dx
        test    di, 1
        jz      .even
        add     ax, 0x2000
.even:  mov     di, ax
        cmp     bl, K_CGA1
        je      .one
        cmp     cx, 320
        jae     .off
        mov     bl, cl
        shr     cx, 1
        shr     cx, 1
        add     di, cx
        and     bl, 3
        mov     cl, 3
        sub     cl, bl
        shl     cl, 1                   ; (3 - x mod 4) * 2: left pixel high
        mov     ah, 3
        clc
        ret
.one:   cmp     cx, 640
        jae     .off
        mov     bl, cl
        shr     cx, 1
        shr     cx, 1
        shr     cx, 1
        add     di, cx
        and     bl, 7
        mov     cl, 7
        sub     cl, bl
        mov     ah, 1
        clc
        ret
.off:   stc
        ret

; AH=0Ch: write pixel colour AL (CGA modes: bit 7 XORs) at column CX,
; row DX.
vid_write_pixel:
        mov     cx, [bp+F_CX]
        mov     dx, [bp+F_DX]
        call    pixel_addr
        jc      .done
        mov     al, [bp+F_AL]
        cmp     byte [bp+L_KIND], K_VGA
        jne     .cga
        mov     [es:di], al
        ret
.cga:   mov     bl, al
        and     al, ah
        shl     al, cl
        shl     ah, cl
        test    bl, 0x80
        jnz     .xor
        not     ah
        and     [es:di], ah
        or      [es:di], al
        ret
.xor:   xor     [es:di], al
.done:  ret

; AH=0Dh: AL = colour of the pixel at column CX, row DX.
vid_read_pixel:
        mov     cx, [bp+F_CX]
        mov     dx, [bp+F_DX]
        call    pixel_addr
        jc      .done
        mov     al, [es:di]
        cmp     byte [bp+L_KIND], K_VGA
        je      .store
        shr     al, cl
        and     al, ah
.store: mov     [bp+F_AL], al
.done:  ret

; AH=0Bh: BH = 00h: background (graphics) / border (text) colour BL,
; CGA colour select bits 0-4; BH = 01h: CGA palette BL (bit 5).
vid_palette:
        mov     bx, [bp+F_BX]
        mov     al, [BDA_VPALETTE]
        cmp     bh, 1
        je      .pal
        and     al, 0xE0
        and     bl, 0x1F
        or      al, bl
        push    ax
        mov     ah, bl
        and     ah, 0x0F
        mov     al, 0x11                ; the VGA's overscan (border) too
        call    attr_write
        call    attr_done
        pop     ax
        jmp     .set
.pal:   and     al, 0xDF
        test    bl, 1
        jz      .set
        or      al, 0x20
.set:   mov     [BDA_VPALETTE], al
        mov     dx, 0x3D9
        out     dx, al
        ret

; AH=0Fh: AL = mode (bit 7: the last mode set kept the memory, as the
; VGA BIOS reports it), AH = columns, BH = active page.
vid_get_mode:
        mov     al, [BDA_VEGAMISC]
        and     al, 0x80
        or      al, [BDA_VMODE]
        mov     ah, [BDA_VCOLS]
        mov     [bp+F_AX], ax
        mov     al, [BDA_VPAGE]
        mov     [bp+F_BH], al
        ret

; AH=10h: palette registers (attribute controller) and the DAC:
; 00-03, 07-09, 10h, 12h, 13h (colour paging), 15h, 17h, 18h/19h (PEL
; mask), 1Ah (colour page state), 1Bh (to grey).
vid_dac_attr:
        mov     bx, [bp+F_BX]
        mov     cx, [bp+F_CX]
        mov     dx, [bp+F_DX]
        cmp     al, 0x00
        je      .set_one
        cmp     al, 0x01
        je      .overscan
        cmp     al, 0x02
        je      .set_all
        cmp     al, 0x03
        je      .blink
        cmp     al, 0x07
        je      .get_one
        cmp     al, 0x08
        je      .get_overscan
        cmp     al, 0x09
        je      .get_all
        cmp     al, 0x10
        je      .dac_set
        cmp     al, 0x12
        je      .dac_set_block
        cmp     al, 0x15
        je      .dac_get
        cmp     al, 0x17
        je      .dac_get_block
        cmp     al, 0x13
        je      .colour_page
        cmp     al, 0x18
        je      .pel_mask
        cmp     al, 0x19
        je      .get_pel_mask
        cmp     al, 0x1A
        je      .page_state
        cmp     al, 0x1B
        je      .grey
        ret
.set_one:                               ; register BL = BH
        mov     al, bl
        mov     ah, bh
        and     al, 0x1F
.write: call    attr_write
        jmp     attr_done
.overscan:
        mov     al, 0x11
        mov     ah, bh
        jmp     .write
.set_all:                               ; ES:DX -> 16 palette + overscan
        mov     si, dx
        mov     es, [bp+F_ES]
        xor     cx, cx
.sa:    mov     al, cl
        mov     ah, [es:si]
        inc     si
        call    attr_write
        inc     cx
        cmp     cx, 16
        jb      .sa
        mov     al, 0x11
        mov     ah, [es:si]
        jmp     .write
.blink:                                 ; BL = 0 intensity, 1 blink
        mov     al, 0x10
        call    attr_read
        and     ah, 0xF7
        and     byte [BDA_VMODECTL], 0xDF
        test    bl, 1
        jz      .b0
        or      ah, 0x08
        or      byte [BDA_VMODECTL], 0x20
.b0:    call    attr_write
        call    attr_done
        mov     al, [BDA_VMODECTL]      ; the CGA blink bit too
        mov     dx, 0x3D8
        out     dx, al
        ret
.get_one:
        mov     al, bl
        and     al, 0x1F
.get:   call    attr_read
        mov     [bp+F_BH], ah
        jmp     attr_done
.get_overscan:
        mov     al, 0x11
        jmp     .get
.get_all:
        mov     di, dx
        mov     es, [bp+F_ES]
        xor     cx, cx
.ga:    mov     al, cl
        call    attr_read
        mov     [es:di], ah
        inc     di
        inc     cx
        cmp     cx, 16
        jb      .ga
        mov     al, 0x11
        call    attr_read
        mov     [es:di], ah
        jmp     attr_done
.dac_set:                               ; entry BX = DH, CH, CL
        mov     al, bl
        mov     dx, 0x3C8
        out     dx, al
        inc     dx
        mov     al, [bp+F_DH]
        out     dx, al
        mov     al, ch
        out     dx, al
        mov     al, cl
        out     dx, al
        ret
.dac_set_block:                         ; CX entries from BX, ES:DX table
        mov     si, dx
        mov     es, [bp+F_ES]
        mov     al, bl
        mov     dx, 0x3C8
        out     dx, al
        inc     dx
        mov     ax, cx
        shl     cx, 1
        add     cx, ax
        jcxz    .ret
.sb:    mov     al, [es:si]
        inc     si
        out     dx, al
        loop    .sb
.ret:   ret
.dac_get:                               ; DH, CH, CL = entry BX
        mov     al, bl
        mov     dx, 0x3C7
        out     dx, al
        mov     dx, 0x3C9
        in      al, dx
        mov     [bp+F_DH], al
        in      al, dx
        mov     [bp+F_CH], al
        in      al, dx
        mov     [bp+F_CL], al
        ret
.dac_get_block:
        mov     di, dx
        mov     es, [bp+F_ES]
        mov     al, bl
        mov     dx, 0x3C7
        out     dx, al
        mov     dx, 0x3C9
        mov     ax, cx
        shl     cx, 1
        add     cx, ax
        jcxz    .ret
.gb:    in      al, dx
        stosb
        loop    .gb
        ret

.colour_page:                           ; BL = 0: paging mode BH; 1: page BH
        test    bl, bl
        jnz     .select_page
        mov     al, 0x10
        call    attr_read
        and     ah, 0x7F
        test    bh, 1
        jz      .write
        or      ah, 0x80                ; 16 pages of 16 colours
        jmp     .write
.select_page:
        mov     al, 0x10
        call    attr_read
        mov     al, 0x14
        test    ah, 0x80
        mov     ah, bh
        jnz     .p16
        shl     ah, 1                   ; 4 pages of 64: colour select bits 3-2
        shl     ah, 1
.p16:   and     ah, 0x0F
        jmp     .write
.pel_mask:
        mov     al, bl
        mov     dx, 0x3C6
        out     dx, al
        ret
.get_pel_mask:
        mov     dx, 0x3C6
        in      al, dx
        mov     [bp+F_BL], al
        ret
.page_state:                            ; BL = paging mode, BH = colour page
        mov     al, 0x14
        call    attr_read
        mov     bh, ah
        mov     al, 0x10
        call    attr_read
        call    attr_done
        rol     ah, 1
        and     ah, 1                   ; attr 10h bit 7: 16 pages of 16
        mov     bl, ah
        jnz     .pages16
        shr     bh, 1
        shr     bh, 1
        and     bh, 3                   ; 4 pages of 64: colour select bits 3-2
        jmp     .ps
.pages16:
        and     bh, 0x0F
.ps:    mov     [bp+F_BX], bx
        ret
.grey:                                  ; CX entries from BX to grey levels
        jcxz    .gdone                  ; (30% red, 59% green, 11% blue)
.gl:    mov     al, bl
        mov     dx, 0x3C7
        out     dx, al
        mov     dx, 0x3C9
        in      al, dx
        mov     ah, 77
        mul     ah
        mov     si, ax
        in      al, dx
        mov     ah, 151
        mul     ah
        add     si, ax
        in      al, dx
        mov     ah, 28
        mul     ah
        add     ax, si
        add     ax, 0x80                ; AH = the grey level, rounded
        mov     al, bl
        mov     dx, 0x3C8
        out     dx, al
        inc     dx
        mov     al, ah
        out     dx, al
        out     dx, al
        out     dx, al
        inc     bx
        loop    .gl
.gdone: ret

; AH=11h: fonts. AL=20h: INT 1Fh = ES:BP; AL=21h with CX = 8: INT 43h =
; ES:BP; AL=23h: INT 43h = the ROM 8x8 font (graphics characters are 8x8
; here: other heights are ignored, so are the text-mode font loads).
; AL=30h, information: ES:BP = font BH (00h INT 1Fh, 01h INT 43h, 02h 8x14
; -> the 8x16 font, 03h 8x8, 04h 8x8 upper half, 06h 8x16), CX = character
; height, DL = rows - 1.
vid_font:
        xor     bx, bx
        mov     es, bx
        mov     dx, [bp+F_ES]
        mov     si, [bp+F_BP]
        mov     di, 0x1F * 4
        cmp     al, 0x20
        je      .vector
        mov     di, 0x43 * 4
        cmp     al, 0x23
        je      .rom8
        cmp     al, 0x21
        jne     .info
        cmp     word [bp+F_CX], 8
        je      .vector
        ret
.rom8:  mov     dx, ROM_SEG
        mov     si, font_8x8
.vector:
        mov     [es:di], si
        mov     [es:di+2], dx
        ret
.info:  cmp     al, 0x30
        jne     .done
        mov     bl, [bp+F_BH]
        cmp     bl, 0
        jne     .b1
        les     si, [es:0x1F*4]
        jmp     .out
.b1:    cmp     bl, 1
        jne     .b2
        les     si, [es:0x43*4]
        jmp     .out
.b2:    mov     ax, ROM_SEG
        mov     es, ax
        mov     si, font_8x16
        cmp     bl, 2
        je      .out
        cmp     bl, 6
        je      .out
        mov     si, font_8x8
        cmp     bl, 3
        je      .out
        mov     si, font_8x8_upper
        cmp     bl, 4
        je      .out
        ret
.out:   mov     [bp+F_BP], si
        mov     [bp+F_ES], es
        mov     ax, [BDA_VCHARH]
        mov     [bp+F_CX], ax
        mov     al, [BDA_VROWS]
        mov     [bp+F_DL], al
.done:  ret

; AH=12h BL=10h: EGA/VGA information: BH = 0 colour, BL = 3 (256K),
; CH = feature bits 0, CL = switch settings.
vid_alt_select:
        cmp     byte [bp+F_BL], 0x10
        jne     .done
        mov     word [bp+F_BX], 0x0003
        mov     al, [BDA_VSWITCHES]
        and     al, 0x0F
        xor     ah, ah
        mov     [bp+F_CX], ax
.done:  ret

; AH=1Ah AL=00h: display combination: AL = 1Ah, BL = 08h (VGA, colour),
; BH = 00h (none). AL=01h (set) is accepted and ignored.
vid_display_comb:
        cmp     al, 1
        ja      .done
        mov     byte [bp+F_AL], 0x1A
        test    al, al
        jnz     .done
        mov     word [bp+F_BX], 0x0008
.done:  ret

; AH=1Bh BX=0000h: functionality/state information into the 64 bytes at
; ES:DI; AL = 1Bh. Bytes 04h-21h are a copy of the BDA's 0049h-0066h.
vid_state_info:
        cmp     word [bp+F_BX], 0
        jne     .done
        mov     byte [bp+F_AL], 0x1B
        mov     es, [bp+F_ES]
        mov     di, [bp+F_DI]
        push    di
        xor     ax, ax
        mov     cx, 32
        rep stosw
        pop     di
        mov     word [es:di], static_functionality
        mov     word [es:di+2], ROM_SEG
        push    di
        add     di, 4
        mov     si, BDA_VMODE
        mov     cx, 0x67 - BDA_VMODE
        rep movsb
        pop     di
        mov     al, [BDA_VROWS]
        inc     al
        mov     [es:di+0x22], al
        mov     ax, [BDA_VCHARH]
        mov     [es:di+0x23], ax
        mov     byte [es:di+0x25], 0x08 ; display combination: VGA colour
        mov     al, [BDA_VMODE]
        call    mode_entry
        mov     ax, 16                  ; colours, pages, scan lines (2: 400)
        mov     cx, 0x0208
        cmp     byte [cs:bx+MI_KIND], K_TEXT
        je      .text
        mov     ax, 4
        mov     cx, 0x0001              ; graphics: 200 lines, one page
        cmp     byte [cs:bx+MI_KIND], K_CGA2
        je      .set
        mov     al, 2
        cmp     byte [cs:bx+MI_KIND], K_CGA1
        je      .set
        mov     ax, 256
        jmp     .set
.text:  cmp     byte [BDA_VMODE], 7
        jne     .set
        xor     ax, ax                  ; mono: 0 colours
.set:   mov     [es:di+0x27], ax
        mov     [es:di+0x29], cl
        mov     [es:di+0x2A], ch
        mov     al, 0x10                ; blink on? (attr 10h bit 3)
        call    attr_read
        call    attr_done
        and     ah, 0x08
        shl     ah, 1
        shl     ah, 1
        mov     [es:di+0x2D], ah        ; bit 5: blinking
        mov     byte [es:di+0x31], 3    ; 256K of video memory
.done:  ret

; The static functionality table AH=1Bh points at.
static_functionality:
        db      0xFF, 0x00, 0x08        ; modes 0-7 and 13h
        db      0, 0, 0, 0
        db      0x05                    ; 200 and 400 scan lines
        db      1, 1                    ; character blocks: one, fixed
        db      0xEA                    ; grey summing, default palettes,
                                        ; EGA palette, DAC, colour paging
        db      0x0C                    ; blink toggle, display combination
        db      0, 0, 0, 0
