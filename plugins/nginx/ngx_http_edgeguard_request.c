/* SPDX-License-Identifier: Apache-2.0 */

/*
 * Deciding one request: the connection's chain as DER, verified once per
 * connection and policy by libedgeguard, a decision per request, its audit
 * record, the 403 and the $edgeguard_* variables.
 */

#include "ngx_http_edgeguard.h"


/* Certificates of one chain handed to the library; longer chains are cut. */
#define NGX_HTTP_EDGEGUARD_MAX_CHAIN  10

/* Verified peers kept per connection, one per policy file in use on it. */
#define NGX_HTTP_EDGEGUARD_PEERS      4


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


static void ngx_http_edgeguard_conn_cleanup(void *data);
static void ngx_http_edgeguard_mark_cleanup(void *data);


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
void
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
ngx_int_t
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
ngx_int_t
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


ngx_http_edgeguard_ctx_t *
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


ngx_int_t
ngx_http_edgeguard_body_chain(ngx_http_request_t *r,
    ngx_http_edgeguard_ctx_t *ctx, ngx_chain_t *out)
{
    ngx_buf_t  *b;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = ctx->body.data;
    b->last = ctx->body.data + ctx->body.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out->buf = b;
    out->next = NULL;

    return NGX_OK;
}


/* Sends "403 Forbidden: <reason>\n", the same body as the verifier. */
static ngx_int_t
ngx_http_edgeguard_reject(ngx_http_request_t *r, ngx_http_edgeguard_ctx_t *ctx)
{
    ngx_int_t     rc;
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

    if (ngx_http_edgeguard_body_chain(r, ctx, &out) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return NGX_DONE;
    }

    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));

    return NGX_DONE;
}


/*
 * PREACCESS rather than ACCESS: under "satisfy any" one allowing access
 * module makes nginx skip the remaining access handlers, and an edge
 * certificate check must not be bypassable by an allow rule.
 */
ngx_int_t
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


ngx_int_t
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
