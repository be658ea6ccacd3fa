/* virtio-blk request parsing: see blk_req.h. */
#include <string.h>

#include "blk_req.h"

/* The guest-physical address of byte 'off' of the chain's writable part. */
static bool in_byte_gpa(const struct virtq_chain *c, uint64_t off, gpa_t *gpa)
{
	for (unsigned i = c->nr_out; i < (unsigned)c->nr_out + c->nr_in; i++) {
		if (off < c->seg[i].len) {
			*gpa = c->seg[i].addr + off;
			return true;
		}
		off -= c->seg[i].len;
	}
	return false;
}

/* [sector, sector + n) lies on the disk (no overflow). */
static bool in_disk(uint64_t sector, uint64_t n, uint64_t sectors)
{
	return sector <= sectors && n <= sectors - sector;
}

static int parse_ranges(struct gmem *m, const struct virtq_chain *c, uint64_t sectors,
			struct blk_req_info *r)
{
	uint64_t len = c->out_len - 16;
	if (len == 0 || len % 16 || len / 16 > BLK_MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_IOERR;
	r->nr_ranges = (unsigned)(len / 16);
	for (unsigned i = 0; i < r->nr_ranges; i++) {
		uint8_t raw[16];
		if (virtq_chain_read(m, c, 16 + 16ull * i, raw, 16) != 16)
			return VIRTIO_BLK_S_IOERR;
		struct blk_range *g = &r->range[i];
		memcpy(&g->sector, raw, 8);
		memcpy(&g->nr_sectors, raw + 8, 4);
		memcpy(&g->flags, raw + 12, 4);
		/* 5.2.6.2: unknown flags, and unmap on a discard, are unsupported. */
		if (g->flags & ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
			return VIRTIO_BLK_S_UNSUPP;
		if (r->type == VIRTIO_BLK_T_DISCARD && g->flags)
			return VIRTIO_BLK_S_UNSUPP;
		if (g->nr_sectors > BLK_MAX_DISCARD_SECTORS ||
		    !in_disk(g->sector, g->nr_sectors, sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

int blk_req_parse(struct gmem *m, const struct virtq_chain *c, uint64_t sectors,
		  bool read_only, struct blk_req_info *r)
{
	memset(r, 0, sizeof(*r));
	if (c->in_len == 0 || !in_byte_gpa(c, c->in_len - 1, &r->status_gpa))
		return -1;
	uint8_t hdr[16];
	if (c->out_len < 16 || virtq_chain_read(m, c, 0, hdr, 16) != 16) {
		r->status = VIRTIO_BLK_S_IOERR;
		return 0;
	}
	memcpy(&r->type, hdr, 4);
	memcpy(&r->sector, hdr + 8, 8);
	uint64_t in_data = c->in_len - 1, out_data = c->out_len - 16;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		r->data_in = r->type == VIRTIO_BLK_T_IN;
		r->data_off = r->data_in ? 0 : 16;
		r->data_len = r->data_in ? in_data : out_data;
		if (!r->data_in && read_only)
			r->status = VIRTIO_BLK_S_IOERR;
		else if (r->data_len % VIRTIO_BLK_SECTOR || r->data_len > BLK_MAX_DATA ||
			 !in_disk(r->sector, r->data_len / VIRTIO_BLK_SECTOR, sectors))
			r->status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_FLUSH:
		break;
	case VIRTIO_BLK_T_GET_ID:
		r->data_in = true;
		r->data_len = in_data < VIRTIO_BLK_ID_BYTES ? in_data : VIRTIO_BLK_ID_BYTES;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (read_only)
			r->status = VIRTIO_BLK_S_IOERR;
		else
			r->status = (uint8_t)parse_ranges(m, c, sectors, r);
		break;
	default:
		r->status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	return 0;
}
