/* SPDX-License-Identifier: Apache-2.0 */

/*
 * ngx_http_edgeguard_module: admits a request only when the TLS client
 * certificate of its connection satisfies an edgeguard policy file, with the
 * same library, decisions, reason codes and audit records as the verifier
 * daemon.
 *
 *   edgeguard_policy /etc/edgeguard/policy.conf;   http, server, location
 *   edgeguard on | off | log-only;                 http, server, location
 *
 * nginx must request the certificate without judging it itself:
 * "ssl_verify_client optional_no_ca;". The chain goes to libedgeguard as
 * DER, which verifies it with GnuTLS exactly as the daemon does.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <edgeguard/edgeguard.h>


#define NGX_HTTP_EDGEGUARD_OFF        0
#define NGX_HTTP_EDGEGUARD_ON         1
#define NGX_HTTP_EDGEGUARD_LOG_ONLY   2

/* Certificates of one chain handed to the library; longer chains are cut. */
#define NGX_HTTP_EDGEGUARD_MAX_CHAIN  10

/* Verified peers kept per connection, one per policy file in use on it. */
#define NGX_HTTP_EDGEGUARD_PEERS      4

#define NGX_HTTP_EDGEGUARD_FLUSH_MS   1000


/* One policy file: loaded once per configuration cycle, shared by every
 * server and location naming the same file. */
typedef struct {
    ngx_str_t                      file;      /* absolute, NUL-terminated */
    struct eg_policy              *policy;    /* one reference, cycle pool */
    struct eg_audit_log           *audit;     /* closed with the cycle pool */
} ngx_http_edgeguard_policy_t;

typedef struct {
    ngx_array_t                    policies;  /* ngx_http_edgeguard_policy_t * */
} ngx_http_edgeguard_main_conf_t;

typedef struct {
    ngx_http_edgeguard_policy_t   *policy;    /* borrowed from main conf */
    ngx_uint_t                     mode;      /* NGX_HTTP_EDGEGUARD_* */
} ngx_http_edgeguard_loc_conf_t;

/* The verification of a connection's chain, cached for its lifetime. */
typedef struct {
    ngx_http_edgeguard_policy_t   *policy;
    struct eg_peer                *peer;      /* owned; freed by cleanup */
} ngx_http_edgeguard_peer_t;

typedef struct {
    ngx_http_edgeguard_peer_t      peers[NGX_HTTP_EDGEGUARD_PEERS];
    ngx_uint_t                     next;      /* slot to evict */
} ngx_http_edgeguard_conn_t;

/* What was last audited for a request. Internal redirects (index,
 * error_page, try_files fallbacks) run the phases again with a fresh module
 * context, yet one request must give one audit record: the mark lives in a
 * request pool cleanup entry, which outlives the context. */
typedef struct {
    ngx_http_edgeguard_policy_t   *policy;
    const char                    *rule;      /* borrowed from the policy */
    enum eg_event                  event;
    enum eg_reason                 reason;
} ngx_http_edgeguard_mark_t;

/* Per request: the decision, exposed through variables. Strings live in
 * the request pool. */
typedef struct {
    ngx_str_t                      identity;
    ngx_str_t                      reason;
    ngx_str_t                      rule;
    ngx_str_t                      body;      /* 403 body replacing 495/496 */
    unsigned                       decided:1;
    unsigned                       replace:1;
    unsigned                       body_sent:1;
} ngx_http_edgeguard_ctx_t;


static ngx_int_t ngx_http_edgeguard_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_edgeguard_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_edgeguard_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_edgeguard_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_http_edgeguard_policy(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_edgeguard_policy_cleanup(void *data);
static void ngx_http_edgeguard_reopen(ngx_open_file_t *file, ngx_log_t *log);
static ngx_int_t ngx_http_edgeguard_follow_reopen(ngx_conf_t *cf,
    ngx_http_edgeguard_policy_t *ep, const char *path);
static void ngx_http_edgeguard_conn_cleanup(void *data);
static void ngx_http_edgeguard_mark_cleanup(void *data);
static ngx_int_t ngx_http_edgeguard_add_variables(ngx_conf_t *cf);
static void *ngx_http_edgeguard_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_edgeguard_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_edgeguard_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_edgeguard_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_edgeguard_init_process(ngx_cycle_t *cycle);
static void ngx_http_edgeguard_exit_process(ngx_cycle_t *cycle);
static void ngx_http_edgeguard_flush(ngx_cycle_t *cycle, int64_t now_ms);
static void ngx_http_edgeguard_flush_handler(ngx_event_t *ev);


static ngx_conf_enum_t  ngx_http_edgeguard_modes[] = {
    { ngx_string("off"), NGX_HTTP_EDGEGUARD_OFF },
    { ngx_string("on"), NGX_HTTP_EDGEGUARD_ON },
    { ngx_string("log-only"), NGX_HTTP_EDGEGUARD_LOG_ONLY },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_edgeguard_commands[] = {

    { ngx_string("edgeguard_policy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_edgeguard_policy,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("edgeguard"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_edgeguard_loc_conf_t, mode),
      &ngx_http_edgeguard_modes },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_edgeguard_module_ctx = {
    ngx_http_edgeguard_add_variables,      /* preconfiguration */
    ngx_http_edgeguard_init,               /* postconfiguration */

    ngx_http_edgeguard_create_main_conf,   /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_edgeguard_create_loc_conf,    /* create location configuration */
    ngx_http_edgeguard_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_edgeguard_module = {
    NGX_MODULE_V1,
    &ngx_http_edgeguard_module_ctx,        /* module context */
    ngx_http_edgeguard_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_edgeguard_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_edgeguard_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_edgeguard_vars[] = {

    { ngx_string("edgeguard_identity"), NULL, ngx_http_edgeguard_variable,
      offsetof(ngx_http_edgeguard_ctx_t, identity),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("edgeguard_reason"), NULL, ngx_http_edgeguard_variable,
      offsetof(ngx_http_edgeguard_ctx_t, reason),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("edgeguard_rule"), NULL, ngx_http_edgeguard_variable,
      offsetof(ngx_http_edgeguard_ctx_t, rule),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

/* Per worker process: the audit flush timer (ngx_event_ident() reads the
 * fd of ev->data in debug logs, hence the dummy connection). */
static ngx_event_t       ngx_http_edgeguard_flush_ev;
static ngx_connection_t  ngx_http_edgeguard_flush_conn;


/*
 * Copies an nginx string into the pool with a terminating NUL for the
 * library; NULL for empty strings and on allocation failure (the library
 * treats a NULL host or path as absent).
 */
static const char *
ngx_http_edgeguard_cstr(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    if (s->len == 0) {
        return NULL;
    }

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';

    return (const char *) p;
}


/*
 * Peer strings go into variables that may end up in headers and logs: bytes
 * outside printable ASCII become "\xHH", so no CR/LF or NUL ever leaves.
 */
static ngx_int_t
ngx_http_edgeguard_escape(ngx_pool_t *pool, ngx_str_t *out,
    const u_char *prefix, size_t plen, const u_char *s, size_t len)
{
    u_char      *p;
    size_t       i, n;
    static u_char  hex[] = "0123456789abcdef";

    n = plen;
    for (i = 0; i < len; i++) {
        n += (s[i] < 0x20 || s[i] > 0x7e) ? 4 : 1;
    }

    p = ngx_pnalloc(pool, n);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    out->len = n;

    p = ngx_cpymem(p, prefix, plen);

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[s[i] >> 4];
            *p++ = hex[s[i] & 0xf];

        } else {
            *p++ = s[i];
        }
    }

    return NGX_OK;
}


#if (NGX_HTTP_SSL)

/*
 * Encodes the peer's chain as DER, leaf first, into der[] (allocated with
 * ngx_alloc; the caller frees each data pointer). Returns the number of
 * certificates, 0 when the peer sent none, NGX_ERROR on allocation failure.
 */
static ngx_int_t
ngx_http_edgeguard_chain(ngx_connection_t *c, struct eg_der *der)
{
    int              i, len;
    X509            *leaf, *x;
    u_char          *p;
    ngx_int_t        n;
    STACK_OF(X509)  *chain;

    leaf = SSL_get_peer_certificate(c->ssl->connection);
    if (leaf == NULL) {
        return 0;
    }

    n = 0;
    x = leaf;

    /* the server side stack holds the intermediates but not the leaf */
    chain = SSL_get_peer_cert_chain(c->ssl->connection);
    i = 0;

    for ( ;; ) {
        len = i2d_X509(x, NULL);
        if (len <= 0) {
            goto failed;
        }

        der[n].data = ngx_alloc(len, c->log);
        if (der[n].data == NULL) {
            goto failed;
        }

        p = (u_char *) der[n].data;
        i2d_X509(x, &p);
        der[n].len = len;
        n++;

        do {
            x = (chain && i < sk_X509_num(chain)) ? sk_X509_value(chain, i++)
                                                  : NULL;
        } while (x != NULL && X509_cmp(x, leaf) == 0);

        if (x == NULL || n == NGX_HTTP_EDGEGUARD_MAX_CHAIN) {
            break;
        }
    }

    X509_free(leaf);
    return n;

failed:

    while (n > 0) {
        ngx_free((void *) der[--n].data);
    }

    X509_free(leaf);
    return NGX_ERROR;
}

#endif


/*
 * The verified peer of r's connection under policy ep: computed once per
 * connection and policy, freed when the connection closes. Returns NULL on
 * allocation failure.
 */
static struct eg_peer *
ngx_http_edgeguard_peer(ngx_http_request_t *r, ngx_http_edgeguard_policy_t *ep)
{
    ngx_int_t                   n, i;
    ngx_uint_t                  k;
    struct eg_der               der[NGX_HTTP_EDGEGUARD_MAX_CHAIN];
    struct eg_peer             *peer;
    ngx_connection_t           *c;
    ngx_pool_cleanup_t         *cln;
    ngx_http_edgeguard_conn_t  *ec;

    c = r->connection;
    ec = NULL;

    for (cln = c->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_edgeguard_conn_cleanup) {
            ec = cln->data;
            break;
        }
    }

    if (ec == NULL) {
        cln = ngx_pool_cleanup_add(c->pool, sizeof(ngx_http_edgeguard_conn_t));
        if (cln == NULL) {
            return NULL;
        }

        ec = cln->data;
        ngx_memzero(ec, sizeof(ngx_http_edgeguard_conn_t));
        cln->handler = ngx_http_edgeguard_conn_cleanup;
    }

    for (k = 0; k < NGX_HTTP_EDGEGUARD_PEERS; k++) {
        if (ec->peers[k].policy == ep) {
            return ec->peers[k].peer;
        }
    }

    n = 0;

#if (NGX_HTTP_SSL)
    if (c->ssl) {
        n = ngx_http_edgeguard_chain(c, der);
        if (n == NGX_ERROR) {
            return NULL;
        }
    }
#endif

    peer = NULL;

    if (eg_peer_verify(ep->policy, der, n, ngx_time(), &peer) != 0) {
        peer = NULL;
    }

    for (i = 0; i < n; i++) {
        ngx_free((void *) der[i].data);
    }

    if (peer == NULL) {
        return NULL;
    }

    k = ec->next;
    ec->next = (k + 1) % NGX_HTTP_EDGEGUARD_PEERS;

    eg_peer_free(ec->peers[k].peer);
    ec->peers[k].policy = ep;
    ec->peers[k].peer = peer;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "edgeguard: verified chain of %i certificate(s): %s %s",
                   n, eg_reason_name(eg_peer_chain_reason(peer)),
                   eg_peer_detail(peer));

    return peer;
}


static void
ngx_http_edgeguard_conn_cleanup(void *data)
{
    ngx_http_edgeguard_conn_t *ec = data;

    ngx_uint_t  k;

    for (k = 0; k < NGX_HTTP_EDGEGUARD_PEERS; k++) {
        eg_peer_free(ec->peers[k].peer);
        ec->peers[k].peer = NULL;
    }
}


/*
 * Whether this decision was already audited for r (before an internal
 * redirect); records it otherwise.
 */
static ngx_uint_t
ngx_http_edgeguard_marked(ngx_http_request_t *r,
    ngx_http_edgeguard_policy_t *ep, struct eg_decision *dec)
{
    ngx_pool_cleanup_t         *cln;
    ngx_http_edgeguard_mark_t  *mark;

    mark = NULL;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_edgeguard_mark_cleanup) {
            mark = cln->data;
            break;
        }
    }

    if (mark
        && mark->policy == ep
        && mark->rule == dec->rule
        && mark->event == dec->event
        && mark->reason == dec->reason)
    {
        return 1;
    }

    if (mark == NULL) {
        cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_edgeguard_mark_t));
        if (cln == NULL) {
            return 0;
        }

        cln->handler = ngx_http_edgeguard_mark_cleanup;
        mark = cln->data;
    }

    mark->policy = ep;
    mark->rule = dec->rule;
    mark->event = dec->event;
    mark->reason = dec->reason;

    return 0;
}


/* The handler only tags the mark among the pool's cleanups: a mark owns
 * nothing. */
static void
ngx_http_edgeguard_mark_cleanup(void *data)
{
}


/* Writes the audit record of one decision. */
static void
ngx_http_edgeguard_audit(ngx_http_request_t *r, ngx_http_edgeguard_policy_t *ep,
    struct eg_decision *dec, const struct eg_identity *id)
{
    u_char                 addr[NGX_SOCKADDR_STRLEN + 1];
    size_t                 len;
    ngx_time_t            *tp;
    ngx_connection_t      *c;
    struct eg_audit_event  ev;

    if (ep->audit == NULL || ngx_http_edgeguard_marked(r, ep, dec)) {
        return;
    }

    c = r->connection;
    tp = ngx_timeofday();

    ngx_memzero(&ev, sizeof(struct eg_audit_event));

    ev.ts_ms = (int64_t) tp->sec * 1000 + tp->msec;
    ev.event = dec->event;
    ev.reason = dec->reason;
    ev.component = "nginx";

    len = ngx_sock_ntop(c->sockaddr, c->socklen, addr, NGX_SOCKADDR_STRLEN, 1);
    addr[len] = '\0';
    ev.peer = (const char *) addr;

#if (NGX_HTTP_SSL) && defined(SSL_CTRL_SET_TLSEXT_HOSTNAME)
    if (c->ssl) {
        ev.sni = SSL_get_servername(c->ssl->connection,
                                    TLSEXT_NAMETYPE_host_name);
    }
#endif

    ev.method = ngx_http_edgeguard_cstr(r->pool, &r->method_name);
    ev.host = ngx_http_edgeguard_cstr(r->pool, &r->headers_in.server);
    ev.path = ngx_http_edgeguard_cstr(r->pool, &r->unparsed_uri);
    ev.identity = id;
    ev.policy = dec->rule;
    ev.mode = dec->mode;

    if (eg_audit_log_record(ep->audit, &ev) != 0) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "edgeguard: audit record not written to the sinks of "
                      "\"%V\"", &ep->file);
    }
}


/* Fills the request context from a decision for the variables and the
 * reject body. */
static ngx_int_t
ngx_http_edgeguard_set_ctx(ngx_http_request_t *r, ngx_http_edgeguard_ctx_t *ctx,
    struct eg_decision *dec)
{
    u_char                     *p;
    size_t                      flen;
    const char                 *reason;
    const struct eg_identity   *id;

    id = dec->identity;
    reason = eg_reason_name(dec->reason);

    ctx->reason.data = (u_char *) reason;
    ctx->reason.len = ngx_strlen(reason);

    if (dec->rule) {
        ctx->rule.data = (u_char *) dec->rule;
        ctx->rule.len = ngx_strlen(dec->rule);
    }

    if (dec->matched_field && dec->matched_value) {
        flen = ngx_strlen(dec->matched_field);

        p = ngx_pnalloc(r->pool, flen + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, dec->matched_field, flen);
        p[flen] = '=';

        if (ngx_http_edgeguard_escape(r->pool, &ctx->identity, p, flen + 1,
                                      (u_char *) dec->matched_value->ptr,
                                      dec->matched_value->len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (id) {
        if (ngx_http_edgeguard_escape(r->pool, &ctx->identity, NULL, 0,
                                      (u_char *) id->subject.ptr,
                                      id->subject.len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ctx->body.len = sizeof("403 Forbidden: \n") - 1 + ctx->reason.len;
    ctx->body.data = ngx_pnalloc(r->pool, ctx->body.len);
    if (ctx->body.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->body.data, "403 Forbidden: %V\n", &ctx->reason);

    ctx->decided = 1;

    return NGX_OK;
}


/*
 * Decides r under ep. Returns NGX_OK with *dec and the context filled,
 * NGX_HTTP_BAD_REQUEST when the host or path is unusable, NGX_ERROR.
 * The request target goes to the library as received: the policy's path
 * rules, not nginx's location matching, decide which rule applies.
 */
static ngx_int_t
ngx_http_edgeguard_decide(ngx_http_request_t *r,
    ngx_http_edgeguard_loc_conf_t *elcf, ngx_http_edgeguard_ctx_t *ctx,
    struct eg_decision *dec)
{
    int                  rc;
    struct eg_peer      *peer;
    struct eg_request    req;

    peer = ngx_http_edgeguard_peer(r, elcf->policy);
    if (peer == NULL) {
        return NGX_ERROR;
    }

    req.host = ngx_http_edgeguard_cstr(r->pool, &r->headers_in.server);
    req.path = ngx_http_edgeguard_cstr(r->pool, &r->unparsed_uri);

    rc = eg_policy_decide(elcf->policy->policy, peer, &req, dec);

    if (rc == EG_E_BAD_REQUEST) {
        return NGX_HTTP_BAD_REQUEST;
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "edgeguard: decision failed: %s", eg_strerror(rc));
        return NGX_ERROR;
    }

    if (elcf->mode == NGX_HTTP_EDGEGUARD_LOG_ONLY && !dec->admit) {
        dec->admit = 1;
        dec->event = EG_EVENT_WOULD_REJECT;
        dec->mode = EG_MODE_LOG_ONLY;
    }

    if (dec->identity == NULL) {
        dec->identity = eg_peer_identity(peer);
    }

    return ngx_http_edgeguard_set_ctx(r, ctx, dec);
}


static ngx_http_edgeguard_ctx_t *
ngx_http_edgeguard_get_ctx(ngx_http_request_t *r)
{
    ngx_http_edgeguard_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_edgeguard_module);
    if (ctx) {
        return ctx;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_edgeguard_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_edgeguard_module);

    return ctx;
}


/* Sends "403 Forbidden: <reason>\n", the same body as the verifier. */
static ngx_int_t
ngx_http_edgeguard_reject(ngx_http_request_t *r, ngx_http_edgeguard_ctx_t *ctx)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    r->headers_out.status = NGX_HTTP_FORBIDDEN;
    r->headers_out.content_length_n = ctx->body.len;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return NGX_DONE;
    }

    b->pos = ctx->body.data;
    b->last = ctx->body.data + ctx->body.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));

    return NGX_DONE;
}


/*
 * PREACCESS rather than ACCESS: under "satisfy any" one allowing access
 * module makes nginx skip the remaining access handlers, and an edge
 * certificate check must not be bypassable by an allow rule.
 */
static ngx_int_t
ngx_http_edgeguard_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    struct eg_decision              dec;
    ngx_http_edgeguard_ctx_t       *ctx;
    ngx_http_edgeguard_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_edgeguard_module);

    if (elcf->mode == NGX_HTTP_EDGEGUARD_OFF || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_edgeguard_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_edgeguard_decide(r, elcf, ctx, &dec);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_edgeguard_audit(r, elcf->policy, &dec, dec.identity);

    if (dec.admit) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "edgeguard: rejected: %V (rule \"%V\"): %s",
                  &ctx->reason, &ctx->rule, dec.detail);

    return ngx_http_edgeguard_reject(r, ctx);
}


/*
 * Whether nginx itself refused r's certificate in ngx_http_process_request()
 * (the same test it makes there): NGX_HTTPS_CERT_ERROR, NGX_HTTPS_NO_CERT,
 * or 0. By the time headers are sent nginx has turned both codes into a
 * plain 400, so the filter recognises them by repeating the test.
 */
static ngx_int_t
ngx_http_edgeguard_nginx_refused(ngx_http_request_t *r)
{
#if (NGX_HTTP_SSL)
    long                      rc;
    X509                     *cert;
    ngx_http_ssl_srv_conf_t  *sscf;

    if (r->headers_out.status != NGX_HTTP_BAD_REQUEST
        || r->connection->ssl == NULL)
    {
        return 0;
    }

    sscf = ngx_http_get_module_srv_conf(r, ngx_http_ssl_module);

    if (sscf == NULL || !sscf->verify) {
        return 0;
    }

    rc = SSL_get_verify_result(r->connection->ssl->connection);

    if (rc != X509_V_OK
        && (sscf->verify != 3 || !ngx_ssl_verify_error_optional(rc)))
    {
        return NGX_HTTPS_CERT_ERROR;
    }

    if (sscf->verify == 1) {
        cert = SSL_get_peer_certificate(r->connection->ssl->connection);

        if (cert == NULL) {
            return NGX_HTTPS_NO_CERT;
        }

        X509_free(cert);
    }
#endif

    return 0;
}


/* nginx's own verdict, when it refused a chain the policy would admit. */
static enum eg_reason
ngx_http_edgeguard_nginx_reason(ngx_http_request_t *r, ngx_int_t refused)
{
#if (NGX_HTTP_SSL)
    if (refused == NGX_HTTPS_NO_CERT) {
        return EG_REASON_NO_CERTIFICATE;
    }

    switch (SSL_get_verify_result(r->connection->ssl->connection)) {

    case X509_V_ERR_CERT_HAS_EXPIRED:
        return EG_REASON_EXPIRED;

    case X509_V_ERR_CERT_NOT_YET_VALID:
        return EG_REASON_NOT_YET_VALID;

    case X509_V_ERR_CERT_REVOKED:
        return EG_REASON_REVOKED;

    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return EG_REASON_BAD_SIGNATURE;

    case X509_V_ERR_INVALID_PURPOSE:
        return EG_REASON_MISSING_CLIENT_AUTH_EKU;

    default:
        return EG_REASON_UNTRUSTED_ISSUER;
    }
#else
    return EG_REASON_NO_CERTIFICATE;
#endif
}


/*
 * nginx answers 495/496 itself, before any phase runs, when the user left
 * "ssl_verify_client on" or its own checks fail ("optional_no_ca" still
 * refuses expired certificates). Where edgeguard is enabled those answers
 * become the module's 403 with an audit record and the policy's reason;
 * the body filter swaps the page.
 */
static ngx_int_t
ngx_http_edgeguard_header_filter(ngx_http_request_t *r)
{
    ngx_int_t                       rc, refused;
    struct eg_decision              dec;
    const struct eg_identity       *id;
    ngx_http_edgeguard_ctx_t       *ctx;
    ngx_http_edgeguard_loc_conf_t  *elcf;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_edgeguard_module);

    if (elcf->mode == NGX_HTTP_EDGEGUARD_OFF) {
        return ngx_http_next_header_filter(r);
    }

    refused = ngx_http_edgeguard_nginx_refused(r);

    if (refused == 0) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_edgeguard_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_edgeguard_decide(r, elcf, ctx, &dec);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc != NGX_OK || dec.admit) {
        /* nginx refused what the policy admits or cannot judge: its
         * refusal stands, with the reason nginx found */
        id = (rc == NGX_OK) ? dec.identity : NULL;

        ngx_memzero(&dec, sizeof(struct eg_decision));
        dec.reason = ngx_http_edgeguard_nginx_reason(r, refused);
        dec.identity = id;

        if (ngx_http_edgeguard_set_ctx(r, ctx, &dec) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    dec.admit = 0;
    dec.event = EG_EVENT_REJECT;
    dec.mode = EG_MODE_ENFORCE;

    ngx_http_edgeguard_audit(r, elcf->policy, &dec, dec.identity);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "edgeguard: nginx refused the certificate (%i): "
                  "answering 403 %V", refused, &ctx->reason);

    ctx->replace = 1;

    r->headers_out.status = NGX_HTTP_FORBIDDEN;
    r->headers_out.status_line.len = 0;
    r->headers_out.content_length_n = ctx->body.len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_edgeguard_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t                 *b;
    ngx_chain_t               *cl, out;
    ngx_http_edgeguard_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_edgeguard_module);

    if (ctx == NULL || !ctx->replace) {
        return ngx_http_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    if (ctx->body_sent) {
        return ngx_http_next_body_filter(r, NULL);
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = ctx->body.data;
    b->last = ctx->body.data + ctx->body.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    ctx->body_sent = 1;

    return ngx_http_next_body_filter(r, &out);
}


static ngx_int_t
ngx_http_edgeguard_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                 *s;
    ngx_http_edgeguard_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_edgeguard_module);

    if (ctx == NULL || !ctx->decided) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) ctx + data);

    v->data = s->data;
    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static char *
ngx_http_edgeguard_policy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_edgeguard_loc_conf_t *elcf = conf;

    int                              rc;
    char                             err[1024];
    ngx_str_t                       *value, file;
    ngx_uint_t                       i;
    ngx_pool_cleanup_t              *cln;
    struct eg_audit_config          *acfg;
    ngx_http_edgeguard_policy_t     *ep, **pp;
    ngx_http_edgeguard_main_conf_t  *emcf;

    if (elcf->policy != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    file = value[1];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    emcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_edgeguard_module);

    pp = emcf->policies.elts;
    for (i = 0; i < emcf->policies.nelts; i++) {
        if (pp[i]->file.len == file.len
            && ngx_strncmp(pp[i]->file.data, file.data, file.len) == 0)
        {
            elcf->policy = pp[i];
            return NGX_CONF_OK;
        }
    }

    cln = ngx_pool_cleanup_add(cf->pool, sizeof(ngx_http_edgeguard_policy_t));
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    ep = cln->data;
    ngx_memzero(ep, sizeof(ngx_http_edgeguard_policy_t));
    cln->handler = ngx_http_edgeguard_policy_cleanup;

    ep->file.len = file.len;
    ep->file.data = ngx_pnalloc(cf->pool, file.len + 1);
    if (ep->file.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(ep->file.data, file.data, file.len + 1);

    rc = eg_policy_load_file((char *) ep->file.data, &ep->policy, err,
                             sizeof(err));
    if (rc != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "edgeguard_policy: %s", err);
        return NGX_CONF_ERROR;
    }

    rc = eg_audit_config_load((char *) ep->file.data, &acfg, err, sizeof(err));
    if (rc != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "edgeguard_policy: %s", err);
        return NGX_CONF_ERROR;
    }

    rc = eg_audit_log_open(acfg, &ep->audit, err, sizeof(err));

    if (rc != 0) {
        eg_audit_config_free(acfg);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "edgeguard_policy: %s", err);
        return NGX_CONF_ERROR;
    }

    rc = acfg->file ? ngx_http_edgeguard_follow_reopen(cf, ep, acfg->file)
                    : NGX_OK;
    eg_audit_config_free(acfg);

    if (rc != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    pp = ngx_array_push(&emcf->policies);
    if (pp == NULL) {
        return NGX_CONF_ERROR;
    }

    *pp = ep;
    elcf->policy = ep;

    return NGX_CONF_OK;
}


/*
 * nginx calls the flush handler of each of its open files right before it
 * reopens them ("nginx -s reopen", SIGUSR1, as logrotate sends), first in
 * the master and then in every worker, and again when a process exits.
 * Registered as one of those files, the audit log follows: reopened on
 * SIGUSR1 (the master's reopen hands the new file to the worker user, so
 * the workers may open it too), its aggregated records written at exit.
 */
static void
ngx_http_edgeguard_reopen(ngx_open_file_t *file, ngx_log_t *log)
{
    ngx_http_edgeguard_policy_t *ep = file->data;

    if (ep->audit == NULL) {
        return;
    }

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        (void) eg_audit_log_flush(ep->audit, INT64_MAX);
        return;
    }

    if (eg_audit_log_reopen(ep->audit) != 0) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "edgeguard: audit file \"%V\" of \"%V\" not reopened: "
                      "records still go to the previous file",
                      &file->name, &ep->file);
    }
}


/*
 * Registers the audit file of ep among nginx's open files (see
 * ngx_http_edgeguard_reopen()). A file nginx already follows for someone
 * else (an access_log of the same name, the audit file of another policy)
 * keeps its handler: that audit log is reopened by "nginx -s reload" only.
 */
static ngx_int_t
ngx_http_edgeguard_follow_reopen(ngx_conf_t *cf,
    ngx_http_edgeguard_policy_t *ep, const char *path)
{
    ngx_str_t         name;
    ngx_open_file_t  *of;

    /* the open file keeps the name, NUL-terminated, for the cycle */
    name.len = ngx_strlen(path);
    name.data = ngx_pnalloc(cf->pool, name.len + 1);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(name.data, (u_char *) path, name.len + 1);

    of = ngx_conf_open_file(cf->cycle, &name);
    if (of == NULL) {
        return NGX_ERROR;
    }

    if (of->flush || of->data) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "edgeguard_policy: audit file \"%V\" is also "
                           "used elsewhere: \"nginx -s reopen\" will not "
                           "reopen it for \"%V\"", &name, &ep->file);
        return NGX_OK;
    }

    of->flush = ngx_http_edgeguard_reopen;
    of->data = ep;

    return NGX_OK;
}


/* Runs with the pool of the configuration cycle: in the master when a
 * reload replaces it, in each worker at exit. */
static void
ngx_http_edgeguard_policy_cleanup(void *data)
{
    ngx_http_edgeguard_policy_t *ep = data;

    eg_audit_log_close(ep->audit);
    ep->audit = NULL;
    eg_policy_unref(ep->policy);
    ep->policy = NULL;
}


static ngx_int_t
ngx_http_edgeguard_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_edgeguard_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_http_edgeguard_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_edgeguard_main_conf_t  *emcf;

    emcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_edgeguard_main_conf_t));
    if (emcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&emcf->policies, cf->pool, 2,
                       sizeof(ngx_http_edgeguard_policy_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return emcf;
}


static void *
ngx_http_edgeguard_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_edgeguard_loc_conf_t  *elcf;

    elcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_edgeguard_loc_conf_t));
    if (elcf == NULL) {
        return NULL;
    }

    elcf->policy = NGX_CONF_UNSET_PTR;
    elcf->mode = NGX_CONF_UNSET_UINT;

    return elcf;
}


static char *
ngx_http_edgeguard_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_edgeguard_loc_conf_t *prev = parent;
    ngx_http_edgeguard_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->policy, prev->policy, NULL);
    ngx_conf_merge_uint_value(conf->mode, prev->mode, NGX_HTTP_EDGEGUARD_OFF);

    if (conf->mode != NGX_HTTP_EDGEGUARD_OFF && conf->policy == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"edgeguard\" is enabled but no "
                           "\"edgeguard_policy\" is set for this context");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * A server that enables edgeguard but never asks for a client certificate
 * rejects every request with no_certificate: say so when the configuration
 * is read rather than in the first audit records.
 */
static void
ngx_http_edgeguard_check_servers(ngx_conf_t *cf,
    ngx_http_core_main_conf_t *cmcf)
{
    ngx_uint_t                      s;
    ngx_http_core_srv_conf_t      **cscfp;
    ngx_http_edgeguard_loc_conf_t  *elcf;
#if (NGX_HTTP_SSL)
    ngx_http_ssl_srv_conf_t        *sscf;
#endif

    cscfp = cmcf->servers.elts;

    for (s = 0; s < cmcf->servers.nelts; s++) {
        elcf = cscfp[s]->ctx->loc_conf[ngx_http_edgeguard_module.ctx_index];

        if (elcf->mode == NGX_HTTP_EDGEGUARD_OFF) {
            continue;
        }

#if (NGX_HTTP_SSL)
        sscf = cscfp[s]->ctx->srv_conf[ngx_http_ssl_module.ctx_index];

        if (sscf && sscf->verify) {
            continue;
        }
#endif

        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "edgeguard is enabled in server \"%V\" in %s:%ui, "
                      "which does not request client certificates: every "
                      "request will be rejected with no_certificate "
                      "(add \"ssl_verify_client optional_no_ca;\")",
                      &cscfp[s]->server_name, cscfp[s]->file_name,
                      cscfp[s]->line);
    }
}


static ngx_int_t
ngx_http_edgeguard_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    ngx_http_edgeguard_check_servers(cf, cmcf);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_edgeguard_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_edgeguard_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_edgeguard_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_edgeguard_init_process(ngx_cycle_t *cycle)
{
    ngx_http_edgeguard_main_conf_t  *emcf;

    emcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_edgeguard_module);

    if (emcf == NULL || emcf->policies.nelts == 0) {
        return NGX_OK;
    }

    ngx_http_edgeguard_flush_conn.fd = (ngx_socket_t) -1;

    ngx_http_edgeguard_flush_ev.handler = ngx_http_edgeguard_flush_handler;
    ngx_http_edgeguard_flush_ev.data = &ngx_http_edgeguard_flush_conn;
    ngx_http_edgeguard_flush_ev.log = cycle->log;
    ngx_http_edgeguard_flush_ev.cancelable = 1;

    ngx_add_timer(&ngx_http_edgeguard_flush_ev, NGX_HTTP_EDGEGUARD_FLUSH_MS);

    return NGX_OK;
}


/* Writes the aggregated audit records of this worker before it goes. */
static void
ngx_http_edgeguard_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_edgeguard_flush(cycle, INT64_MAX);
}


static void
ngx_http_edgeguard_flush(ngx_cycle_t *cycle, int64_t now_ms)
{
    ngx_uint_t                        i;
    ngx_http_edgeguard_policy_t     **pp;
    ngx_http_edgeguard_main_conf_t   *emcf;

    emcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_edgeguard_module);
    if (emcf == NULL) {
        return;
    }

    pp = emcf->policies.elts;
    for (i = 0; i < emcf->policies.nelts; i++) {
        if (pp[i]->audit
            && eg_audit_log_flush(pp[i]->audit, now_ms) != 0)
        {
            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          "edgeguard: audit records of \"%V\" not flushed",
                          &pp[i]->file);
        }
    }
}


static void
ngx_http_edgeguard_flush_handler(ngx_event_t *ev)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    ngx_http_edgeguard_flush((ngx_cycle_t *) ngx_cycle,
                             (int64_t) tp->sec * 1000 + tp->msec);

    if (!ngx_exiting && !ngx_quit && !ngx_terminate) {
        ngx_add_timer(ev, NGX_HTTP_EDGEGUARD_FLUSH_MS);
    }
}
