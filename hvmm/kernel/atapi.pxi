# ATAPI CD-ROM on an IDE channel (ATA/ATAPI-6 PACKET protocol, MMC-2/SPC
# commands), read only, PIO: the drive answers IDENTIFY PACKET DEVICE and
# PACKET; IDENTIFY DEVICE aborts with the ATAPI signature (14h/EBh in the
# cylinder registers), which is how drivers tell it from a disk. The image
# is 2048-byte sectors (an ISO 9660 file), mapped like the disks.
#
# A PACKET command takes its 12 command bytes through the data port, then
# moves its data in DRQ blocks of at most the byte count limit the host put
# in the cylinder registers, each announced by an interrupt, with the
# interrupt reason in the sector count register (CoD bit 0, IO bit 1);
# completion is CoD|IO with an interrupt, ERR and the sense key in the
# error register's high nibble on a CHECK CONDITION.
#
# SCSI commands: TEST UNIT READY, REQUEST SENSE, INQUIRY, MODE SENSE (6/10:
# a header only), START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, READ
# CAPACITY, READ (10), READ (12), READ TOC (format 0, one data track), the
# rest ILLEGAL REQUEST. Not modelled: audio, DMA, media change.

cdef enum:
    CD_SECTOR = 2048
    ATAPI_IR_COD = 0x01
    ATAPI_IR_IO = 0x02
    SENSE_NONE = 0x00
    SENSE_NOT_READY = 0x02
    SENSE_ILLEGAL_REQUEST = 0x05
    ASC_INVALID_OPCODE = 0x20
    ASC_LBA_OUT_OF_RANGE = 0x21
    ASC_INVALID_FIELD = 0x24

cdef void atapi_signature(IdeChannel* ch) noexcept nogil:
    ch.nsect = 1
    ch.sector = 1
    ch.lcyl = 0x14
    ch.hcyl = 0xEB

cdef void atapi_identify(IdeChannel* ch) noexcept nogil:
    cdef uint16_t* w = <uint16_t*>ch.buf
    memset(ch.buf, 0, IDE_SECTOR)
    w[0] = 0x85C0                       # ATAPI, CD-ROM (05h), removable, 12-byte packets
    ide_put_string(w, 10, 10, b"HVMM0000000000000002")
    ide_put_string(w, 23, 4, b"1.0")
    ide_put_string(w, 27, 20, b"HVMM DVD-ROM")
    w[49] = 0x0200                      # LBA; no DMA
    w[53] = 0x0003
    w[64] = 0x0003
    w[65] = 120
    w[66] = 120
    w[67] = 120
    w[68] = 120
    w[80] = 0x007E

cdef inline uint64_t cd_sectors(IdeDisk* d) noexcept nogil:
    return d.sectors // (CD_SECTOR // IDE_SECTOR)

# Start (or continue) the data phase: the next block of ch.left bytes.
cdef void atapi_next_block(IdeState* s, IdeChannel* ch) noexcept nogil:
    cdef uint32_t n = ch.left
    if n > ch.limit:
        n = ch.limit & ~1u
    ch.pos = 0
    ch.end = n
    ch.lcyl = n & 0xFF
    ch.hcyl = (n >> 8) & 0xFF
    ch.nsect = ATAPI_IR_IO
    ch.status = ATA_DRDY | ATA_DSC | ATA_DRQ
    ide_raise(s, ch)

cdef void atapi_finish(IdeState* s, IdeChannel* ch, uint8_t key, uint8_t asc) noexcept nogil:
    ch.sense_key = key
    ch.asc = asc
    ch.xfer = IDE_XFER_NONE
    ch.left = 0
    ch.limit = 0
    ch.nsect = ATAPI_IR_COD | ATAPI_IR_IO
    if key:
        ch.error = key << 4
        ch.status = ATA_DRDY | ATA_DSC | ATA_ERR
    else:
        ch.error = 0
        ch.status = ATA_DRDY | ATA_DSC
    ide_raise(s, ch)

# Reply `n` bytes from ch.buf (truncated to the allocation length `alloc`).
cdef void atapi_reply(IdeState* s, IdeChannel* ch, uint32_t n, uint32_t alloc) noexcept nogil:
    if n > alloc:
        n = alloc
    if n == 0:
        atapi_finish(s, ch, SENSE_NONE, 0)
        return
    ch.xfer = IDE_XFER_BUFFER
    ch.left = n
    ch.media_off = 0
    atapi_next_block(s, ch)

cdef void atapi_chunk_done(IdeState* s, IdeChannel* ch, IdeDisk* d) noexcept nogil:
    cdef uint32_t i
    ch.left -= ch.end
    if ch.xfer == IDE_XFER_MEDIA:
        ch.media_off += ch.end
    elif ch.xfer == IDE_XFER_BUFFER and ch.left:
        for i in range(ch.left):        # the rest of a reply to the front
            ch.buf[i] = ch.buf[ch.end + i]
    if ch.left:
        atapi_next_block(s, ch)
    else:
        atapi_finish(s, ch, SENSE_NONE, 0)

cdef inline uint32_t be32(uint8_t* p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]

cdef inline void put_be32(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = v >> 24
    p[1] = (v >> 16) & 0xFF
    p[2] = (v >> 8) & 0xFF
    p[3] = v & 0xFF

cdef void atapi_read(IdeState* s, IdeChannel* ch, IdeDisk* d, uint64_t lba,
                     uint64_t count) noexcept nogil:
    if lba + count > cd_sectors(d):
        atapi_finish(s, ch, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE)
    elif count == 0:
        atapi_finish(s, ch, SENSE_NONE, 0)
    else:
        ch.xfer = IDE_XFER_MEDIA
        ch.media_off = lba * CD_SECTOR
        ch.left = <uint32_t>(count * CD_SECTOR) if count < 0x80000 else 0x40000000u
        atapi_next_block(s, ch)

cdef void atapi_execute(IdeState* s, IdeChannel* ch, IdeDisk* d) noexcept nogil:
    cdef uint8_t cdb[12]
    cdef uint8_t op
    cdef uint64_t last = cd_sectors(d) - 1
    memcpy(cdb, ch.buf, 12)
    op = cdb[0]
    memset(ch.buf, 0, IDE_SECTOR)
    if op == 0x00 or op == 0x1B or op == 0x1E:      # TEST UNIT READY, START STOP, PREVENT ALLOW
        atapi_finish(s, ch, SENSE_NONE, 0)
    elif op == 0x03:                    # REQUEST SENSE
        ch.buf[0] = 0x70
        ch.buf[2] = ch.sense_key
        ch.buf[7] = 10
        ch.buf[12] = ch.asc
        ch.sense_key = 0
        ch.asc = 0
        atapi_reply(s, ch, 18, cdb[4])
    elif op == 0x12:                    # INQUIRY
        ch.buf[0] = 0x05                # CD/DVD
        ch.buf[1] = 0x80                # removable
        ch.buf[2] = 0x00
        ch.buf[3] = 0x21                # ATAPI, response data format 1
        ch.buf[4] = 31
        memcpy(&ch.buf[8], b"HVMM    HVMM DVD-ROM    1.0 ", 28)
        atapi_reply(s, ch, 36, cdb[4])
    elif op == 0x25:                    # READ CAPACITY
        put_be32(&ch.buf[0], <uint32_t>last)
        put_be32(&ch.buf[4], CD_SECTOR)
        atapi_reply(s, ch, 8, 8)
    elif op == 0x28:                    # READ (10)
        atapi_read(s, ch, d, be32(&cdb[2]), (<uint32_t>cdb[7] << 8) | cdb[8])
    elif op == 0xA8:                    # READ (12)
        atapi_read(s, ch, d, be32(&cdb[2]), be32(&cdb[6]))
    elif op == 0x1A or op == 0x5A:      # MODE SENSE (6) / (10): a header, no pages
        if op == 0x1A:
            ch.buf[0] = 3
            atapi_reply(s, ch, 4, cdb[4])
        else:
            ch.buf[1] = 6
            atapi_reply(s, ch, 8, (<uint32_t>cdb[7] << 8) | cdb[8])
    elif op == 0x43 and (cdb[9] >> 6) == 0 and (cdb[2] & 0x0F) == 0:   # READ TOC, format 0
        ch.buf[1] = 18                  # TOC data length
        ch.buf[2] = 1                   # first and last track
        ch.buf[3] = 1
        ch.buf[5] = 0x14                # track 1: data
        ch.buf[6] = 1
        ch.buf[13] = 0x14               # lead-out
        ch.buf[14] = 0xAA
        put_be32(&ch.buf[16], <uint32_t>(last + 1))
        atapi_reply(s, ch, 20, (<uint32_t>cdb[7] << 8) | cdb[8])
    else:
        atapi_finish(s, ch, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE)

cdef void atapi_packet_write(IdeState* s, IdeChannel* ch, IdeDisk* d, uint32_t size,
                             uint32_t v) noexcept nogil:
    cdef uint32_t n = size
    if n > ch.end - ch.pos:
        n = ch.end - ch.pos
    memcpy(&ch.buf[ch.pos], &v, n)
    ch.pos += n
    if ch.pos >= ch.end:
        ch.xfer = IDE_XFER_NONE
        ch.writing = 0                  # the data phase is data-in
        ch.status = ATA_DRDY | ATA_DSC
        atapi_execute(s, ch, d)

cdef void atapi_command(IdeState* s, IdeChannel* ch, IdeDisk* d, uint8_t cmd) noexcept nogil:
    ch.irq_pending = 0
    if cmd == 0xA0:                     # PACKET
        ch.limit = (<uint32_t>ch.hcyl << 8) | ch.lcyl
        if ch.limit == 0 or ch.limit == 0xFFFF:
            ch.limit = 0xFFFE
        ch.xfer = IDE_XFER_PACKET
        ch.writing = 1
        ch.pos = 0
        ch.end = 12
        ch.nsect = ATAPI_IR_COD
        ch.status = ATA_DRDY | ATA_DSC | ATA_DRQ      # no interrupt for the packet
    elif cmd == 0xA1:                   # IDENTIFY PACKET DEVICE
        atapi_identify(ch)
        ch.xfer = IDE_XFER_BUFFER
        ch.writing = 0
        ch.left = 0
        ch.limit = 0
        ch.pos = 0
        ch.end = IDE_SECTOR
        ch.status = ATA_DRDY | ATA_DSC | ATA_DRQ
        ide_raise(s, ch)
    elif cmd == 0x08 or cmd == 0x90:    # DEVICE RESET, EXECUTE DEVICE DIAGNOSTIC
        ide_signature(ch)
        atapi_signature(ch)
        ch.status = ATA_DRDY | ATA_DSC
        if cmd == 0x90:
            ide_raise(s, ch)
    elif cmd == 0xEC:                   # IDENTIFY DEVICE: "I am ATAPI"
        atapi_signature(ch)
        ide_abort(s, ch, ATA_ABRT)
    elif cmd == 0xEF or cmd == 0xE7 or cmd == 0xEA or 0xE0 <= cmd <= 0xE5:
        ide_done(s, ch)
    else:
        ide_abort(s, ch, ATA_ABRT)
