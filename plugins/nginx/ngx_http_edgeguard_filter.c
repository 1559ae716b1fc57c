/* SPDX-License-Identifier: Apache-2.0 */

/*
 * nginx answers 495/496 itself, before any phase runs, when its own
 * certificate checks fail. Where edgeguard is enabled those answers become
 * the module's audited 403 with the policy's reason code: the header filter
 * recognises them and decides, the body filter swaps the page.
 */

#include "ngx_http_edgeguard.h"


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


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

    if (ngx_http_edgeguard_body_chain(r, ctx, &out) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->body_sent = 1;

    return ngx_http_next_body_filter(r, &out);
}


ngx_int_t
ngx_http_edgeguard_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_edgeguard_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_edgeguard_body_filter;

    return NGX_OK;
}
