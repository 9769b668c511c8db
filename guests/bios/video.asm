; hvmm BIOS: INT 10h, video services (included by guests/bios.asm).

; =============================================================================
; INT 10h: video (80x25 colour text, page 0)
; =============================================================================
int10_handler:
        sti
        FRAME_ENTER
        cmp     ah, VIDEO_FUNCS
        jae     .ret
        mov     al, ah
        xor     ah, ah
        shl     ax, 1
        mov     si, ax
        mov     ax, [bp+F_AX]
        call    [cs:si+video_table]
.ret:   FRAME_LEAVE

video_table:
        dw      vid_set_mode            ; 00
        dw      vid_cursor_shape        ; 01
        dw      vid_set_cursor          ; 02
        dw      vid_get_cursor          ; 03
        dw      vid_nop                 ; 04 light pen
        dw      vid_nop                 ; 05 select page (not yet)
        dw      vid_scroll_up           ; 06
        dw      vid_scroll_down         ; 07
        dw      vid_read_char           ; 08
        dw      vid_write_char_attr     ; 09
        dw      vid_write_char          ; 0A
        dw      vid_nop                 ; 0B palette
        dw      vid_nop                 ; 0C write pixel
        dw      vid_nop                 ; 0D read pixel
        dw      vid_teletype            ; 0E
        dw      vid_get_mode            ; 0F
        dw      vid_nop                 ; 10
        dw      vid_nop                 ; 11
        dw      vid_nop                 ; 12
        dw      vid_write_string        ; 13
VIDEO_FUNCS     equ ($ - video_table) / 2

vid_nop:
        ret

; CRTC registers 0-15 for 80x25 colour text (IBM CGA values).
crtc_mode3:
        db      0x71, 0x50, 0x5A, 0x0A, 0x1F, 0x06, 0x19, 0x1C
        db      0x02, 0x07, 0x06, 0x07, 0x00, 0x00, 0x00, 0x00

; AH=00h: set mode. Every mode is treated as mode 3 (80x25 colour) for now.
; AL bit 7 set: keep the screen contents.
vid_set_mode:
        mov     byte [BDA_VMODE], 3
        mov     word [BDA_VCOLS], 80
        mov     word [BDA_VPAGESIZE], 0x1000
        mov     word [BDA_VPAGESTART], 0
        mov     byte [BDA_VPAGE], 0
        mov     word [BDA_CRTC], 0x3D4
        mov     byte [BDA_VMODECTL], 0x29
        mov     byte [BDA_VPALETTE], 0x30
        mov     byte [BDA_VROWS], 24
        mov     byte [BDA_VCHARH], 16
        mov     word [BDA_CURSHAPE], 0x0607
        push    ds
        pop     es
        mov     di, BDA_CURSOR
        mov     cx, 8
        xor     ax, ax
        rep stosw
        ; program the 6845
        mov     dx, 0x3D4
        xor     bx, bx
.crtc:  mov     al, bl
        mov     ah, [cs:bx+crtc_mode3]
        out     dx, ax                  ; index to 3D4h, data to 3D5h
        inc     bx
        cmp     bx, 16
        jb      .crtc
        mov     dx, 0x3D8
        mov     al, 0x29                ; 80 columns, video on, blink
        out     dx, al
        inc     dx
        mov     al, 0x30
        out     dx, al
        test    byte [bp+F_AL], 0x80
        jnz     .keep
        mov     ax, VIDEO_SEG
        mov     es, ax
        xor     di, di
        mov     cx, 0x2000              ; all 16 KiB: four pages
        mov     ax, 0x0720
        rep stosw
.keep:  jmp     update_hw_cursor

; AH=01h: cursor shape CH = start line, CL = end line.
vid_cursor_shape:
        mov     cx, [bp+F_CX]
        mov     [BDA_CURSHAPE], cx
        mov     dx, 0x3D4
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
        shl     bx, 1
        mov     dx, [bp+F_DX]
        mov     [bx+BDA_CURSOR], dx
        shr     bx, 1
        cmp     bl, [BDA_VPAGE]
        jne     .done
        jmp     update_hw_cursor
.done:  ret

; AH=03h: DH,DL = cursor row, column of page BH; CH,CL = cursor shape.
vid_get_cursor:
        mov     bl, [bp+F_BH]
        and     bx, 7
        shl     bx, 1
        mov     ax, [bx+BDA_CURSOR]
        mov     [bp+F_DX], ax
        mov     ax, [BDA_CURSHAPE]
        mov     [bp+F_CX], ax
        ret

; AH=06h/07h: scroll the window CH,CL - DH,DL up/down by AL lines
; (0: clear it), filling with attribute BH.
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

; AH=08h: AL = character, AH = attribute at the cursor.
vid_read_char:
        call    cursor_address
        mov     ax, [es:di]
        mov     [bp+F_AX], ax
        ret

; AH=09h: write AL with attribute BL, CX times, at the cursor (cursor stays).
vid_write_char_attr:
        call    cursor_address
        mov     al, [bp+F_AL]
        mov     ah, [bp+F_BL]
        mov     cx, [bp+F_CX]
        rep stosw
        ret

; AH=0Ah: write AL CX times at the cursor, keeping the attributes.
vid_write_char:
        call    cursor_address
        mov     al, [bp+F_AL]
        mov     cx, [bp+F_CX]
        jcxz    .done
.next:  stosb
        inc     di
        loop    .next
.done:  ret

; AH=0Eh: teletype output of AL (CR, LF, BS, BEL handled; scrolls).
vid_teletype:
        xor     bl, bl                  ; keep the attribute on screen
        jmp     tty_put

; AH=0Fh: AL = mode, AH = columns, BH = active page.
vid_get_mode:
        mov     al, [BDA_VMODE]
        mov     ah, [BDA_VCOLS]
        mov     [bp+F_AX], ax
        mov     al, [BDA_VPAGE]
        mov     [bp+F_BH], al
        ret

; AH=13h: write string ES:BP, CX characters, at row DH column DL.
; AL bit 0: leave the cursor after the string; bit 1: the string holds
; (character, attribute) pairs, else every character gets attribute BL.
vid_write_string:
        push    word [BDA_CURSOR]
        mov     dx, [bp+F_DX]
        mov     [BDA_CURSOR], dx
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
        mov     [BDA_CURSOR], ax
        call    update_hw_cursor
.done:  ret

; cursor_address: ES:DI = screen address of page 0's cursor. Clobbers AX, DX.
cursor_address:
        mov     dx, [BDA_CURSOR]
text_address:                           ; ... of row DH, column DL
        mov     al, dh
        mov     ah, 80
        mul     ah
        add     al, dl
        adc     ah, 0
        shl     ax, 1
        mov     di, ax
        mov     ax, VIDEO_SEG
        mov     es, ax
        ret

; update_hw_cursor: move the CRTC cursor (registers 14, 15) to page 0's
; cursor position. Clobbers AX, BX, DX.
update_hw_cursor:
        mov     dx, [BDA_CURSOR]
        mov     al, dh
        mov     ah, 80
        mul     ah
        add     al, dl
        adc     ah, 0
        mov     bx, ax
        mov     dx, 0x3D4
        mov     al, 14
        mov     ah, bh
        out     dx, ax
        mov     al, 15
        mov     ah, bl
        out     dx, ax
        ret

; tty_put: teletype AL. AH = attribute, written only if BL != 0.
; DS = BDA. Clobbers AX, BX, CX, DX, SI, DI, ES.
tty_put:
        mov     dx, [BDA_CURSOR]        ; DL = column, DH = row
        cmp     al, 13
        je      .cr
        cmp     al, 10
        je      .lf
        cmp     al, 8
        je      .bs
        cmp     al, 7
        je      .done                   ; BEL: no speaker yet
        push    ax
        call    text_address
        pop     ax
        test    bl, bl
        jz      .char_only
        mov     [es:di], ax
        jmp     .advance
.char_only:
        mov     [es:di], al
.advance:
        inc     dl
        cmp     dl, 80
        jb      .set
        xor     dl, dl
.lf:    inc     dh
        cmp     dh, 25
        jb      .set
        mov     dh, 24
        push    dx
        mov     ax, 0x0001              ; one line
        mov     bh, 0x07
        xor     cx, cx
        mov     dx, 0x184F
        xor     si, si
        call    scroll_window
        pop     dx
        jmp     .set
.cr:    xor     dl, dl
        jmp     .set
.bs:    test    dl, dl
        jz      .set
        dec     dl
.set:   mov     [BDA_CURSOR], dx
        call    update_hw_cursor
.done:  ret

; scroll_window: AL = lines (0 or more than the height: clear), BH = fill
; attribute, CH,CL = top row, left column, DH,DL = bottom row, right column,
; SI = 0 up, 1 down. Clobbers AX, BX, CX, DX, SI, DI, ES.
scroll_window:
        push    bp
        push    ds
        cmp     dl, 79
        jbe     .c1
        mov     dl, 79
.c1:    cmp     dh, 24
        jbe     .c2
        mov     dh, 24
.c2:    cmp     ch, dh
        ja      .out
        cmp     cl, dl
        ja      .out
        push    bx                      ; the fill attribute, for later
        mov     bl, dh
        sub     bl, ch
        inc     bl                      ; BL = height
        test    al, al
        jz      .all
        cmp     al, bl
        jbe     .n_ok
.all:   mov     al, bl
.n_ok:  push    ax
        mov     al, dl
        sub     al, cl
        inc     al
        xor     ah, ah
        mov     bp, ax                  ; BP = width
        pop     ax
        test    si, si
        jz      .up
        mov     ah, dh                  ; down: start at the bottom row
        mov     dx, -160
        jmp     .go
.up:    mov     ah, ch                  ; up: start at the top row
        mov     dx, 160
.go:    push    ax
        mov     al, ah
        mov     ah, 80
        mul     ah
        xor     ch, ch
        add     ax, cx
        shl     ax, 1
        mov     di, ax                  ; DI = first destination row
        pop     ax
        push    ax
        push    dx
        xor     ah, ah
        imul    dx                      ; AX = lines * stride
        mov     si, di
        add     si, ax                  ; SI = its source row
        pop     dx
        pop     ax
        sub     bl, al                  ; BL = rows to move
        mov     bh, al                  ; BH = rows to fill
        mov     cx, VIDEO_SEG
        mov     ds, cx
        mov     es, cx
        cld
.move:  test    bl, bl
        jz      .fill_start
        push    si
        push    di
        mov     cx, bp
        rep movsw
        pop     di
        pop     si
        add     si, dx
        add     di, dx
        dec     bl
        jmp     .move
.fill_start:
        pop     ax                      ; AH = fill attribute
        mov     al, ' '
.fill:  test    bh, bh
        jz      .out
        push    di
        mov     cx, bp
        rep stosw
        pop     di
        add     di, dx
        dec     bh
        jmp     .fill
.out:   pop     ds
        pop     bp
        ret
