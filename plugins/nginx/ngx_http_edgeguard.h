/* SPDX-License-Identifier: Apache-2.0 */

/*
 * ngx_http_edgeguard_module, shared by its three files:
 *   ngx_http_edgeguard_module.c   directives, configuration, process life
 *   ngx_http_edgeguard_request.c  deciding a request, audit, variables
 *   ngx_http_edgeguard_filter.c   nginx's own 495/496 turned into the 403
 */

#ifndef _NGX_HTTP_EDGEGUARD_H_INCLUDED_
#define _NGX_HTTP_EDGEGUARD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <edgeguard/edgeguard.h>


#define NGX_HTTP_EDGEGUARD_OFF        0
#define NGX_HTTP_EDGEGUARD_ON         1
#define NGX_HTTP_EDGEGUARD_LOG_ONLY   2


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


extern ngx_module_t  ngx_http_edgeguard_module;


/* ngx_http_edgeguard_request.c */

/* The PREACCESS phase handler. */
ngx_int_t ngx_http_edgeguard_handler(ngx_http_request_t *r);

/* Get handler of $edgeguard_*: data is the offset of the ngx_str_t in
 * ngx_http_edgeguard_ctx_t. */
ngx_int_t ngx_http_edgeguard_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* The request's context, created on first use; NULL on allocation
 * failure. */
ngx_http_edgeguard_ctx_t *ngx_http_edgeguard_get_ctx(ngx_http_request_t *r);

ngx_int_t ngx_http_edgeguard_decide(ngx_http_request_t *r,
    ngx_http_edgeguard_loc_conf_t *elcf, ngx_http_edgeguard_ctx_t *ctx,
    struct eg_decision *dec);
ngx_int_t ngx_http_edgeguard_set_ctx(ngx_http_request_t *r,
    ngx_http_edgeguard_ctx_t *ctx, struct eg_decision *dec);
void ngx_http_edgeguard_audit(ngx_http_request_t *r,
    ngx_http_edgeguard_policy_t *ep, struct eg_decision *dec,
    const struct eg_identity *id);
/* Points out at a last buffer holding ctx->body (the 403 body); NGX_OK
 * or NGX_ERROR. */
ngx_int_t ngx_http_edgeguard_body_chain(ngx_http_request_t *r,
    ngx_http_edgeguard_ctx_t *ctx, ngx_chain_t *out);


/* ngx_http_edgeguard_filter.c */

/* Installs the header and body filters (postconfiguration). */
ngx_int_t ngx_http_edgeguard_filter_init(ngx_conf_t *cf);


#endif /* _NGX_HTTP_EDGEGUARD_H_INCLUDED_ */
