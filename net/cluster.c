/* The cluster's bus on NATS; see net/cluster.h. Threads: libnats' own (I/O, message delivery), four
 * workers for the lease bucket's blocking calls, and the loop. They meet in one queue (mutex) that
 * the loop drains when its uv_async fires; nothing from another thread touches the node. */
#include "net/cluster.h"

#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_BYTES_MAX (64u << 20)  /* messages waiting for the loop; past it they are dropped (the
                                      * links notice the gap and ask again) */
#define KV_WAIT_MS 1000              /* a lease bucket call gives up after this */
#define KV_QUEUE_MAX 65536
#define KV_WORKERS 4                 /* calls in flight at once: a join storm is not served one round trip at a time */
#define PENDING_MSGS_MAX 1000000     /* libnats' per-subscription buffer before it drops */
#define PENDING_BYTES_MAX (256 << 20)

enum { IT_MSG = 1, IT_STATE, IT_KV, IT_LOG };

typedef struct item {
    struct item *next;
    int kind;
    int state;
    hc_kv_res res;
    char event[32];
    size_t len;
    uint8_t data[];
} item;

typedef struct kvjob {
    struct kvjob *next;
    hc_kv_req req;
} kvjob;

struct hc_cluster_bus {
    uv_loop_t *loop;
    hc_cluster_bus_config cfg;
    hc_cluster_bus_callbacks cb;
    hc_cluster_bus_stats st;
    natsOptions *opts;
    natsConnection *nc;
    natsSubscription *sub_own, *sub_all;
    uv_async_t async;
    pthread_mutex_t mu;
    item *qh, *qt;
    size_t q_bytes;
    int stopping;                /* under mu: no more items from other threads */
    /* the KV workers */
    pthread_t worker[KV_WORKERS];
    int workers_started;
    pthread_cond_t kv_cond;
    kvjob *kh, *kt;
    size_t kv_n;
    int kv_stop;
    void (*done)(void *);
    void *done_arg;
    struct hc_cluster_bus *next_stopped;
};

static int nats_opened;
/* Stopped buses: libnats may still be in one of our callbacks on one of its threads (a message
 * delivered as the subscription went, the closed callback), which lock the bus's mutex; so a bus
 * is freed only once those threads have ended, in hc_cluster_bus_global_close. */
static hc_cluster_bus *stopped;

/* ---- from other threads to the loop ---- */

static void post(hc_cluster_bus *b, item *it) {
    pthread_mutex_lock(&b->mu);
    if (b->stopping || (it->kind == IT_MSG && b->q_bytes + it->len > QUEUE_BYTES_MAX)) {
        if (it->kind == IT_MSG && !b->stopping) b->st.dropped_queue_full++;
        pthread_mutex_unlock(&b->mu);
        free(it);
        return;
    }
    it->next = NULL;
    if (b->qt) b->qt->next = it; else b->qh = it;
    b->qt = it;
    b->q_bytes += it->len;
    pthread_mutex_unlock(&b->mu);
    uv_async_send(&b->async);
}

static void post_state(hc_cluster_bus *b, int connected) {
    item *it = calloc(1, sizeof *it);
    if (!it) return;
    it->kind = IT_STATE;
    it->state = connected;
    post(b, it);
}

static void post_log(hc_cluster_bus *b, int warn, const char *event, const char *detail) {
    size_t n = strlen(detail);
    item *it = calloc(1, sizeof *it + n + 1);
    if (!it) return;
    it->kind = IT_LOG;
    it->state = warn;
    snprintf(it->event, sizeof it->event, "%s", event);
    memcpy(it->data, detail, n + 1);
    post(b, it);
}

static void on_nats_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc;
    (void)sub;
    hc_cluster_bus *b = closure;
    int n = natsMsg_GetDataLength(msg);
    item *it = n > 0 ? malloc(sizeof *it + (size_t)n) : NULL;
    if (it) {
        memset(it, 0, sizeof *it);
        it->kind = IT_MSG;
        it->len = (size_t)n;
        memcpy(it->data, natsMsg_GetData(msg), (size_t)n);
        post(b, it);
    }
    natsMsg_Destroy(msg);
}

static void on_connected(natsConnection *nc, void *closure) {
    (void)nc;
    post_state(closure, 1);
}

static void on_disconnected(natsConnection *nc, void *closure) {
    (void)nc;
    post_state(closure, 0);
}

static void on_nats_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure) {
    (void)nc;
    (void)sub;
    char d[160];
    snprintf(d, sizeof d, "%s", natsStatus_GetText(err));
    post_log(closure, 1, "bus_error", d);
}

/* ---- the lease bucket, on the worker ---- */

static kvStore *kv_open(hc_cluster_bus *b, jsCtx **js) {
    if (!*js) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = KV_WAIT_MS;
        if (natsConnection_JetStream(js, b->nc, &jo) != NATS_OK) return NULL;
    }
    kvStore *kv = NULL;
    if (js_KeyValue(&kv, *js, b->cfg.bucket) == NATS_OK) return kv;
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = b->cfg.bucket;
    kc.Description = "hushcall: the relay node each meeting lives on";
    kc.History = 1;
    kc.TTL = (int64_t)b->cfg.ttl_ms * 1000000;     /* nanoseconds */
    kc.StorageType = js_FileStorage;
    if (js_CreateKeyValue(&kv, *js, &kc) == NATS_OK) return kv;
    if (js_KeyValue(&kv, *js, b->cfg.bucket) == NATS_OK) return kv;   /* another node made it meanwhile */
    return NULL;
}

static int conflict_error(void) {
    const char *e = nats_GetLastError(NULL);
    return e && strstr(e, "wrong last sequence");
}

static void kv_do(hc_cluster_bus *b, kvStore **kv, jsCtx **js, const hc_kv_req *q, hc_kv_res *r) {
    memset(r, 0, sizeof *r);
    r->id = q->id;
    r->status = HC_KV_FAILED;
    if (!*kv) *kv = kv_open(b, js);
    if (!*kv) return;
    natsStatus s;
    kvEntry *e = NULL;
    uint64_t rev = 0;
    int vlen = (int)strlen(q->value);
    switch (q->op) {
    case HC_KV_GET:
        s = kvStore_Get(&e, *kv, q->key);
        if (s == NATS_NOT_FOUND) {
            r->status = HC_KV_NOT_FOUND;
        } else if (s == NATS_OK) {
            int n = kvEntry_ValueLen(e);
            const char *v = kvEntry_Value(e);
            if (n > 0 && n <= HC_CL_NAME_MAX && v) {
                memcpy(r->value, v, (size_t)n);
                r->value[n] = 0;
                r->rev = kvEntry_Revision(e);
                r->status = HC_KV_OK;
            } else {
                r->status = HC_KV_NOT_FOUND;    /* not a node name: as good as none */
            }
            kvEntry_Destroy(e);
        }
        return;
    case HC_KV_CREATE:
        s = kvStore_Create(&rev, *kv, q->key, q->value, vlen);
        break;
    case HC_KV_UPDATE:
        s = kvStore_Update(&rev, *kv, q->key, q->value, vlen, q->rev);
        break;
    case HC_KV_DELETE:
        s = kvStore_Delete(*kv, q->key);
        break;
    default:
        return;
    }
    if (s == NATS_OK) {
        r->status = HC_KV_OK;
        r->rev = rev;
    } else if (conflict_error()) {
        r->status = HC_KV_CONFLICT;
    }
}

static void *kv_worker(void *arg) {
    hc_cluster_bus *b = arg;
    kvStore *kv = NULL;
    jsCtx *js = NULL;
    time_t told = 0;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        while (!b->kh && !b->kv_stop) pthread_cond_wait(&b->kv_cond, &b->mu);
        if (b->kv_stop) {
            pthread_mutex_unlock(&b->mu);
            break;
        }
        kvjob *j = b->kh;
        b->kh = j->next;
        if (!b->kh) b->kt = NULL;
        b->kv_n--;
        pthread_mutex_unlock(&b->mu);
        item *it = calloc(1, sizeof *it);
        if (it) {
            it->kind = IT_KV;
            kv_do(b, &kv, &js, &j->req, &it->res);
            if (!kv && time(NULL) - told >= 10) {      /* say why, now and then: JetStream off? */
                told = time(NULL);
                char d[300];
                snprintf(d, sizeof d, "cannot open the lease bucket %s (is JetStream on, nats-server -js?): %s",
                         b->cfg.bucket, nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "no answer");
                post_log(b, 1, "lease_bucket_unavailable", d);
            }
            if (it->res.status == HC_KV_FAILED && kv) {   /* maybe a stale binding: open it afresh */
                kvStore_Destroy(kv);
                kv = NULL;
            }
            post(b, it);
        }
        free(j);
    }
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
    return NULL;
}

/* ---- on the loop ---- */

static void on_async(uv_async_t *a) {
    hc_cluster_bus *b = a->data;
    pthread_mutex_lock(&b->mu);
    item *l = b->qh;
    b->qh = b->qt = NULL;
    b->q_bytes = 0;
    pthread_mutex_unlock(&b->mu);
    while (l) {
        item *it = l;
        l = it->next;
        if (!b->done) {
            switch (it->kind) {
            case IT_MSG:
                b->st.received++;
                b->cb.message(b->cb.ctx, it->data, it->len);
                break;
            case IT_STATE:
                b->cb.state(b->cb.ctx, it->state);
                break;
            case IT_KV:
                if (it->res.status == HC_KV_FAILED) b->st.kv_failed++;
                b->cb.kv(b->cb.ctx, &it->res);
                break;
            case IT_LOG:
                if (b->cb.log) b->cb.log(b->cb.ctx, it->state, it->event, (const char *)it->data);
                break;
            }
        }
        free(it);
    }
}

void hc_cluster_bus_publish(hc_cluster_bus *b, const char *subject, const uint8_t *p, size_t len) {
    if (!b->nc || len > INT32_MAX) return;
    if (natsConnection_Publish(b->nc, subject, p, (int)len) == NATS_OK) b->st.published++;
    else b->st.publish_failed++;      /* the reconnect buffer is full: the link resends on a NACK */
}

void hc_cluster_bus_kv(hc_cluster_bus *b, const hc_kv_req *req) {
    b->st.kv_requests++;
    kvjob *j = calloc(1, sizeof *j);
    pthread_mutex_lock(&b->mu);
    if (!j || b->kv_n >= KV_QUEUE_MAX || b->kv_stop) {
        pthread_mutex_unlock(&b->mu);
        free(j);
        /* answered as failed, from the loop like any answer */
        item *it = calloc(1, sizeof *it);
        if (!it) return;
        it->kind = IT_KV;
        it->res.id = req->id;
        it->res.status = HC_KV_FAILED;
        post(b, it);
        return;
    }
    j->req = *req;
    if (b->kt) b->kt->next = j; else b->kh = j;
    b->kt = j;
    b->kv_n++;
    pthread_cond_signal(&b->kv_cond);
    pthread_mutex_unlock(&b->mu);
}

const hc_cluster_bus_stats *hc_cluster_bus_get_stats(const hc_cluster_bus *b) { return &b->st; }

static void bus_free(hc_cluster_bus *b) {
    pthread_mutex_lock(&b->mu);
    while (b->qh) {
        item *it = b->qh;
        b->qh = it->next;
        free(it);
    }
    while (b->kh) {
        kvjob *j = b->kh;
        b->kh = j->next;
        free(j);
    }
    pthread_mutex_unlock(&b->mu);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->kv_cond);
    free(b);
}

static void on_async_closed(uv_handle_t *h) {
    hc_cluster_bus *b = h->data;
    void (*done)(void *) = b->done;
    void *arg = b->done_arg;
    b->next_stopped = stopped;
    stopped = b;
    if (done) done(arg);
}

/* Stops what runs on other threads: after this nothing posts any more. */
static void bus_quiesce(hc_cluster_bus *b) {
    pthread_mutex_lock(&b->mu);
    b->kv_stop = 1;
    pthread_cond_broadcast(&b->kv_cond);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < b->workers_started; i++) pthread_join(b->worker[i], NULL);
    b->workers_started = 0;
    pthread_mutex_lock(&b->mu);
    b->stopping = 1;
    pthread_mutex_unlock(&b->mu);
    if (b->sub_own) natsSubscription_Destroy(b->sub_own);
    if (b->sub_all) natsSubscription_Destroy(b->sub_all);
    b->sub_own = b->sub_all = NULL;
    if (b->nc) {
        natsConnection_Close(b->nc);
        natsConnection_Destroy(b->nc);
    }
    b->nc = NULL;
    natsOptions_Destroy(b->opts);
    b->opts = NULL;
}

static void noop_done(void *arg) { (void)arg; }

void hc_cluster_bus_stop(hc_cluster_bus *b, void (*done)(void *arg), void *arg) {
    if (b->done) return;
    b->done = done ? done : noop_done;
    b->done_arg = arg;
    bus_quiesce(b);
    uv_close((uv_handle_t *)&b->async, on_async_closed);
}

void hc_cluster_bus_global_close(void) {
    if (!nats_opened) return;
    nats_opened = 0;
    nats_CloseAndWait(2000);      /* every libnats thread has ended: nothing calls back any more */
    while (stopped) {
        hc_cluster_bus *b = stopped;
        stopped = b->next_stopped;
        bus_free(b);
    }
}

#define NATS_TRY(call, what)                                                                         \
    do {                                                                                             \
        natsStatus s_ = (call);                                                                      \
        if (s_ != NATS_OK) {                                                                         \
            snprintf(err, errlen, "cluster bus: %s: %s", what, natsStatus_GetText(s_));              \
            goto fail;                                                                               \
        }                                                                                            \
    } while (0)

static int bus_start(hc_cluster_bus **out, uv_loop_t *loop, const hc_cluster_bus_config *cfg,
                     const hc_cluster_bus_callbacks *cb, char *err, size_t errlen);

/* libnats' threads and our worker start with SIGINT and SIGTERM blocked, so those always reach
 * the loop's thread (app/signals.h). */
int hc_cluster_bus_start(hc_cluster_bus **out, uv_loop_t *loop, const hc_cluster_bus_config *cfg,
                         const hc_cluster_bus_callbacks *cb, char *err, size_t errlen) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = bus_start(out, loop, cfg, cb, err, errlen);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static int bus_start(hc_cluster_bus **out, uv_loop_t *loop, const hc_cluster_bus_config *cfg,
                     const hc_cluster_bus_callbacks *cb, char *err, size_t errlen) {
    *out = NULL;
    if (!nats_opened) {
        if (nats_Open(-1) != NATS_OK) {
            snprintf(err, errlen, "cluster bus: cannot initialise the NATS library");
            return -1;
        }
        nats_opened = 1;
    }
    hc_cluster_bus *b = calloc(1, sizeof *b);
    if (!b) { snprintf(err, errlen, "out of memory"); return -1; }
    b->loop = loop;
    b->cfg = *cfg;
    b->cb = *cb;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->kv_cond, NULL);
    if (uv_async_init(loop, &b->async, on_async) < 0) {
        bus_free(b);
        snprintf(err, errlen, "cluster bus: cannot create an async handle");
        return -1;
    }
    b->async.data = b;
    NATS_TRY(natsOptions_Create(&b->opts), "options");
    NATS_TRY(natsOptions_SetURL(b->opts, cfg->url), "the server URL");
    if (cfg->creds[0]) NATS_TRY(natsOptions_SetUserCredentialsFromFiles(b->opts, cfg->creds, NULL), "the credentials file");
    else if (cfg->user[0]) NATS_TRY(natsOptions_SetUserInfo(b->opts, cfg->user, cfg->password), "user and password");
    if (cfg->ca[0]) {
        NATS_TRY(natsOptions_SetSecure(b->opts, true), "TLS");
        NATS_TRY(natsOptions_LoadCATrustedCertificates(b->opts, cfg->ca), "the CA certificate");
    }
    if (cfg->name[0]) natsOptions_SetName(b->opts, cfg->name);
    natsOptions_SetSendAsap(b->opts, true);               /* a frame on the bus goes out at once */
    natsOptions_SetMaxReconnect(b->opts, -1);             /* a node never gives the bus up */
    natsOptions_SetReconnectWait(b->opts, 100);
    natsOptions_SetReconnectJitter(b->opts, 100, 500);
    natsOptions_SetPingInterval(b->opts, 1000);           /* a server that hangs is noticed in ~3 s */
    natsOptions_SetMaxPingsOut(b->opts, 2);
    natsOptions_SetTimeout(b->opts, 2000);
    natsOptions_SetMaxPendingMsgs(b->opts, PENDING_MSGS_MAX);
    natsOptions_SetDisconnectedCB(b->opts, on_disconnected, b);
    natsOptions_SetReconnectedCB(b->opts, on_connected, b);
    natsOptions_SetErrorHandler(b->opts, on_nats_error, b);
    NATS_TRY(natsOptions_SetRetryOnFailedConnect(b->opts, true, on_connected, b), "options");
    natsStatus s = natsConnection_Connect(&b->nc, b->opts);
    if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
        snprintf(err, errlen, "cluster bus: cannot connect to %s: %s (%s)", cfg->url, natsStatus_GetText(s),
                 nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
        goto fail;
    }
    /* The first attempt goes on in the background; one the server refuses for good (its TLS
     * certificate is not signed by our CA, say) may already have closed the connection. */
    natsStatus ss = natsConnection_Subscribe(&b->sub_own, b->nc, cfg->own, on_nats_msg, b);
    if (ss == NATS_OK) ss = natsConnection_Subscribe(&b->sub_all, b->nc, cfg->all, on_nats_msg, b);
    if (ss != NATS_OK) {
        if (natsConnection_IsClosed(b->nc))
            snprintf(err, errlen, "cluster bus: cannot connect to %s: %s", cfg->url,
                     nats_GetLastError(NULL) ? nats_GetLastError(NULL) : natsStatus_GetText(ss));
        else
            snprintf(err, errlen, "cluster bus: subscribe: %s", natsStatus_GetText(ss));
        goto fail;
    }
    natsSubscription_SetPendingLimits(b->sub_own, PENDING_MSGS_MAX, PENDING_BYTES_MAX);
    natsSubscription_SetPendingLimits(b->sub_all, PENDING_MSGS_MAX, PENDING_BYTES_MAX);
    for (int i = 0; i < KV_WORKERS; i++) {
        if (pthread_create(&b->worker[i], NULL, kv_worker, b) != 0) {
            snprintf(err, errlen, "cluster bus: cannot start the lease workers");
            goto fail;
        }
        b->workers_started++;
    }
    if (s == NATS_OK) post_state(b, 1);
    *out = b;
    return 0;
fail:
    b->done = noop_done;
    bus_quiesce(b);
    uv_close((uv_handle_t *)&b->async, on_async_closed);
    return -1;
}
