#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>

/* The shim (shim.c). */
uint16_t probe_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
void probe_pktmbuf_free(struct rte_mbuf *m);
const uint8_t *probe_mbuf_data(const struct rte_mbuf *m);
uint16_t probe_mbuf_data_len(const struct rte_mbuf *m);
uint32_t probe_mbuf_pkt_len(const struct rte_mbuf *m);
uint16_t probe_mbuf_nb_segs(const struct rte_mbuf *m);
const struct rte_mbuf *probe_mbuf_next(const struct rte_mbuf *m);
uint64_t probe_mbuf_ol_flags(const struct rte_mbuf *m);
uint64_t probe_mbuf_dynfield_u64(const struct rte_mbuf *m, int offset);
int probe_errno(void);
unsigned probe_lcore_id(void);
uint64_t probe_rss_ip_tcp_udp(void);
uint32_t probe_mbuf_default_buf_size(void);
