/* DPDK's fast-path functions are static inline (or macros) in its headers, so they have no
 * symbol to bind to. These one-line wrappers give them one. Nothing here keeps state. */
#include <rte_config.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

uint16_t probe_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_rx_burst(port, queue, pkts, n);
}

void probe_pktmbuf_free(struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

const uint8_t *probe_mbuf_data(const struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, const uint8_t *);
}

uint16_t probe_mbuf_data_len(const struct rte_mbuf *m)
{
	return m->data_len;
}

uint32_t probe_mbuf_pkt_len(const struct rte_mbuf *m)
{
	return m->pkt_len;
}

uint16_t probe_mbuf_nb_segs(const struct rte_mbuf *m)
{
	return m->nb_segs;
}

const struct rte_mbuf *probe_mbuf_next(const struct rte_mbuf *m)
{
	return m->next;
}

uint64_t probe_mbuf_ol_flags(const struct rte_mbuf *m)
{
	return m->ol_flags;
}

uint64_t probe_mbuf_dynfield_u64(const struct rte_mbuf *m, int offset)
{
	return *RTE_MBUF_DYNFIELD(m, offset, const uint64_t *);
}

int probe_errno(void)
{
	return rte_errno;
}

unsigned probe_lcore_id(void)
{
	return rte_lcore_id();
}

/* RSS hash types for IP, TCP and UDP (macros of macros: bindgen cannot evaluate them). */
uint64_t probe_rss_ip_tcp_udp(void)
{
	return RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
}

uint32_t probe_mbuf_default_buf_size(void)
{
	return RTE_MBUF_DEFAULT_BUF_SIZE;
}
