/*
 * ts_status.h: why the runtime answered a request as it did.
 *
 * The runtime says what kind of failure it met; the server decides what
 * that means on the wire (the module maps these to HTTP in one place,
 * ngx_http_torchserve_reply.c).
 */

#ifndef TS_STATUS_H
#define TS_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TS_STATUS_PENDING = 0,        /* not answered yet */
    TS_STATUS_OK,
    TS_STATUS_BAD_INPUT,          /* the request's data is at fault */
    TS_STATUS_NOT_FOUND,
    TS_STATUS_UNAVAILABLE,        /* no capacity now: try again later */
    TS_STATUS_NO_RESOURCES,       /* memory (host or device) ran out */
    TS_STATUS_TIMEOUT,
    TS_STATUS_INTERNAL            /* ours, the model's or the handler's */
} ts_status_e;

#ifdef __cplusplus
}
#endif

#endif /* TS_STATUS_H */
