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

#include "ngx_http_edgeguard.h"


#define NGX_HTTP_EDGEGUARD_FLUSH_MS   1000


static char *ngx_http_edgeguard_policy(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_edgeguard_policy_cleanup(void *data);
static void ngx_http_edgeguard_reopen(ngx_open_file_t *file, ngx_log_t *log);
static ngx_int_t ngx_http_edgeguard_follow_reopen(ngx_conf_t *cf,
    ngx_http_edgeguard_policy_t *ep, const char *path);
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


/* Per worker process: the audit flush timer (ngx_event_ident() reads the
 * fd of ev->data in debug logs, hence the dummy connection). */
static ngx_event_t       ngx_http_edgeguard_flush_ev;
static ngx_connection_t  ngx_http_edgeguard_flush_conn;


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

    return ngx_http_edgeguard_filter_init(cf);
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
