/*
 * ngx_harness.h: what the module-side fuzz targets (ngx_state.c,
 * ngx_mgmt_args.c) share: nginx's core objects set up as nginx's main()
 * does (no configuration read, no event loop), a registry zone in
 * memory made by the module's own init_zone, a request of the
 * management API that nothing is sent on, and checks of what the
 * module leaves behind.  See ngx_harness.c.
 */

#ifndef _NGX_HARNESS_H_INCLUDED_
#define _NGX_HARNESS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_torchserve_module.h"


/* the zone: small, so that an input of a few KB can fill it */
#define NGX_FUZZ_ZONE_SIZE  (256 * 1024)


/* what one request answered */
typedef struct {
    ngx_uint_t        headers;      /* header filter calls */
    ngx_uint_t        bodies;       /* body filter calls */
    ngx_uint_t        status;
    ngx_uint_t        finals;       /* finalized with another than DONE */
    ngx_int_t         final_rc;     /* ... with this code */
} ngx_fuzz_answer_t;


extern ngx_log_t                        *ngx_fuzz_log;
extern ngx_http_torchserve_main_conf_t  *ngx_fuzz_tmcf;
extern ngx_fuzz_answer_t                 ngx_fuzz_answer;


void ngx_fuzz_init(void);

/* a fresh zone through the module's init_zone (nginx.conf's models in) */
void ngx_fuzz_zone_reset(void);

/* the reload path of init_zone: nginx.conf's models synced again */
void ngx_fuzz_zone_reload(void);

/*
 * The zone's indexes agree, its strings end; each name has at least one
 * default version (defaults 1) or exactly one (2), or is not checked (0).
 */
void ngx_fuzz_zone_check(ngx_uint_t defaults);

ngx_http_request_t *ngx_fuzz_request(ngx_pool_t *pool, ngx_uint_t method,
    u_char *uri, size_t uri_len, u_char *args, size_t args_len);

/* a posted thread task run as the pool would: handler, then its event */
void ngx_fuzz_run_task(void);

/* abort() with a message: a finding */
void ngx_fuzz_fail(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/* the files a fake download left in the store, removed */
void ngx_fuzz_store_clean(void);


#endif /* _NGX_HARNESS_H_INCLUDED_ */
