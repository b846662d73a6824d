/* SPDX-License-Identifier: MIT */
/*
 * NVMe facts the controller model implements: register offsets and fields (NVMe 1.4 3.1),
 * command layouts (4.2, 4.6), opcodes (5, 6) and status codes (4.6.1). Names follow the
 * specification so code and spec read side by side. Internal to devices/nvme.
 */
#ifndef NVME_SPEC_H
#define NVME_SPEC_H

#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "NVMe structures are little-endian");

/* Controller registers (NVMe 1.4 3.1) */
#define NVME_REG_CAP	 0x00
#define NVME_REG_VS	 0x08
#define NVME_REG_INTMS	 0x0c
#define NVME_REG_INTMC	 0x10
#define NVME_REG_CC	 0x14
#define NVME_REG_CSTS	 0x1c
#define NVME_REG_NSSR	 0x20
#define NVME_REG_AQA	 0x24
#define NVME_REG_ASQ	 0x28
#define NVME_REG_ACQ	 0x30
#define NVME_REG_CMBLOC	 0x38
#define NVME_REG_CMBSZ	 0x3c
#define NVME_REG_BPINFO	 0x40
#define NVME_REG_BPRSEL	 0x44
#define NVME_REG_BPMBL	 0x48
#define NVME_REG_CMBMSC	 0x50
#define NVME_REG_CMBSTS	 0x58
#define NVME_REG_PMRCAP	 0xe00
#define NVME_REG_PMRCTL	 0xe04
#define NVME_REG_PMRSTS	 0xe08
#define NVME_REG_PMREBS	 0xe0c
#define NVME_REG_PMRSWTP 0xe10
#define NVME_REG_PMRMSCL 0xe14
#define NVME_REG_PMRMSCU 0xe18
#define NVME_REG_DBS	 0x1000

/* CAP (3.1.1) */
#define NVME_CAP_MQES(x)       ((uint64_t)(x)&0xffff)
#define NVME_CAP_CQR	       (1ULL << 16)
#define NVME_CAP_TO(x)	       ((uint64_t)(x) << 24)
#define NVME_CAP_DSTRD(x)      ((uint64_t)(x) << 32)
#define NVME_CAP_NSSRS	       (1ULL << 36)
#define NVME_CAP_CSS_NVM       (1ULL << 37)
#define NVME_CAP_CSS_CSI       (1ULL << 43) /* NVMe 2.0 3.1.3.1: I/O Command Sets */
#define NVME_CAP_MPSMIN(x)     ((uint64_t)(x) << 48)
#define NVME_CAP_MPSMAX(x)     ((uint64_t)(x) << 52)
#define NVME_CAP_PMRS	       (1ULL << 56)
#define NVME_CAP_CMBS	       (1ULL << 57)
#define NVME_CAP_MPSMIN_GET(c) (((c) >> 48) & 0xf)
#define NVME_CAP_MPSMAX_GET(c) (((c) >> 52) & 0xf)

#define NVME_VS_1_4 0x00010400

/* CC (3.1.5) */
#define NVME_CC_EN	       (1u << 0)
#define NVME_CC_CSS(cc)	       (((cc) >> 4) & 0x7)
#define NVME_CC_MPS(cc)	       (((cc) >> 7) & 0xf)
#define NVME_CC_AMS(cc)	       (((cc) >> 11) & 0x7)
#define NVME_CC_SHN(cc)	       (((cc) >> 14) & 0x3)
#define NVME_CC_IOSQES(cc)     (((cc) >> 16) & 0xf)
#define NVME_CC_IOCQES(cc)     (((cc) >> 20) & 0xf)
#define NVME_CC_SHN_MASK       (3u << 14)
#define NVME_CC_WHILE_DISABLED 0x00003ff0 /* CSS, MPS, AMS: writable only while EN=0 */
#define NVME_CC_RW_MASK	       0x00fffff1 /* every defined field */
#define NVME_CC_CSS_NVM	       0
#define NVME_CC_CSS_CSI	       6 /* NVMe 2.0 3.1.3.5: the sets of CNS 1Ch */

/* CSTS (3.1.6) */
#define NVME_CSTS_RDY		 (1u << 0)
#define NVME_CSTS_CFS		 (1u << 1)
#define NVME_CSTS_SHST_MASK	 (3u << 2)
#define NVME_CSTS_SHST_OCCURRING (1u << 2)
#define NVME_CSTS_SHST_COMPLETE	 (2u << 2)
#define NVME_CSTS_NSSRO		 (1u << 4)
#define NVME_CSTS_PP		 (1u << 5)

/* AQA (3.1.8): zero-based sizes */
#define NVME_AQA_ASQS(a) ((a)&0xfff)
#define NVME_AQA_ACQS(a) (((a) >> 16) & 0xfff)

/* Submission queue entry (4.2) and completion queue entry (4.6) */
struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags; /* FUSE 1:0, PSDT 7:6 */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2; /* or SGL1 (16 bytes) */
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
_Static_assert(sizeof(struct nvme_sqe) == 64, "SQE is 64 bytes");

#define NVME_SQE_PSDT(flags)	  (((flags) >> 6) & 3)
#define NVME_PSDT_PRP		  0
#define NVME_PSDT_SGL_MPTR_CONTIG 1
#define NVME_PSDT_SGL_MPTR_SGL	  2

struct nvme_cqe {
	uint32_t dw0, dw1;
	uint16_t sqhd, sqid;
	uint16_t cid;
	uint16_t status; /* P bit 0, status field 15:1 */
};
_Static_assert(sizeof(struct nvme_cqe) == 16, "CQE is 16 bytes");

/* SGL descriptor (4.4) */
struct nvme_sgl_desc {
	uint64_t addr;
	uint32_t len;
	uint8_t rsvd[3];
	uint8_t type; /* descriptor type 7:4, subtype 3:0 */
};
_Static_assert(sizeof(struct nvme_sgl_desc) == 16, "SGL descriptor is 16 bytes");

#define NVME_SGL_TYPE_DATA_BLOCK   0x0
#define NVME_SGL_TYPE_BIT_BUCKET   0x1
#define NVME_SGL_TYPE_SEGMENT	   0x2
#define NVME_SGL_TYPE_LAST_SEGMENT 0x3

/* Admin opcodes (5) */
enum {
	NVME_ADM_DELETE_SQ = 0x00,
	NVME_ADM_CREATE_SQ = 0x01,
	NVME_ADM_GET_LOG_PAGE = 0x02,
	NVME_ADM_DELETE_CQ = 0x04,
	NVME_ADM_CREATE_CQ = 0x05,
	NVME_ADM_IDENTIFY = 0x06,
	NVME_ADM_ABORT = 0x08,
	NVME_ADM_SET_FEATURES = 0x09,
	NVME_ADM_GET_FEATURES = 0x0a,
	NVME_ADM_ASYNC_EVENT = 0x0c,
	NVME_ADM_NS_MGMT = 0x0d,
	NVME_ADM_NS_ATTACH = 0x15,
	NVME_ADM_FORMAT_NVM = 0x80,
};

/* NVM command set opcodes (6) */
enum {
	NVME_CMD_FLUSH = 0x00,
	NVME_CMD_WRITE = 0x01,
	NVME_CMD_READ = 0x02,
	NVME_CMD_COMPARE = 0x05,
	NVME_CMD_WRITE_ZEROES = 0x08,
	NVME_CMD_DSM = 0x09,
	NVME_CMD_VERIFY = 0x0c,
	NVME_CMD_COPY = 0x19, /* NVM Command Set 1.0 3.2.2 */
	/* Zoned Namespace Command Set 1.1 3.4 */
	NVME_CMD_ZONE_MGMT_SEND = 0x79,
	NVME_CMD_ZONE_MGMT_RECV = 0x7a,
	NVME_CMD_ZONE_APPEND = 0x7d,
};

/* Identify CNS values (5.15) */
enum {
	NVME_ID_CNS_NS = 0x00,
	NVME_ID_CNS_CTRL = 0x01,
	NVME_ID_CNS_NS_ACTIVE_LIST = 0x02,
	NVME_ID_CNS_NS_DESC_LIST = 0x03,
	NVME_ID_CNS_CS_NS = 0x05,	  /* NVMe 2.0 5.17.2: I/O Command Set specific namespace */
	NVME_ID_CNS_CS_CTRL = 0x06,	  /* I/O Command Set specific controller */
	NVME_ID_CNS_NS_ALLOC_LIST = 0x10, /* allocated NSIDs above CDW1.NSID */
	NVME_ID_CNS_NS_ALLOC = 0x11,	  /* Identify Namespace of an allocated NSID */
	NVME_ID_CNS_NS_CTRL_LIST = 0x12,  /* controllers attached to NSID */
	NVME_ID_CNS_CTRL_LIST = 0x13,	  /* controllers in the NVM subsystem */
	NVME_ID_CNS_CS_LIST = 0x1c,	  /* NVMe 2.0: I/O Command Set data structure */
};

/* Namespace identification descriptor types (5.15.2.4) */
#define NVME_NIDT_EUI64 1
#define NVME_NIDT_NGUID 2
#define NVME_NIDT_UUID	3
#define NVME_NIDT_CSI	4 /* NVMe 2.0 Figure 278: Command Set Identifier, 1 byte */

/* Command Set Identifiers (NVMe 2.0 Figure 286) */
#define NVME_CSI_NVM 0x00
#define NVME_CSI_ZNS 0x02

/* Zone states as the ZS field holds them (ZNS 1.1 Figure 46) */
#define NVME_ZS_EMPTY	   0x1
#define NVME_ZS_IMP_OPEN   0x2
#define NVME_ZS_EXP_OPEN   0x3
#define NVME_ZS_CLOSED	   0x4
#define NVME_ZS_READ_ONLY  0xd
#define NVME_ZS_FULL	   0xe
#define NVME_ZS_OFFLINE	   0xf
#define NVME_ZONE_TYPE_SWR 0x2 /* Sequential Write Required */

/* Zone Send Actions (ZNS 1.1 Figure 39) and Report Zones (Figures 42, 43) */
#define NVME_ZSA_CLOSE	     0x1
#define NVME_ZSA_FINISH	     0x2
#define NVME_ZSA_OPEN	     0x3
#define NVME_ZSA_RESET	     0x4
#define NVME_ZSA_OFFLINE     0x5
#define NVME_ZRA_REPORT	     0x0
#define NVME_ZRASF_ALL	     0x0
#define NVME_ZRASF_EMPTY     0x1
#define NVME_ZRASF_IMP_OPEN  0x2
#define NVME_ZRASF_EXP_OPEN  0x3
#define NVME_ZRASF_CLOSED    0x4
#define NVME_ZRASF_FULL	     0x5
#define NVME_ZRASF_READ_ONLY 0x6
#define NVME_ZRASF_OFFLINE   0x7

/* Feature identifiers (5.21.1) */
enum {
	NVME_FEAT_ARBITRATION = 0x01,
	NVME_FEAT_POWER_MGMT = 0x02,
	NVME_FEAT_TEMP_THRESH = 0x04,
	NVME_FEAT_ERR_RECOVERY = 0x05,
	NVME_FEAT_VOLATILE_WC = 0x06,
	NVME_FEAT_NUM_QUEUES = 0x07,
	NVME_FEAT_IRQ_COALESCE = 0x08,
	NVME_FEAT_IRQ_CONFIG = 0x09,
	NVME_FEAT_WRITE_ATOMIC = 0x0a,
	NVME_FEAT_ASYNC_EVENT = 0x0b,
	NVME_FEAT_TIMESTAMP = 0x0e,
};

/* Log page identifiers (5.14.1) */
enum {
	NVME_LOG_ERROR = 0x01,
	NVME_LOG_SMART = 0x02,
	NVME_LOG_FW_SLOT = 0x03,
	NVME_LOG_CHANGED_NS = 0x04,
	NVME_LOG_CMD_EFFECTS = 0x05,
};

/* Asynchronous event types and information (5.2) */
#define NVME_AER_TYPE_ERROR	      0
#define NVME_AER_TYPE_SMART	      1
#define NVME_AER_TYPE_NOTICE	      2
#define NVME_AER_ERR_INVALID_DB_REG   0x00
#define NVME_AER_ERR_INVALID_DB_VALUE 0x01
#define NVME_AER_SMART_TEMP_THRESH    0x01
#define NVME_AER_NOTICE_NS_CHANGED    0x00

/*
 * Status field values as the CQE carries them shifted right by one (4.6.1): SC 7:0,
 * SCT 10:8, DNR 14. The same numbering as Linux's NVME_SC_*.
 */
enum {
	NVME_SC_SUCCESS = 0x00,
	NVME_SC_INVALID_OPCODE = 0x01,
	NVME_SC_INVALID_FIELD = 0x02,
	NVME_SC_DATA_XFER_ERROR = 0x04,
	NVME_SC_INTERNAL = 0x06,
	NVME_SC_ABORT_REQ = 0x07,
	NVME_SC_ABORT_QUEUE = 0x08,
	NVME_SC_INVALID_NS = 0x0b,
	NVME_SC_SGL_INVALID_SEG = 0x0d,
	NVME_SC_SGL_INVALID_COUNT = 0x0e,
	NVME_SC_SGL_INVALID_DATA = 0x0f,
	NVME_SC_SGL_INVALID_TYPE = 0x11,
	NVME_SC_PRP_INVALID_OFFSET = 0x13,
	NVME_SC_LBA_RANGE = 0x80,

	NVME_SC_CQ_INVALID = 0x100,
	NVME_SC_QID_INVALID = 0x101,
	NVME_SC_QUEUE_SIZE = 0x102,
	NVME_SC_AER_LIMIT = 0x105,
	NVME_SC_INVALID_VECTOR = 0x108,
	NVME_SC_INVALID_LOG_PAGE = 0x109,
	NVME_SC_INVALID_FORMAT = 0x10a,
	NVME_SC_INVALID_QUEUE_DELETE = 0x10c,
	NVME_SC_FEATURE_NOT_SAVEABLE = 0x10d,
	/* Namespace Management / Attachment specific (5.20, 5.21) */
	NVME_SC_NS_INSUFFICIENT_CAP = 0x115,
	NVME_SC_NS_ID_UNAVAILABLE = 0x116,
	NVME_SC_NS_ALREADY_ATTACHED = 0x118,
	NVME_SC_NS_NOT_ATTACHED = 0x11a,
	NVME_SC_THIN_PROV_NOT_SUPP = 0x11b,
	NVME_SC_CTRL_LIST_INVALID = 0x11c,
	/* NVM Command Set 1.0: command specific status values of NVM commands */
	NVME_SC_INVALID_PI = 0x181,	/* Invalid Protection Information */
	NVME_SC_CMD_SIZE_LIMIT = 0x183, /* Command Size Limit Exceeded (Copy) */
	/* ZNS 1.1 Figure 26: command specific status values of the Zoned Namespace set */
	NVME_SC_ZONE_BOUNDARY_ERROR = 0x1b8,
	NVME_SC_ZONE_FULL = 0x1b9,
	NVME_SC_ZONE_READ_ONLY = 0x1ba,
	NVME_SC_ZONE_OFFLINE = 0x1bb,
	NVME_SC_ZONE_INVALID_WRITE = 0x1bc,
	NVME_SC_ZONE_TOO_MANY_ACTIVE = 0x1bd,
	NVME_SC_ZONE_TOO_MANY_OPEN = 0x1be,
	NVME_SC_ZONE_INVALID_TRANSITION = 0x1bf,

	NVME_SC_WRITE_FAULT = 0x280,
	NVME_SC_READ_ERROR = 0x281,
	/* NVM Command Set 1.0 Figure 22: end-to-end protection check errors */
	NVME_SC_GUARD_CHECK = 0x282,
	NVME_SC_APPTAG_CHECK = 0x283,
	NVME_SC_REFTAG_CHECK = 0x284,
	NVME_SC_COMPARE_FAILED = 0x285,

	NVME_SC_DNR = 0x4000,
};

#define NVME_NSID_ALL 0xffffffffu

#endif
