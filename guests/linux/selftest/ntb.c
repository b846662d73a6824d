// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * NTB: the IDT NT function of a vmm pair (devices/ntb) as Linux's ntb_hw_idt drives it.
 * Both guests of the pair run this at the same time, so every step has its twin on the peer.
 *
 * The NTB bus binds one client per device and ntb_pingpong is the first built-in one, so it
 * owns the device: it pings the peer (message 0 and a doorbell bit numbered by the peer's
 * port) and answers each doorbell interrupt. We count the doorbell events it takes and, beside
 * it, use what it leaves alone: messages 1 and 2, doorbell bits 16 + port (left masked, so
 * they are polled, never delivered to ntb_pingpong) and memory window 0:
 *   1. message 1 to the peer: our buffer's page frame (tagged), read from its INMSG1;
 *   2. translate window 0 onto the peer's buffer, store a pattern through it, ring the
 *      peer's doorbell bit; the peer checks its buffer and reports by message 2;
 *   3. neither side powers off before it has the peer's report, so ntb_pingpong runs on both
 *      sides for the whole exchange.
 * ntb_pingpong clears every message status bit on each pong, so messages are recognised by
 * their tags in INMSGn, not by MSGSTS.
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/ntb.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "vmm_selftest.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "vmmtest."

unsigned int vmmtest_ntb_wait = 180;
module_param_named(ntb_wait, vmmtest_ntb_wait, uint, 0444);

#define IDT_VENDOR    0x111d
#define IDT_NT_DEVICE 0x8091

#define MSG_ADDR	1
#define MSG_DONE	2
#define MSG_ADDR_TAG	0x80000000u /* | page frame number of the buffer (< 1 TiB) */
#define MSG_DONE_TAG	0x564d0000u /* | words that differed, clipped to 0xffff */
#define DB_BIT(port)	BIT_ULL(16 + (port))
#define MW_TEST_LEN	SZ_64K
#define PINGPONG_ROUNDS 5

/* ntb_pingpong's doorbell events, counted on their way to it. */
static const struct ntb_ctx_ops *pp_ops;
static atomic_t pp_db_events = ATOMIC_INIT(0);

static void tap_link_event(void *ctx)
{
	pp_ops->link_event(ctx);
}

static void tap_db_event(void *ctx, int vector)
{
	atomic_inc(&pp_db_events);
	pp_ops->db_event(ctx, vector);
}

static void tap_msg_event(void *ctx)
{
	if (pp_ops->msg_event)
		pp_ops->msg_event(ctx);
}

static const struct ntb_ctx_ops tap_ops = {
	.link_event = tap_link_event,
	.db_event = tap_db_event,
	.msg_event = tap_msg_event,
};

static bool tap_pingpong(struct ntb_dev *ntb)
{
	unsigned long flags;
	bool ok = false;

	spin_lock_irqsave(&ntb->ctx_lock, flags);
	if (ntb->ctx_ops && ntb->ctx_ops->link_event && ntb->ctx_ops->db_event) {
		pp_ops = ntb->ctx_ops;
		ntb->ctx_ops = &tap_ops;
		ok = true;
	}
	spin_unlock_irqrestore(&ntb->ctx_lock, flags);
	return ok;
}

static unsigned long deadline(void)
{
	return jiffies + vmmtest_ntb_wait * HZ;
}

/* Polls INMSG<midx> until it carries tag (in the bits of mask); 0 and *val on success. */
static int msg_wait(struct ntb_dev *ntb, int midx, u32 mask, u32 tag, u32 *val)
{
	unsigned long end = deadline();
	int pidx;

	do {
		*val = ntb_msg_read(ntb, &pidx, midx);
		if ((*val & mask) == tag)
			return 0;
		msleep(20);
	} while (time_before(jiffies, end));
	return -ETIMEDOUT;
}

/* A message refused (the peer's inbox full) shows in our MSGSTS out bits: send it again. */
static int msg_send(struct ntb_dev *ntb, int midx, u32 val)
{
	u64 refused = BIT_ULL(__ffs64(ntb_msg_outbits(ntb)) + midx);
	int tries;

	for (tries = 0; tries < 100; tries++) {
		ntb_msg_clear_sts(ntb, refused);
		ntb_peer_msg_write(ntb, 0, midx, val);
		if (!(ntb_msg_read_sts(ntb) & refused))
			return 0;
		msleep(20);
	}
	return -EBUSY;
}

static u32 mw_word(int port, int i)
{
	return (0x4d570000u + (port << 8)) ^ (i * 2654435761u);
}

/* Steps 1-3 above. */
static void ntb_check_exchange(struct ntb_dev *ntb, const char *bdf)
{
	int port = ntb_port_number(ntb), peer = ntb_peer_port_number(ntb, 0);
	resource_size_t size_align, size_max, size;
	void __iomem *win = NULL;
	phys_addr_t win_base;
	u32 *buf, *words = NULL, msg;
	dma_addr_t dma;
	u64 peer_dma;
	int err, i, bad;
	unsigned long end;

	err = ntb_mw_get_align(ntb, 0, 0, NULL, &size_align, &size_max);
	if (!err)
		err = ntb_peer_mw_get_addr(ntb, 0, &win_base, &size);
	if (err || ntb_peer_mw_count(ntb) < 1) {
		vmmtest_check(false, "ntb-mw", "%s: no memory window 0 (%d)", bdf, err);
		return;
	}
	size = min_t(resource_size_t, size_max, MW_TEST_LEN);
	size = round_down(size, size_align ? size_align : 1);

	buf = dma_alloc_coherent(&ntb->pdev->dev, size, &dma, GFP_KERNEL);
	words = kmalloc(size, GFP_KERNEL);
	if (!buf || !words) {
		vmmtest_check(false, "ntb-mw", "%s: no memory for %pa bytes", bdf, &size);
		goto out;
	}
	memset(buf, 0, size);

	err = msg_send(ntb, MSG_ADDR, MSG_ADDR_TAG | (u32)(dma >> PAGE_SHIFT));
	if (!err)
		err = msg_wait(ntb, MSG_ADDR, MSG_ADDR_TAG, MSG_ADDR_TAG, &msg);
	vmmtest_check(!err, "ntb-msg",
		      "%s port %d <-> port %d: buffer addresses exchanged "
		      "(message %d): ours %pad, peer's %#llx (%d)",
		      bdf, port, peer, MSG_ADDR, &dma,
		      err ? 0ULL : (u64)(msg & ~MSG_ADDR_TAG) << PAGE_SHIFT, err);
	if (err)
		goto out;
	peer_dma = (u64)(msg & ~MSG_ADDR_TAG) << PAGE_SHIFT;

	err = ntb_peer_mw_set_trans(ntb, 0, 0, peer_dma, size);
	win = err ? NULL : ioremap_wc(win_base, size);
	if (!win) {
		vmmtest_check(false, "ntb-mw-write", "%s: window 0 onto %#llx: set_trans %d, %s",
			      bdf, peer_dma, err, err ? "" : "ioremap_wc failed");
		goto out;
	}
	for (i = 0; i < size / 4; i++)
		words[i] = mw_word(port, i);
	memcpy_toio(win, words, size);
	wmb();
	memcpy_fromio(words, win, size);
	for (i = 0, bad = 0; i < size / 4; i++)
		bad += words[i] != mw_word(port, i);
	vmmtest_check(!bad, "ntb-mw-write",
		      "%s: %pa bytes stored through window 0 (%pa) "
		      "onto the peer's %#llx, %d words read back differ",
		      bdf, &size, &win_base, peer_dma, bad);
	ntb_peer_db_set(ntb, DB_BIT(peer));

	end = deadline();
	while (!(ntb_db_read(ntb) & DB_BIT(port)) && time_before(jiffies, end))
		msleep(20);
	err = ntb_db_read(ntb) & DB_BIT(port) ? 0 : -ETIMEDOUT;
	vmmtest_check(!err, "ntb-doorbell", "%s: bit %d rung by the peer (%d)", bdf, 16 + port,
		      err);
	ntb_db_clear(ntb, DB_BIT(port));
	for (i = 0, bad = 0; i < size / 4; i++)
		bad += buf[i] != mw_word(peer, i);
	vmmtest_check(!err && !bad, "ntb-mw-data",
		      "%s: %pa bytes from port %d in our buffer, "
		      "%d words differ",
		      bdf, &size, peer, err ? -1 : bad);
	msg_send(ntb, MSG_DONE, MSG_DONE_TAG | min(err ? 0xffff : bad, 0xffff));

	err = msg_wait(ntb, MSG_DONE, 0xffff0000u, MSG_DONE_TAG, &msg);
	vmmtest_check(!err && msg == MSG_DONE_TAG, "ntb-mw-peer",
		      "%s: the peer's check of our stores: %s (message %d %#x)", bdf,
		      err ? "no report" : msg == MSG_DONE_TAG ? "verified" : "words differ",
		      MSG_DONE, err ? 0 : msg);
	ntb_peer_mw_clear_trans(ntb, 0, 0);
out:
	if (win)
		iounmap(win);
	kfree(words);
	if (buf)
		dma_free_coherent(&ntb->pdev->dev, size, buf, dma);
}

static void ntb_check_device(struct ntb_dev *ntb)
{
	const char *bdf = pci_name(ntb->pdev), *client = vmmtest_drv_name(&ntb->dev);
	unsigned long end = deadline();
	bool tapped = false;
	u64 link = 0;
	int events, pidx;

	vmmtest_check(ntb->dev.driver, "ntb-client",
		      "%s %s: client %s, port %d, %d peer(s), "
		      "%d windows, %d messages, doorbells %#llx",
		      bdf, dev_name(&ntb->dev), client, ntb_port_number(ntb),
		      ntb_peer_port_count(ntb), ntb_peer_mw_count(ntb), ntb_msg_count(ntb),
		      ntb_db_valid_mask(ntb));
	if (ntb_peer_port_count(ntb) < 1 || ntb_msg_count(ntb) <= MSG_DONE)
		return;
	if (!strcmp(client, "ntb_pingpong"))
		tapped = tap_pingpong(ntb);

	while (!((link = ntb_link_is_up(ntb, NULL, NULL)) & BIT_ULL(0)) &&
	       time_before(jiffies, end))
		msleep(50);
	vmmtest_check(link & BIT_ULL(0), "ntb-link", "%s: port %d <-> port %d %s", bdf,
		      ntb_port_number(ntb), ntb_peer_port_number(ntb, 0),
		      link & BIT_ULL(0) ? "up" : "down");
	if (!(link & BIT_ULL(0)))
		return;

	if (tapped) {
		while (atomic_read(&pp_db_events) < PINGPONG_ROUNDS && time_before(jiffies, end))
			msleep(50);
		events = atomic_read(&pp_db_events);
		vmmtest_check(events >= PINGPONG_ROUNDS, "ntb-pingpong",
			      "%s: %d doorbell interrupts answered by ntb_pingpong, peer's count "
			      "in message 0: %u",
			      bdf, events, ntb_msg_read(ntb, &pidx, 0));
	}
	ntb_check_exchange(ntb, bdf);
}

static int find_ntb_dev(struct device *dev, void *found)
{
	if (dev->bus && !strcmp(dev->bus->name, "ntb")) {
		*(struct ntb_dev **)found = dev_ntb(dev);
		return 1;
	}
	return 0;
}

struct ntb_dev *vmmtest_ntb_dev(struct pci_dev *pdev)
{
	struct ntb_dev *ntb = NULL;

	device_for_each_child(&pdev->dev, &ntb, find_ntb_dev);
	return ntb;
}

void vmmtest_ntb(void)
{
	struct pci_dev *pdev = NULL;

	while ((pdev = pci_get_device(IDT_VENDOR, IDT_NT_DEVICE, pdev))) {
		struct ntb_dev *ntb = vmmtest_ntb_dev(pdev);

		vmmtest_check(ntb, "ntb-hw-idt", "%s driver=%s, NTB device %s", pci_name(pdev),
			      vmmtest_drv_name(&pdev->dev), ntb ? dev_name(&ntb->dev) : "none");
		if (ntb)
			ntb_check_device(ntb);
	}
}
