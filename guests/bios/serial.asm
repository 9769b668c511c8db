; hvmm BIOS, included by guests/bios.asm: INT 14h (serial ports) and INT 17h
; (printers).
;
; INT 14h, DX = port (0-3, base addresses at 0040:0000; POST sets COM1 =
; 3F8h, the in-kernel 16550A):
;   AH=00h  initialise: AL = baud (bits 7-5: 110 ... 9600), parity (4-3),
;           stop bits (2), word length (1-0); returns AH = line status,
;           AL = modem status
;   AH=01h  send AL; AH = line status (bit 7: timed out)
;   AH=02h  receive: AL = byte, AH = line status errors (bit 7: timed out)
;   AH=03h  status: AH = line status, AL = modem status
; A missing port (or another function) answers AH = 80h (time-out).
; The wait for the transmitter or a received byte polls the line status
; register 65536 times per unit of the BDA time-out (0040:007C + port).
;
; INT 17h: no parallel port is installed (0040:0008 = 0), so every
; function answers AH = 01h (time-out) like a BIOS with no printer there.

UART_THR        equ 0
UART_RBR        equ 0
UART_DLL        equ 0
UART_DLM        equ 1
UART_LCR        equ 3
UART_LSR        equ 5
UART_MSR        equ 6

int14_handler:
        sti
        FRAME_ENTER
        mov     si, [bp+F_DX]
        cmp     si, 3
        ja      .none
        shl     si, 1
        mov     dx, [si]                ; DS = BDA: base address of the port
        test    dx, dx
        jz      .none
        shr     si, 1                   ; SI = port number again
        cmp     ah, 0x00
        je      com_init
        cmp     ah, 0x01
        je      com_send
        cmp     ah, 0x02
        je      com_receive
        cmp     ah, 0x03
        je      com_status
.none:  mov     byte [bp+F_AH], 0x80
com_ret:
        FRAME_LEAVE

com_baud_divisors:                      ; 110, 150, 300, 600, 1200, 2400, 4800, 9600
        dw      1047, 768, 384, 192, 96, 48, 24, 12

; AH=00h: AL = parameters.
com_init:
        mov     bl, al
        push    dx
        add     dx, UART_LCR
        mov     al, 0x80                ; DLAB: the divisor latch
        out     dx, al
        pop     dx
        mov     cl, 5
        shr     bl, cl
        xor     bh, bh
        shl     bx, 1
        mov     ax, [cs:bx+com_baud_divisors]
        out     dx, al                  ; DLL
        inc     dx
        mov     al, ah
        out     dx, al                  ; DLM
        add     dx, UART_LCR - UART_DLM
        mov     al, [bp+F_AL]
        and     al, 0x1F                ; word length, stop bits, parity; DLAB off
        out     dx, al
        sub     dx, UART_LCR
        ; fall through: return the status

; AH=03h: AH = line status, AL = modem status.
com_status:
        add     dx, UART_LSR
        in      al, dx
        mov     ah, al
        inc     dx                      ; MSR
        in      al, dx
        mov     [bp+F_AX], ax
        jmp     com_ret

; com_wait_lsr: wait until the line status register (port DX + 5) has a bit
; of BL set. AL = the last status; CF = 1 on time-out. DX is kept.
com_wait_lsr:
        push    dx
        add     dx, UART_LSR
        mov     bh, [si+BDA_COM_TIMEOUT]
        test    bh, bh
        jnz     .outer
        mov     bh, 1
.outer: xor     cx, cx                  ; 65536 polls
.poll:  in      al, dx
        test    al, bl
        jnz     .ok
        loop    .poll
        dec     bh
        jnz     .outer
        pop     dx
        stc
        ret
.ok:    pop     dx
        clc
        ret

; AH=01h: send AL.
com_send:
        mov     bl, 0x20                ; THR empty
        call    com_wait_lsr
        jc      .timeout
        mov     al, [bp+F_AL]
        out     dx, al                  ; THR
        add     dx, UART_LSR
        in      al, dx
        mov     [bp+F_AH], al
        jmp     com_ret
.timeout:
        or      al, 0x80
        mov     [bp+F_AH], al
        jmp     com_ret

; AH=02h: receive a byte into AL.
com_receive:
        mov     bl, 0x01                ; data ready
        call    com_wait_lsr
        jc      .timeout
        and     al, 0x1E                ; overrun, parity, framing, break
        mov     [bp+F_AH], al
        in      al, dx                  ; RBR
        mov     [bp+F_AL], al
        jmp     com_ret
.timeout:
        and     al, 0x1E
        or      al, 0x80
        mov     [bp+F_AH], al
        jmp     com_ret

; INT 17h: no printer. AH = 01h (time-out).
int17_handler:
        mov     ah, 0x01
        iret
