/* SPDX-License-Identifier: Apache-2.0 */

/*
 * mod_edgeguard: admits a request only when the TLS client certificate of
 * its connection satisfies an edgeguard policy file, with the same library,
 * decisions, reason codes and audit records as the verifier daemon.
 *
 *   EdgeguardPolicy /etc/edgeguard/policy.conf     server config, vhost
 *   Edgeguard On|Off|LogOnly                       also <Directory>,
 *                                                  <Location>
 *
 * mod_ssl must request the certificate without judging it and hand it
 * over: "SSLVerifyClient optional_no_ca" and "SSLOptions +ExportCertData".
 * The PEM chain mod_ssl exposes is decoded to DER with GnuTLS and verified
 * by libedgeguard exactly as the daemon verifies it.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_ssl.h"

#include "apr_hooks.h"
#include "apr_optional.h"
#include "apr_optional_hooks.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "apr_thread_proc.h"

#include <gnutls/gnutls.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>

#include <edgeguard/edgeguard.h>

#include <stdint.h>
#include <string.h>
#include <time.h>

module AP_MODULE_DECLARE_DATA edgeguard_module;

/* mod_ssl's optional hook from mod_ssl_openssl.h (a header Debian does not
 * ship): called once per SSL-enabled server with its SSL_CTX. */
APR_DECLARE_EXTERNAL_HOOK(ssl, SSL, int, init_server,
                          (server_rec *s, apr_pool_t *p, int is_proxy,
                           SSL_CTX *ctx))

/* Certificates of one chain handed to the library; longer chains are cut. */
#define EDGEGUARD_MAX_CHAIN 10

/* Verified peers kept per connection, one per policy file in use on it. */
#define EDGEGUARD_PEERS 4

#define EDGEGUARD_FLUSH_INTERVAL apr_time_from_sec(1)

#define EDGEGUARD_POLICIES_KEY "edgeguard_module:policies"

typedef enum {
    EDGEGUARD_UNSET = 0,
    EDGEGUARD_OFF,
    EDGEGUARD_ON,
    EDGEGUARD_LOG_ONLY
} edgeguard_mode_e;

/* One policy file, loaded once per configuration generation and shared by
 * every virtual host naming it. Lives in pconf; its cleanup releases the
 * library objects. */
typedef struct edgeguard_policy_rec {
    const char *file;                  /* absolute path */
    struct eg_policy *policy;          /* one reference */
    struct eg_audit_log *audit;        /* opened by the parent (as root) */
    struct edgeguard_policy_rec *next; /* list of this generation */
} edgeguard_policy_rec;

typedef struct {
    edgeguard_policy_rec *policy;      /* NULL: none; borrowed */
} edgeguard_server_conf;

typedef struct {
    edgeguard_mode_e mode;
} edgeguard_dir_conf;

/* Peer verifications of one connection; freed with the connection pool. */
typedef struct {
    struct {
        const edgeguard_policy_rec *policy;
        struct eg_peer *peer;          /* owned */
    } slot[EDGEGUARD_PEERS];
    unsigned next;                     /* slot to evict */
} edgeguard_conn_rec;

/* The per-child flush thread of aggregated audit records. */
typedef struct {
    edgeguard_policy_rec *policies;    /* borrowed from pconf */
    apr_thread_t *thread;
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *cond;
    int stop;                          /* under mutex */
} edgeguard_flusher;

static APR_OPTIONAL_FN_TYPE(ssl_var_lookup) *edgeguard_ssl_var;

static int64_t edgeguard_now_ms(void)
{
    return (int64_t)apr_time_as_msec(apr_time_now());
}

static const char *edgeguard_ssl_lookup(request_rec *r, const char *name)
{
    const char *v;

    if (edgeguard_ssl_var == NULL) {
        return NULL;
    }
    v = edgeguard_ssl_var(r->pool, r->server, r->connection, r,
                          (char *)name);
    return (v != NULL && *v != '\0') ? v : NULL;
}

static apr_status_t edgeguard_policy_cleanup(void *data)
{
    edgeguard_policy_rec *ep = data;

    eg_audit_log_close(ep->audit);
    ep->audit = NULL;
    eg_policy_unref(ep->policy);
    ep->policy = NULL;
    return APR_SUCCESS;
}

/*
 * EdgeguardPolicy: loads the policy and opens its audit sinks while the
 * configuration is read, so "apachectl configtest" (and therefore
 * "apachectl graceful", which tests first) refuses a broken policy and the
 * running generation keeps serving.
 */
static const char *edgeguard_set_policy(cmd_parms *cmd, void *dummy,
                                        const char *arg)
{
    edgeguard_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &edgeguard_module);
    edgeguard_policy_rec *ep, *head = NULL;
    struct eg_audit_config *acfg = NULL;
    const char *file;
    char err[1024];
    void *data;

    file = ap_server_root_relative(cmd->pool, arg);
    if (file == NULL) {
        return apr_pstrcat(cmd->pool, "EdgeguardPolicy: invalid path ", arg,
                           NULL);
    }

    apr_pool_userdata_get(&data, EDGEGUARD_POLICIES_KEY, cmd->pool);
    head = data;
    for (ep = head; ep != NULL; ep = ep->next) {
        if (strcmp(ep->file, file) == 0) {
            sconf->policy = ep;
            return NULL;
        }
    }

    ep = apr_pcalloc(cmd->pool, sizeof(*ep));
    ep->file = file;
    apr_pool_cleanup_register(cmd->pool, ep, edgeguard_policy_cleanup,
                              apr_pool_cleanup_null);

    if (eg_policy_load_file(file, &ep->policy, err, sizeof(err)) != 0 ||
        eg_audit_config_load(file, &acfg, err, sizeof(err)) != 0) {
        return apr_pstrcat(cmd->pool, "EdgeguardPolicy: ", err, NULL);
    }
    if (eg_audit_log_open(acfg, &ep->audit, err, sizeof(err)) != 0) {
        eg_audit_config_free(acfg);
        return apr_pstrcat(cmd->pool, "EdgeguardPolicy: ", err, NULL);
    }
    eg_audit_config_free(acfg);

    ep->next = head;
    apr_pool_userdata_set(ep, EDGEGUARD_POLICIES_KEY, apr_pool_cleanup_null,
                          cmd->pool);
    sconf->policy = ep;
    return NULL;
}

static const char *edgeguard_set_mode(cmd_parms *cmd, void *dconf,
                                      const char *arg)
{
    edgeguard_dir_conf *conf = dconf;

    if (strcasecmp(arg, "on") == 0) {
        conf->mode = EDGEGUARD_ON;
    }
    else if (strcasecmp(arg, "off") == 0) {
        conf->mode = EDGEGUARD_OFF;
    }
    else if (strcasecmp(arg, "logonly") == 0 ||
             strcasecmp(arg, "log-only") == 0) {
        conf->mode = EDGEGUARD_LOG_ONLY;
    }
    else {
        return "Edgeguard must be On, Off or LogOnly";
    }
    return NULL;
}

static void *edgeguard_create_server_conf(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(edgeguard_server_conf));
}

static void *edgeguard_merge_server_conf(apr_pool_t *p, void *basev,
                                         void *addv)
{
    edgeguard_server_conf *base = basev, *add = addv;
    edgeguard_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->policy = add->policy != NULL ? add->policy : base->policy;
    return conf;
}

static void *edgeguard_create_dir_conf(apr_pool_t *p, char *dir)
{
    return apr_pcalloc(p, sizeof(edgeguard_dir_conf));
}

static void *edgeguard_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    edgeguard_dir_conf *base = basev, *add = addv;
    edgeguard_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->mode = add->mode != EDGEGUARD_UNSET ? add->mode : base->mode;
    return conf;
}

static apr_status_t edgeguard_conn_cleanup(void *data)
{
    edgeguard_conn_rec *ec = data;
    unsigned i;

    for (i = 0; i < EDGEGUARD_PEERS; i++) {
        eg_peer_free(ec->slot[i].peer);
        ec->slot[i].peer = NULL;
    }
    return APR_SUCCESS;
}

/*
 * Decodes one PEM certificate from mod_ssl into der (DER bytes allocated
 * by GnuTLS: the caller frees der->data with gnutls_free()). Returns 0, or
 * -1 when the text is not a PEM certificate.
 */
static int edgeguard_pem_to_der(const char *pem, gnutls_datum_t *der)
{
    gnutls_datum_t in;

    in.data = (unsigned char *)pem;
    in.size = (unsigned int)strlen(pem);
    if (gnutls_pem_base64_decode2("CERTIFICATE", &in, der) < 0) {
        der->data = NULL;
        der->size = 0;
        return -1;
    }
    return 0;
}

/*
 * The verified peer of r's connection under ep: verified once per
 * connection and policy. Returns NULL on allocation failure.
 */
static struct eg_peer *edgeguard_peer(request_rec *r,
                                      const edgeguard_policy_rec *ep)
{
    conn_rec *c = r->connection;
    edgeguard_conn_rec *ec;
    gnutls_datum_t dat[EDGEGUARD_MAX_CHAIN];
    struct eg_der der[EDGEGUARD_MAX_CHAIN];
    struct eg_peer *peer = NULL;
    const char *pem;
    size_t n = 0, i;
    unsigned k;

    ec = ap_get_module_config(c->conn_config, &edgeguard_module);
    if (ec == NULL) {
        ec = apr_pcalloc(c->pool, sizeof(*ec));
        apr_pool_cleanup_register(c->pool, ec, edgeguard_conn_cleanup,
                                  apr_pool_cleanup_null);
        ap_set_module_config(c->conn_config, &edgeguard_module, ec);
    }

    for (k = 0; k < EDGEGUARD_PEERS; k++) {
        if (ec->slot[k].policy == ep) {
            return ec->slot[k].peer;
        }
    }

    /* A certificate mod_ssl exports that does not decode is passed on as
     * empty bytes: the library then answers malformed_certificate. */
    pem = edgeguard_ssl_lookup(r, "SSL_CLIENT_CERT");
    if (pem != NULL) {
        edgeguard_pem_to_der(pem, &dat[n++]);
    }
    for (i = 0; pem != NULL && n < EDGEGUARD_MAX_CHAIN; i++) {
        const char *name = apr_psprintf(r->pool, "SSL_CLIENT_CERT_CHAIN_%lu",
                                        (unsigned long)i);
        const char *ca = edgeguard_ssl_lookup(r, name);

        if (ca == NULL) {
            break;
        }
        if (strcmp(ca, pem) == 0) {
            continue;
        }
        edgeguard_pem_to_der(ca, &dat[n++]);
    }

    for (i = 0; i < n; i++) {
        der[i].data = dat[i].data;
        der[i].len = dat[i].size;
    }

    if (eg_peer_verify(ep->policy, der, n, time(NULL), &peer) != 0) {
        peer = NULL;
    }

    for (i = 0; i < n; i++) {
        gnutls_free(dat[i].data);
    }

    if (peer == NULL) {
        return NULL;
    }

    k = ec->next;
    ec->next = (k + 1) % EDGEGUARD_PEERS;
    eg_peer_free(ec->slot[k].peer);
    ec->slot[k].policy = ep;
    ec->slot[k].peer = peer;

    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "edgeguard: verified chain of %lu certificate(s): %s %s",
                  (unsigned long)n,
                  eg_reason_name(eg_peer_chain_reason(peer)),
                  eg_peer_detail(peer));
    return peer;
}

/*
 * Peer strings go into environment variables that end up in headers and
 * logs: bytes outside printable ASCII become "\xHH", so no CR/LF or NUL
 * ever leaves.
 */
static const char *edgeguard_escape(apr_pool_t *p, const char *prefix,
                                    const struct eg_str *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t plen = strlen(prefix), n = plen, i;
    char *out, *o;

    for (i = 0; i < s->len; i++) {
        unsigned char ch = (unsigned char)s->ptr[i];

        n += (ch < 0x20 || ch > 0x7e) ? 4 : 1;
    }
    out = apr_palloc(p, n + 1);
    memcpy(out, prefix, plen);
    o = out + plen;
    for (i = 0; i < s->len; i++) {
        unsigned char ch = (unsigned char)s->ptr[i];

        if (ch < 0x20 || ch > 0x7e) {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 0xf];
        }
        else {
            *o++ = (char)ch;
        }
    }
    *o = '\0';
    return out;
}

/* "ip:port" / "[ip]:port" of the TCP peer (not a mod_remoteip address). */
static const char *edgeguard_peer_addr(request_rec *r)
{
    conn_rec *c = r->connection;
    apr_port_t port = c->client_addr ? c->client_addr->port : 0;

    if (c->client_ip != NULL && strchr(c->client_ip, ':') != NULL) {
        return apr_psprintf(r->pool, "[%s]:%u", c->client_ip,
                            (unsigned)port);
    }
    return apr_psprintf(r->pool, "%s:%u",
                        c->client_ip ? c->client_ip : "", (unsigned)port);
}

/*
 * Whether this decision was already audited for the request an internal
 * redirect (ErrorDocument, mod_rewrite) came from: one request, one audit
 * record. Records it in r->notes otherwise.
 */
static int edgeguard_marked(request_rec *r, const edgeguard_policy_rec *ep,
                            const struct eg_decision *dec)
{
    const char *mark = apr_psprintf(r->pool, "%pp|%d|%d|%s", (void *)ep,
                                    (int)dec->event, (int)dec->reason,
                                    dec->rule ? dec->rule : "");
    const request_rec *prev;

    for (prev = r->prev; prev != NULL; prev = prev->prev) {
        const char *m = apr_table_get(prev->notes, "edgeguard_module");

        if (m != NULL) {
            if (strcmp(m, mark) == 0) {
                return 1;
            }
            break;
        }
    }
    apr_table_setn(r->notes, "edgeguard_module", mark);
    return 0;
}

static void edgeguard_audit(request_rec *r, const edgeguard_policy_rec *ep,
                            const struct eg_decision *dec)
{
    struct eg_audit_event ev;

    if (ep->audit == NULL || edgeguard_marked(r, ep, dec)) {
        return;
    }
    memset(&ev, 0, sizeof(ev));
    ev.ts_ms = (int64_t)apr_time_as_msec(r->request_time);
    ev.event = dec->event;
    ev.reason = dec->reason;
    ev.component = "apache";
    ev.peer = edgeguard_peer_addr(r);
    ev.sni = edgeguard_ssl_lookup(r, "SSL_TLS_SNI");
    ev.method = r->method;
    ev.host = r->hostname;
    ev.path = r->unparsed_uri;
    ev.identity = dec->identity;
    ev.policy = dec->rule;
    ev.mode = dec->mode;

    if (eg_audit_log_record(ep->audit, &ev) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "edgeguard: audit record not written to the sinks of "
                      "%s", ep->file);
    }
}

/* Sends "403 Forbidden: <reason>\n", the same body as the verifier. */
static int edgeguard_reject(request_rec *r, const char *reason)
{
    const char *body = apr_pstrcat(r->pool, "403 Forbidden: ", reason, "\n",
                                   NULL);
    int rc;

    rc = ap_discard_request_body(r);
    if (rc != OK) {
        return rc;
    }
    r->status = HTTP_FORBIDDEN;
    /* What ap_die() does for error answers, so "Header always" and other
     * error-time filters apply to this one too. */
    ap_run_insert_error_filter(r);
    ap_set_content_type(r, "text/plain");
    ap_set_content_length(r, (apr_off_t)strlen(body));
    if (!r->header_only) {
        ap_rputs(body, r);
    }
    return DONE;
}

/*
 * Fixups, run first: unlike the access checkers they cannot be skipped by
 * "Satisfy Any" or an authorization provider that admits, so the edge
 * certificate is checked whatever else the configuration allows.
 */
static int edgeguard_fixups(request_rec *r)
{
    edgeguard_dir_conf *dconf =
        ap_get_module_config(r->per_dir_config, &edgeguard_module);
    edgeguard_server_conf *sconf =
        ap_get_module_config(r->server->module_config, &edgeguard_module);
    const edgeguard_policy_rec *ep = sconf->policy;
    const struct eg_peer *peer;
    struct eg_decision dec;
    struct eg_request req;
    const char *reason;
    int rc;

    if (dconf->mode == EDGEGUARD_UNSET || dconf->mode == EDGEGUARD_OFF ||
        r->main != NULL) {
        return DECLINED;
    }
    if (ep == NULL || ep->policy == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "edgeguard: Edgeguard is enabled but this server has "
                      "no EdgeguardPolicy");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    peer = edgeguard_peer(r, ep);
    if (peer == NULL) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    req.host = r->hostname != NULL ? r->hostname
                                   : edgeguard_ssl_lookup(r, "SSL_TLS_SNI");
    req.path = r->unparsed_uri;
    rc = eg_policy_decide(ep->policy, peer, &req, &dec);
    if (rc == EG_E_BAD_REQUEST) {
        return HTTP_BAD_REQUEST;
    }
    if (rc != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ALERT, 0, r,
                      "edgeguard: decision failed: %s", eg_strerror(rc));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (dec.identity == NULL) {
        dec.identity = eg_peer_identity(peer);
    }
    if (dconf->mode == EDGEGUARD_LOG_ONLY && !dec.admit) {
        dec.admit = true;
        dec.event = EG_EVENT_WOULD_REJECT;
        dec.mode = EG_MODE_LOG_ONLY;
    }

    edgeguard_audit(r, ep, &dec);

    reason = eg_reason_name(dec.reason);
    apr_table_setn(r->subprocess_env, "EDGEGUARD_REASON", reason);
    if (dec.rule != NULL) {
        apr_table_setn(r->subprocess_env, "EDGEGUARD_RULE",
                       apr_pstrdup(r->pool, dec.rule));
    }
    if (dec.matched_field != NULL && dec.matched_value != NULL) {
        apr_table_setn(r->subprocess_env, "EDGEGUARD_IDENTITY",
                       edgeguard_escape(r->pool,
                                        apr_pstrcat(r->pool, dec.matched_field,
                                                    "=", NULL),
                                        dec.matched_value));
    }
    else if (dec.identity != NULL) {
        apr_table_setn(r->subprocess_env, "EDGEGUARD_IDENTITY",
                       edgeguard_escape(r->pool, "", &dec.identity->subject));
    }

    if (dec.admit) {
        return DECLINED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "edgeguard: rejected: %s (rule \"%s\"): %s", reason,
                  dec.rule ? dec.rule : "", dec.detail);
    return edgeguard_reject(r, reason);
}

static void edgeguard_flush_all(edgeguard_policy_rec *head, int64_t now_ms)
{
    edgeguard_policy_rec *ep;

    for (ep = head; ep != NULL; ep = ep->next) {
        if (ep->audit != NULL) {
            eg_audit_log_flush(ep->audit, now_ms);
        }
    }
}

static void *APR_THREAD_FUNC edgeguard_flush_thread(apr_thread_t *t,
                                                    void *data)
{
    edgeguard_flusher *f = data;

    apr_thread_mutex_lock(f->mutex);
    while (!f->stop) {
        apr_thread_cond_timedwait(f->cond, f->mutex,
                                  EDGEGUARD_FLUSH_INTERVAL);
        if (!f->stop) {
            edgeguard_flush_all(f->policies, edgeguard_now_ms());
        }
    }
    apr_thread_mutex_unlock(f->mutex);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Child exit: stop the flusher and write what this child still holds. The
 * logs themselves belong to the parent's pconf and are closed there. */
static apr_status_t edgeguard_child_cleanup(void *data)
{
    edgeguard_flusher *f = data;
    apr_status_t rv;

    if (f->thread != NULL) {
        apr_thread_mutex_lock(f->mutex);
        f->stop = 1;
        apr_thread_cond_signal(f->cond);
        apr_thread_mutex_unlock(f->mutex);
        apr_thread_join(&rv, f->thread);
    }
    edgeguard_flush_all(f->policies, INT64_MAX);
    return APR_SUCCESS;
}

/*
 * Each child aggregates its own audit records (the sinks were opened by
 * the parent and are inherited; every record is one O_APPEND write, so
 * children never interleave) and flushes them once a second.
 */
static void edgeguard_child_init(apr_pool_t *pchild, server_rec *s)
{
    edgeguard_flusher *f;
    apr_status_t rv;
    void *data;

    apr_pool_userdata_get(&data, EDGEGUARD_POLICIES_KEY, s->process->pconf);
    if (data == NULL) {
        return;
    }
    f = apr_pcalloc(pchild, sizeof(*f));
    f->policies = data;
    apr_pool_cleanup_register(pchild, f, edgeguard_child_cleanup,
                              apr_pool_cleanup_null);

    if ((rv = apr_thread_mutex_create(&f->mutex, APR_THREAD_MUTEX_DEFAULT,
                                      pchild)) != APR_SUCCESS ||
        (rv = apr_thread_cond_create(&f->cond, pchild)) != APR_SUCCESS ||
        (rv = apr_thread_create(&f->thread, NULL, edgeguard_flush_thread, f,
                                pchild)) != APR_SUCCESS) {
        f->thread = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "edgeguard: no audit flush thread; aggregated records "
                     "are written at the end of their window by the next "
                     "record or at child exit");
    }
}

/*
 * Even under "SSLVerifyClient optional_no_ca" mod_ssl fails the handshake
 * for an expired, not yet valid or wrong-purpose certificate: no 403, no
 * audit record, no reason. Where edgeguard judges the certificates (its
 * policy is set and mod_ssl trusts no CA, so mod_ssl's verdict was never a
 * trust decision) OpenSSL is told to skip those checks; the library makes
 * them, with the right reason code.
 */
static int edgeguard_ssl_init_server(server_rec *s, apr_pool_t *p,
                                     int is_proxy, SSL_CTX *ctx)
{
    edgeguard_server_conf *sconf =
        ap_get_module_config(s->module_config, &edgeguard_module);
    X509_STORE *store;

    if (is_proxy || sconf->policy == NULL) {
        return DECLINED;
    }
    store = SSL_CTX_get_cert_store(ctx);
    if (store != NULL && sk_X509_OBJECT_num(X509_STORE_get0_objects(store)) > 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "edgeguard: mod_ssl trusts CAs of its own here "
                     "(SSLCACertificateFile/Path): certificates it refuses "
                     "fail the TLS handshake without a 403 or an audit "
                     "record; use SSLVerifyClient optional_no_ca without "
                     "a CA and let the policy decide");
        return DECLINED;
    }
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx),
                                X509_V_FLAG_NO_CHECK_TIME);
    SSL_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
    return OK;
}

static void edgeguard_optional_fns(void)
{
    edgeguard_ssl_var = APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup);
}

static int edgeguard_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                 apr_pool_t *ptemp, server_rec *s)
{
    void *data;

    apr_pool_userdata_get(&data, EDGEGUARD_POLICIES_KEY, pconf);
    if (data != NULL && APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup) == NULL) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "edgeguard: mod_ssl is not loaded: every request under "
                     "Edgeguard On is rejected with no_certificate");
    }
    return OK;
}

static void edgeguard_register_hooks(apr_pool_t *p)
{
    ap_hook_optional_fn_retrieve(edgeguard_optional_fns, NULL, NULL,
                                 APR_HOOK_MIDDLE);
    ap_hook_post_config(edgeguard_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(edgeguard_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(edgeguard_fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
    APR_OPTIONAL_HOOK(ssl, init_server, edgeguard_ssl_init_server, NULL, NULL,
                      APR_HOOK_MIDDLE);
}

static const command_rec edgeguard_cmds[] = {
    AP_INIT_TAKE1("EdgeguardPolicy", edgeguard_set_policy, NULL, RSRC_CONF,
                  "edgeguard policy file (its policy and audit groups)"),
    AP_INIT_TAKE1("Edgeguard", edgeguard_set_mode, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "On, Off or LogOnly (admit, audit would_reject)"),
    {NULL}
};

AP_DECLARE_MODULE(edgeguard) = {
    STANDARD20_MODULE_STUFF,
    edgeguard_create_dir_conf,
    edgeguard_merge_dir_conf,
    edgeguard_create_server_conf,
    edgeguard_merge_server_conf,
    edgeguard_cmds,
    edgeguard_register_hooks
};
