/* libFuzzer target: what relay nodes of a cluster say to each other, from arbitrary bytes.
 *   - hc_cl_msg_decode on the input; when it decodes, re-encoding gives the same bytes back;
 *   - hc_cld_decode (node-to-node datagram) with a fixed key; when it decodes, re-encoding
 *     gives the same bytes back;
 *   - a cluster node (net/cluster_core.c, with its relay core, all io stubbed) fed the input cut
 *     into pieces by the input itself, each piece a bus message, a node-to-node datagram or a
 *     participant's datagram: it must never crash, whatever it is told.
 * No main(): `make fuzz` links libFuzzer's. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/cluster_core.h"
#include "net/cluster_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[1 << 20];
static const uint8_t key[32] = {7};

static void publish(void *ctx, const char *subject, const uint8_t *p, size_t len) { (void)ctx, (void)subject, (void)p, (void)len; }
static void kv(void *ctx, const hc_kv_req *req) { (void)ctx, (void)req; }
static int conn_send(void *ctx, uint64_t conn, const uint8_t *f, size_t len) { (void)ctx, (void)conn, (void)f, (void)len; return 0; }
static void conn_close(void *ctx, uint64_t conn) { (void)ctx, (void)conn; }
static void udp_send(void *ctx, int sock, const uint8_t *pkt, size_t len, const struct sockaddr_storage *to) {
    (void)ctx, (void)sock, (void)pkt, (void)len, (void)to;
}
static void udp_flush(void *ctx) { (void)ctx; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hc_cl_msg m;
    if (hc_cl_msg_decode(&m, data, size) == 0) {
        size_t n = hc_cl_msg_encode(&m, out, sizeof out);
        if (n != size || memcmp(out, data, size)) abort();
    }
    hc_cld d;
    if (hc_cld_decode(&d, key, data, size) == 0) {
        size_t n = hc_cld_encode(&d, key, out, sizeof out);
        if (n != size || memcmp(out, data, size)) abort();
    }
    static hc_cluster *cl;
    if (!cl) {
        hc_cluster_config cc;
        hc_cluster_config_defaults(&cc);
        memcpy(cc.node, "fuzz", 5);
        memcpy(cc.key, key, 32);
        hc_relay_config rc;
        hc_relay_config_defaults(&rc);
        hc_cluster_io io = {NULL, publish, kv, conn_send, conn_close, udp_send, udp_flush, NULL, NULL};
        cl = hc_cluster_new(&cc, &rc, &io, 1000);
        if (!cl) abort();
        hc_cluster_on_bus_state(cl, 1, 1000);
    }
    static uint64_t now = 1000;
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(40000)};
    from.sin_addr.s_addr = htonl(0x7f000001);
    size_t off = 0;
    while (off + 3 <= size) {
        uint8_t sel = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off) len = size - off;
        static uint8_t buf[65536];
        memcpy(buf, data + off, len);
        now += sel & 0x0F;
        switch (sel >> 6) {
        case 0: hc_cluster_on_bus(cl, buf, len, now); break;
        case 1: hc_cluster_on_node_udp(cl, (const struct sockaddr *)&from, buf, len, now); break;
        case 2: hc_cluster_on_udp(cl, (const struct sockaddr *)&from, sizeof from, buf, len, now); break;
        default: hc_cluster_tick(cl, now); break;
        }
        off += len;
    }
    return 0;
}
