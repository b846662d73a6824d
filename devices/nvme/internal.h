/* SPDX-License-Identifier: MIT */
/* State shared by the files of the NVMe controller model. Not an interface for other parts. */
#ifndef NVME_INTERNAL_H
#define NVME_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/nvme/backend.h"
#include "devices/nvme/inject.h"
#include "devices/nvme/nvme.h"
#include "devices/nvme/spec.h"
#include "devices/nvme/subsys.h"
#include "vmm/addr_space.h"

#define NVME_AERL	      3	   /* Identify AERL: 4 outstanding AERs */
#define NVME_ELPE	      15   /* 16 error log entries */
#define NVME_MAX_AEN	      16   /* queued, not yet reported events */
#define NVME_SGL_MAX_DESC     1024 /* descriptors per command (Invalid Number of SGL Descriptors) */
#define NVME_TEMP_KELVIN      313  /* composite temperature we report: 40 C */
#define NVME_STATUS_PENDING   0xffff /* exec: completion comes later */
#define NVME_ADM_DBBUF_CONFIG 0x7c   /* Doorbell Buffer Config (5.8) */
/* Copy limits (Identify Namespace MSRC, MSSRL, MCL; NVM Command Set 1.0) */
#define NVME_COPY_MSRC	127	     /* 0-based: 128 source ranges */
#define NVME_COPY_MSSRL 1024	     /* logical blocks per source range */
#define NVME_COPY_MCL	4096	     /* logical blocks per command */
#define NVME_COPY_CHUNK (128u << 10) /* bytes moved per backend read + write */

struct nvme_ctrl;

/* A Copy command in progress (io.c): source ranges, a bounce chunk, where it got to. */
struct nvme_copy {
	unsigned nr, idx; /* ranges, the one being copied */
	uint64_t off;	  /* blocks of range idx already copied */
	uint64_t dlba;	  /* next destination block */
	uint64_t chunk;	  /* blocks in the chunk in flight */
	bool writing;	  /* the chunk in flight is the write half */
	bool fua;
	bool submitting, done_inline; /* a synchronous backend completed inside submit() */
	void *buf;		      /* NVME_COPY_CHUNK bytes, 4 KiB aligned (O_DIRECT) */
	struct iovec iov;
	/* Namespaces with metadata (pi.c): each half moves the chunk's metadata too */
	unsigned half_pending; /* backend requests of the half in flight */
	void *mbuf;	       /* the chunk's metadata */
	struct iovec miov;
	struct nvme_be_req mbe;
	struct {
		uint64_t slba;
		uint32_t nlb;		/* 1-based */
		uint32_t elbt;		/* expected initial Reference Tag (format 0h bytes 27:24) */
		uint16_t elbat, elbatm; /* bytes 29:28, 31:30 */
	} range[NVME_COPY_MSRC + 1];
};

/* A zone (zns.c): its state (ZS) and write pointer, an absolute LBA. */
struct nvme_zone {
	uint8_t zs;
	uint64_t wp;
};

/* The zones of a zoned namespace (zns.c). Sizes in bytes are fixed; in blocks they follow
 * the LBA format. max_open/max_active 0: no limit. */
struct nvme_zns {
	uint64_t zone_bytes, cap_bytes;
	uint64_t zsze, zcap; /* blocks */
	uint64_t nr_zones;
	unsigned max_open, max_active, nr_open, nr_active;
	struct nvme_zone *zone;
};

struct nvme_ns {
	uint32_t nsid;
	uint64_t size; /* bytes */
	unsigned lbaf; /* LBA format index: 0 = 512 B, 1 = 4096 B (Identify NS LBAF) */
	unsigned lba_shift;
	uint64_t nsze; /* in logical blocks */
	struct nvme_backend be;
	uint8_t nguid[16], eui64[8], uuid[16];
	bool allocated; /* exists in the NVM subsystem (5.20) */
	bool attached;	/* to this controller: active, takes I/O (5.21) */
	bool pool;	/* created by Namespace Management: its size counts against the pool */
	struct nvme_zns *zns; /* zoned (CSI 02h); NULL: NVM command set */
	bool shared;	      /* a namespace of the controller's subsystem (subsys.c) */
	uint32_t anagrpid;    /* its ANA group, 1..NVME_ANA_MAX_GROUPS (ana.c) */
	/* Metadata and protection information of the current format (pi.c) */
	unsigned ms;	   /* LBAF MS: metadata bytes per block; 0: none */
	bool ext;	   /* FLBAS bit 4: extended LBA (metadata after each block's data) */
	uint8_t dps;	   /* DPS: PI type 2:0, bit 3 tuple in the first 8 bytes */
	uint64_t meta_off; /* backend byte offset of block 0's metadata */
};

/* An I/O on a namespace with metadata (pi.c): bounce buffers and the metadata half. */
struct nvme_meta_io {
	struct nvme_be_req mbe;
	struct iovec iov[2]; /* data, metadata */
	uint8_t *data, *md;  /* nlb blocks; nlb * ms bytes */
	uint32_t nlb;
	bool md_xfer; /* the metadata moves to or from the host */
};

/* A data pointer resolved to host memory (NVMe 1.4 4.3 PRP, 4.4 SGL). */
struct nvme_sg {
	struct iovec *iov;
	int niov, cap;
	uint64_t len;
};

struct nvme_req {
	struct nvme_ctrl *c;
	struct nvme_sq *sq;
	struct nvme_req *next; /* free list, CQ held list */
	struct nvme_sqe cmd;
	struct nvme_ns *ns;
	uint32_t result;  /* CQE DW0 */
	uint32_t result1; /* CQE DW1 (Zone Append: upper half of the LBA) */
	uint16_t status;  /* first error of the sub-requests */
	unsigned pending; /* backend requests in flight */
	struct nvme_sg sg;
	struct nvme_be_req be;	 /* the common single backend request */
	struct nvme_be_req *bes; /* DSM ranges, flush of every namespace */
	unsigned bes_cap;
	void *bounce; /* Compare reads the media here */
	struct iovec bounce_iov;
	struct nvme_copy *copy;	   /* Copy command state */
	struct nvme_meta_io *meta; /* pi.c: I/O on a namespace with metadata */
	uint8_t inject;		   /* enum nvme_inject_kind acting on this command; 0: none */
	uint64_t inject_due;	   /* delay: when its CQE may be posted (CLOCK_MONOTONIC ns) */
};

struct nvme_sq {
	uint16_t qid, cqid;
	uint64_t base;
	uint32_t size, head, tail;
	struct nvme_req *reqs, *free;
	bool stalled;	     /* ran out of requests with entries left */
	uint32_t bad_shadow; /* last invalid shadow tail reported (+1; 0: none) */
};

struct nvme_cq {
	uint16_t qid;
	uint64_t base;
	uint32_t size, head, tail;
	bool phase, ien, irq_pending;
	uint16_t vector;
	unsigned nsq;			    /* SQs that complete here */
	struct nvme_req *held, **held_tail; /* completions waiting for free slots */
	unsigned coalesced;		    /* entries posted since the last interrupt */
	uint64_t first_ns;		    /* when the first of them was posted */
	uint32_t bad_shadow;
};

/* Doorbell Buffer Config (NVMe 1.4 5.8): shadow doorbells and EventIdx, DSTRD = 0 layout:
 * SQ y tail at dbs[2y], CQ y head at dbs[2y + 1]; EventIdx entries alike in eis. */
struct nvme_dbbuf {
	bool enabled;
	uint32_t *dbs, *eis; /* host pointers to (max_queues + 1) * 8 bytes each */
	uint64_t dbs_addr, eis_addr;
	bool polling; /* EventIdx entries say "do not ring": the I/O thread is polling */
};

struct nvme_aen {
	uint8_t type, info, lid;
};

struct nvme_error_entry {
	uint64_t count;
	uint16_t sqid, cid, status, param;
	uint64_t lba;
	uint32_t nsid;
};

struct nvme_features {
	uint32_t arbitration, power_mgmt, temp_over, temp_under, err_recovery, vwc;
	uint32_t irq_coalesce, write_atomic, async_event;
	uint8_t *irq_cd;	     /* per vector: Interrupt Vector Configuration CD bit */
	int64_t timestamp_offset_ms; /* host-set timestamp minus host clock */
	bool timestamp_set;
};

enum { NVME_MEM_CMB, NVME_MEM_PMR, NVME_NR_MEM_SPACES };

/* Error injection (inject.c). armed is read without a lock on every fetch; the rules under
 * `lock`, taken after the controller lock; delayed and commands under the controller lock. */
struct nvme_inject_state {
	unsigned armed; /* rules armed (atomic) */
	pthread_mutex_t lock;
	struct nvme_inject_rule rule[NVME_INJECT_MAX_RULES];
	unsigned nrules;
	uint64_t fired;
	struct nvme_req *delayed; /* completions waiting for inject_due */
	unsigned ndelayed;
	struct nvme_req *dropped; /* executed, never posted: until Abort or a reset */
	unsigned ndropped;
	uint64_t commands;
};

struct nvme_ctrl {
	pthread_mutex_t lock;
	struct nvme_host host;
	char name[32];
	char serial[21], model[41], firmware[9], subnqn[224];
	uint16_t vid, ssvid, cntlid;
	bool pin_iothread; /* nvme_ctrl_config: the I/O thread's host CPU */
	int iothread_cpu;
	uint32_t max_queues, nr_vectors, mdts_bytes;
	uint8_t mdts; /* Identify MDTS: power of two in units of CAP.MPSMIN */

	/* Registers (3.1) */
	uint64_t cap;
	uint32_t intms, cc, csts, aqa;
	uint64_t asq, acq;
	unsigned page_shift; /* from CC.MPS, latched at enable */

	struct nvme_sq **sq; /* [0..max_queues] */
	struct nvme_cq **cq;

	struct nvme_ns *ns; /* [nr_ns]: slot i is NSID i + 1, allocated or not */
	unsigned nr_ns;	    /* Identify NN */

	/* Namespace Management pool (nsmgmt.c); capacity 0: feature off */
	uint64_t nsmgmt_capacity, nsmgmt_used;
	char nsmgmt_backend[8];
	uint64_t ns_generation; /* salts the identifiers of created namespaces */

	struct nvme_features feat;

	struct nvme_req *aer[NVME_AERL + 1];
	unsigned naer;
	struct nvme_aen aen[NVME_MAX_AEN];
	unsigned naen;
	uint8_t aen_masked; /* by event type, until the host reads the log page */

	struct nvme_error_entry errlog[NVME_ELPE + 1];
	uint64_t err_count;

	uint32_t changed_ns[1024];
	unsigned nchanged;
	bool changed_ns_overflow;

	/* SMART / Health (5.14.1.2) */
	uint64_t units_read, units_written; /* 512-byte units */
	uint64_t host_reads, host_writes;
	uint64_t created_ns;

	uint8_t *bitbucket;   /* SGL Bit Bucket target: reads discard here */
	struct nvme_cmb *cmb; /* cmb.h; NULL: no CMB */
	struct nvme_pmr *pmr; /* pmr.h; NULL: no PMR */
	/* The controller memory space as DMA sees it: the CMB and the PMR at their latched
	 * CBA, base AS_OFF while off (stored atomically, read without the lock). */
	struct as_region mem_space[NVME_NR_MEM_SPACES];

	struct nvme_ring *ring; /* io_uring and I/O thread (iothread.h) */
	struct nvme_dbbuf dbbuf;
	struct nvme_inject_state inj;

	/* NVM subsystem shared with other controllers (subsys.h); NULL: on its own */
	struct nvme_subsys *subsys;
	uint8_t ana_state[NVME_ANA_MAX_GROUPS + 1]; /* per ANA group, as seen through c */
	uint64_t ana_chgcnt, ana_grp_chgcnt[NVME_ANA_MAX_GROUPS + 1];
};

/* ctrl.c */
bool nvme_ctrl_ready(const struct nvme_ctrl *c);
void nvme_ctrl_fatal(struct nvme_ctrl *c, const char *why);

/* inject.c (controller lock held, except init and fini) */
void nvme_inject_init(struct nvme_ctrl *c);
void nvme_inject_fini(struct nvme_ctrl *c);
/* A fetched command, while rules are armed: the kind that fired (fail: r->status set). */
int nvme_inject_fetch(struct nvme_ctrl *c, struct nvme_req *r);
/* At completion of a command with r->inject set: true when it took the request over. */
bool nvme_inject_complete(struct nvme_ctrl *c, struct nvme_req *r);
/* Post the delayed completions that are due (from nvme_irq_flush). */
void nvme_inject_post_due(struct nvme_ctrl *c);
/* Forget the delayed and dropped commands of an SQ being deleted. */
void nvme_inject_sq_deleted(struct nvme_ctrl *c, struct nvme_sq *sq);
/* Abort (5.1) of command cid on sqid: true when it was a dropped or delayed one, now
 * completed with Command Abort Requested. */
bool nvme_inject_abort(struct nvme_ctrl *c, uint16_t sqid, uint16_t cid);

/* queue.c */
void nvme_req_release(struct nvme_req *r);
struct nvme_sq *nvme_sq_create(struct nvme_ctrl *c, uint16_t qid, uint16_t cqid, uint64_t base,
			       uint32_t size);
void nvme_sq_delete(struct nvme_ctrl *c, uint16_t qid);
struct nvme_cq *nvme_cq_create(struct nvme_ctrl *c, uint16_t qid, uint64_t base, uint32_t size,
			       bool ien, uint16_t vector);
void nvme_cq_delete(struct nvme_ctrl *c, uint16_t qid);
void nvme_queues_reset(struct nvme_ctrl *c);
void nvme_sq_run(struct nvme_ctrl *c, struct nvme_sq *sq);
void nvme_run_all(struct nvme_ctrl *c);
void nvme_req_complete(struct nvme_req *r);
void nvme_irq_flush(struct nvme_ctrl *c);
void nvme_cq_post_held(struct nvme_ctrl *c, struct nvme_cq *cq);
void nvme_sq_doorbell(struct nvme_ctrl *c, uint16_t qid, uint32_t val);
void nvme_cq_doorbell(struct nvme_ctrl *c, uint16_t qid, uint32_t val);

/* dbbuf.c: Doorbell Buffer Config, shadow doorbells, EventIdx */
uint16_t nvme_dbbuf_config(struct nvme_ctrl *c, struct nvme_req *r);
void nvme_dbbuf_reset(struct nvme_ctrl *c);
void nvme_dbbuf_queue_created(struct nvme_ctrl *c, uint16_t qid, bool cq);
void nvme_dbbuf_queue_deleted(struct nvme_ctrl *c, uint16_t qid, bool cq);
/* Take the tail / head from the shadow buffer; true when it moved. */
bool nvme_dbbuf_sq_tail(struct nvme_ctrl *c, struct nvme_sq *sq);
bool nvme_dbbuf_cq_head(struct nvme_ctrl *c, struct nvme_cq *cq);
/* I/O thread: process every queue from the shadow buffer; true when there was work. */
bool nvme_dbbuf_poll(struct nvme_ctrl *c);
/* EventIdx for polling (host need not ring) or sleeping (host rings on its next update).
 * Returns true when, arming for sleep, new work was found instead. */
bool nvme_dbbuf_eventidx(struct nvme_ctrl *c, bool polling);
/* A register doorbell of an I/O queue while the shadow buffer is on. */
void nvme_dbbuf_sq_rung(struct nvme_ctrl *c, struct nvme_sq *sq);
void nvme_dbbuf_cq_rung(struct nvme_ctrl *c, struct nvme_cq *cq);

/* nsmgmt.c: Namespace Management (5.20) and Attachment (5.21) */
int nvme_nsmgmt_init(struct nvme_ctrl *c, const struct nvme_ctrl_config *cfg, char *err,
		     size_t errlen);
bool nvme_nsmgmt_enabled(const struct nvme_ctrl *c);
uint16_t nvme_ns_mgmt(struct nvme_ctrl *c, struct nvme_req *r);
uint16_t nvme_ns_attach(struct nvme_ctrl *c, struct nvme_req *r);
/* Identify CNS 10h-13h. */
uint16_t nvme_identify_nsmgmt(struct nvme_ctrl *c, struct nvme_req *r, uint8_t cns, uint8_t *buf);
/* TNVMCAP and UNVMCAP in bytes. */
void nvme_nsmgmt_capacity(struct nvme_ctrl *c, uint64_t *total, uint64_t *unalloc);
/* Changed Namespace List (log 04h) entry and Namespace Attribute Changed notice (5.2). */
void nvme_ns_changed(struct nvme_ctrl *c, uint32_t nsid);

/* admin.c */
uint16_t nvme_admin_exec(struct nvme_ctrl *c, struct nvme_req *r);

/* features.c: Get/Set Features, Get Log Page, asynchronous events, error log */
uint16_t nvme_get_features(struct nvme_ctrl *c, struct nvme_req *r);
uint16_t nvme_set_features(struct nvme_ctrl *c, struct nvme_req *r);
uint16_t nvme_get_log_page(struct nvme_ctrl *c, struct nvme_req *r);
uint16_t nvme_aer(struct nvme_ctrl *c, struct nvme_req *r);
void nvme_aen_post(struct nvme_ctrl *c, uint8_t type, uint8_t info, uint8_t lid);
void nvme_error_log(struct nvme_ctrl *c, uint16_t sqid, uint16_t cid, uint16_t status);
void nvme_features_reset(struct nvme_ctrl *c);
void nvme_aer_reset(struct nvme_ctrl *c);

/* io.c */
uint16_t nvme_io_exec(struct nvme_ctrl *c, struct nvme_req *r);
uint16_t nvme_flush_all(struct nvme_ctrl *c, struct nvme_req *r);
/* r->bes with room for n requests, or NULL */
struct nvme_be_req *nvme_req_bes(struct nvme_req *r, unsigned n);
void nvme_req_free_copy(struct nvme_req *r);
/* For pi.c: submit b as one more part of r; then drop the submitter's reference. */
void nvme_io_submit(struct nvme_req *r, struct nvme_ns *ns, struct nvme_be_req *b);
uint16_t nvme_io_submit_end(struct nvme_req *r);

/* dptr.c: PRP and SGL walkers */
/* Every byte of [addr, addr + len) reachable by DMA (page by page, as queues are used). */
bool nvme_dma_mapped(struct nvme_ctrl *c, uint64_t addr, uint64_t len);
uint16_t nvme_map_dptr(struct nvme_ctrl *c, struct nvme_req *r, uint64_t len, bool to_device,
		       bool allow_sgl);
uint16_t nvme_sg_copy_to_host(struct nvme_sg *sg, const void *buf, uint64_t len);
uint16_t nvme_sg_copy_from_host(struct nvme_sg *sg, void *buf, uint64_t len);
/* Map, then copy a controller buffer to the host (Identify, logs) or from it. */
uint16_t nvme_dptr_read_to_host(struct nvme_ctrl *c, struct nvme_req *r, const void *buf,
				uint64_t len);
uint16_t nvme_dptr_from_host(struct nvme_ctrl *c, struct nvme_req *r, void *buf, uint64_t len);
void nvme_sg_free(struct nvme_sg *sg);
/* Append the metadata buffer of len bytes that MPTR describes to r->sg (PSDT 00b/01b: a
 * contiguous buffer; 10b: one SGL descriptor). */
uint16_t nvme_map_mptr(struct nvme_ctrl *c, struct nvme_req *r, uint64_t len, bool to_device);

/* pi.c: metadata and end-to-end protection (NVM Command Set 1.0 5.2, 5.3) */
#define NVME_NR_LBAF 8 /* 0: 512 B, 1: 4 KiB, 2-4: 512 B + 8/16/64, 5-7: 4 KiB + 8/16/64 */
unsigned nvme_lbaf_shift(unsigned lbaf);
unsigned nvme_lbaf_ms(unsigned lbaf);
/* The LBAF index of lba_size + ms bytes of metadata, or -1. */
int nvme_lbaf_find(unsigned lba_size, unsigned ms);
uint16_t nvme_crc16_t10dif(uint16_t crc, const void *buf, size_t len);
/* nsze and meta_off for ns->size, lba_shift and ms. */
void nvme_meta_layout(struct nvme_ns *ns);
uint16_t nvme_meta_format_check(const struct nvme_ns *ns, unsigned lbaf, unsigned pi);
void nvme_meta_set_format(struct nvme_ns *ns, bool extended, unsigned pi, bool pi_first);
/* NLBAF, the LBAF entries and (ns != NULL) FLBAS, MC, DPC, DPS. */
void nvme_meta_identify_ns(const struct nvme_ns *ns, uint8_t *id, unsigned nlbaf);
uint16_t nvme_meta_rw(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns);
uint16_t nvme_meta_write_zeroes(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns,
				uint64_t slba, uint64_t nlb);
/* Copy on a namespace with metadata: the command's checks (Type 1 ILBRT) and, per chunk read
 * (n blocks from range cp->idx at cp->off, to cp->dlba), the source checks (PRINFOR) and the
 * destination tuples (PRINFOW: PRACT generates, else checked). */
uint16_t nvme_meta_copy_check(const struct nvme_ns *ns, const struct nvme_sqe *cmd,
			      const struct nvme_copy *cp);
uint16_t nvme_meta_copy_chunk(const struct nvme_ns *ns, const struct nvme_sqe *cmd,
			      const struct nvme_copy *cp, uint8_t *data, uint8_t *md, uint32_t n);
void nvme_meta_finish(struct nvme_req *r);
void nvme_meta_free(struct nvme_req *r);

/* zns.c: Zoned Namespace Command Set 1.1 */
/* Set up ns->zns for cfg->zoned after the backend is open (no-op otherwise). */
int nvme_zns_init(struct nvme_ns *ns, const struct nvme_ns_config *cfg, char *err, size_t errlen);
void nvme_zns_fini(struct nvme_ns *ns);
/* Format NVM: zone geometry in the new LBA format, every zone Empty. */
void nvme_zns_format(struct nvme_ns *ns);
/* Write / Write Zeroes / Zone Append of [slba, slba + nlb) within the namespace: the status,
 * and on success *lba the first block written (the write pointer moved past the range). */
uint16_t nvme_zns_write(struct nvme_ns *ns, uint64_t slba, uint64_t nlb, bool append,
			uint64_t *lba);
/* Zero the blocks of a completed read that lie at or past their zone's write pointer. */
void nvme_zns_read_mask(struct nvme_ns *ns, uint64_t slba, uint64_t nlb, const struct iovec *iov,
			int n);
/* The opcodes of the Zoned Namespace Command Set alone (ZNS 1.1 3.3, 3.4). */
static inline bool nvme_zone_opcode(uint8_t opcode)
{
	return opcode == NVME_CMD_ZONE_MGMT_SEND || opcode == NVME_CMD_ZONE_MGMT_RECV ||
	       opcode == NVME_CMD_ZONE_APPEND;
}
/* Zone Management Send / Receive. */
uint16_t nvme_zns_exec(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns);
void nvme_zns_identify_ns(const struct nvme_ns *ns, uint8_t *id);
/* Tests and error injection: force zone zidx into state zs (Read Only, Offline...). */
void nvme_zns_set_zone_state(struct nvme_ns *ns, uint64_t zidx, uint8_t zs);

/* Reservations of a shared namespace (resv.c), in its subsystem under the subsystem lock. */
#define NVME_CMD_RESV_REGISTER	     0x0d
#define NVME_CMD_RESV_REPORT	     0x0e
#define NVME_CMD_RESV_ACQUIRE	     0x11
#define NVME_CMD_RESV_RELEASE	     0x15
#define NVME_SC_RESERVATION_CONFLICT 0x83
struct nvme_resv_reg {
	uint16_t cntlid;
	uint64_t key;
};
struct nvme_resv {
	uint32_t gen;	 /* bumped by registration changes and preemptions */
	uint8_t rtype;	 /* 0: no reservation */
	uint16_t holder; /* cntlid (types 1-4) */
	struct nvme_resv_reg reg[NVME_SUBSYS_MAX_CTRL];
	unsigned nreg;
};

/* subsys.c */
struct nvme_resv *nvme_subsys_resv(struct nvme_subsys *s, uint32_t nsid);
void nvme_subsys_lock(struct nvme_subsys *s);
void nvme_subsys_unlock(struct nvme_subsys *s);
/* resv.c (controller lock held) */
uint16_t nvme_resv_exec(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns);
/* 0, or Reservation Conflict for an I/O command with this opcode to ns through c. */
uint16_t nvme_resv_check(struct nvme_ctrl *c, const struct nvme_ns *ns, uint8_t opcode);
const char *nvme_subsys_subnqn(const struct nvme_subsys *s);
const char *nvme_subsys_serial(const struct nvme_subsys *s);
/* A CNTLID unique in the subsystem; -ENOSPC past NVME_SUBSYS_MAX_CTRL controllers. */
int nvme_subsys_add_ctrl(struct nvme_subsys *s, uint16_t *cntlid);
/* The shared "ram" storage of namespace nsid as be (the first caller maps it). */
int nvme_subsys_open_ram(struct nvme_subsys *s, uint32_t nsid, uint64_t size,
			 struct nvme_backend *be, char *err, size_t errlen);

/* ana.c (controller lock held) */
void nvme_ana_init(struct nvme_ctrl *c);
void nvme_ana_identify_ctrl(struct nvme_ctrl *c, uint8_t *id);
void nvme_ana_identify_ns(const struct nvme_ns *ns, uint8_t *id);
/* 0, or the Path Related status for I/O to ns through c. */
uint16_t nvme_ana_io_status(struct nvme_ctrl *c, const struct nvme_ns *ns);
/* The ANA log page into b (cap bytes); returns its size. rgo: LSP bit 0. */
size_t nvme_ana_log(struct nvme_ctrl *c, uint8_t *b, size_t cap, bool rgo);

/* ns.c */
/* Slots c->ns needs for cfg (NN). */
unsigned nvme_ns_slots(const struct nvme_ctrl_config *cfg);
/* Open the backend and set up slot nsid - 1 as allocated and attached. gen salts the
 * identifiers (0 for configured namespaces: stable across runs). */
int nvme_ns_init(struct nvme_ctrl *c, struct nvme_ns *ns, uint32_t nsid,
		 const struct nvme_ns_config *cfg, uint64_t gen, char *err, size_t errlen);
void nvme_ns_fini(struct nvme_ns *ns);
/* The active (allocated and attached) namespace nsid, or NULL. */
struct nvme_ns *nvme_ns_get(struct nvme_ctrl *c, uint32_t nsid);
/* The allocated namespace nsid, attached or not, or NULL. */
struct nvme_ns *nvme_ns_allocated(struct nvme_ctrl *c, uint32_t nsid);
/* Fields every namespace shares (Identify Namespace with NSID FFFFFFFFh). */
void nvme_identify_ns_common(uint8_t *id);
void nvme_ns_set_format(struct nvme_ns *ns, unsigned lbaf);
void nvme_identify_ns(struct nvme_ctrl *c, const struct nvme_ns *ns, uint8_t *id);
void nvme_identify_ns_descs(const struct nvme_ns *ns, uint8_t *buf);
void nvme_identify_ctrl(struct nvme_ctrl *c, uint8_t *id);

static inline void nvme_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void nvme_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void nvme_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif
