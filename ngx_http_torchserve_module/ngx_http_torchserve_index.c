/*
 * ngx_http_torchserve_index.c: models by name and records by id.
 *
 * Names are an rbtree keyed by crc32 with the name itself breaking ties
 * (ngx_str_rbtree_*, as limit_req keys its zone); each name holds the
 * queue of its versions.  The registry's tree lives in the shared zone
 * (slab allocations), each worker process's in its heap: the same code
 * serves both, with shpool NULL for the heap.  Ids are a plain rbtree of
 * the zone's records, for the per-request counters.
 */

#include "ngx_http_torchserve_module.h"


void
ngx_http_torchserve_names_init(ngx_rbtree_t *tree,
    ngx_rbtree_node_t *sentinel)
{
    /* core's insert function: its address survives a module's reload */
    ngx_rbtree_init(tree, sentinel, ngx_str_rbtree_insert_value);
}


ngx_http_torchserve_name_t *
ngx_http_torchserve_name_find(ngx_rbtree_t *tree, ngx_str_t *name)
{
    ngx_str_node_t  *sn;

    sn = ngx_str_rbtree_lookup(tree, name, ngx_crc32_short(name->data,
                                                           name->len));
    if (sn == NULL) {
        return NULL;
    }

    return (ngx_http_torchserve_name_t *) sn;
}


/* the name's entry, made if it is new; NULL when memory is out */
ngx_http_torchserve_name_t *
ngx_http_torchserve_name_add(ngx_rbtree_t *tree, ngx_str_t *name,
    ngx_slab_pool_t *shpool)
{
    size_t                       size;
    ngx_http_torchserve_name_t  *n;

    n = ngx_http_torchserve_name_find(tree, name);
    if (n != NULL) {
        return n;
    }

    size = sizeof(ngx_http_torchserve_name_t) + name->len;

    n = shpool ? ngx_slab_alloc_locked(shpool, size)
               : ngx_alloc(size, ngx_cycle->log);
    if (n == NULL) {
        return NULL;
    }

    ngx_memzero(n, sizeof(ngx_http_torchserve_name_t));

    n->sn.str.data = (u_char *) (n + 1);
    n->sn.str.len = name->len;
    ngx_memcpy(n->sn.str.data, name->data, name->len);
    n->sn.node.key = ngx_crc32_short(name->data, name->len);
    ngx_queue_init(&n->versions);

    ngx_rbtree_insert(tree, &n->sn.node);

    return n;
}


/* a version into its name's queue */
void
ngx_http_torchserve_name_link(ngx_http_torchserve_name_t *n,
    ngx_queue_t *version)
{
    ngx_queue_insert_tail(&n->versions, version);
}


/* a version out of its name's queue; the name goes with its last one */
void
ngx_http_torchserve_name_unlink(ngx_rbtree_t *tree,
    ngx_http_torchserve_name_t *n, ngx_queue_t *version,
    ngx_slab_pool_t *shpool)
{
    ngx_queue_remove(version);

    if (!ngx_queue_empty(&n->versions)) {
        return;
    }

    ngx_rbtree_delete(tree, &n->sn.node);

    if (shpool) {
        ngx_slab_free_locked(shpool, n);

    } else {
        ngx_free(n);
    }
}


ngx_http_torchserve_record_t *
ngx_http_torchserve_record_by_id_locked(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_uint_t id)
{
    ngx_rbtree_node_t  *node, *sentinel;

    node = tmcf->sh->ids.root;
    sentinel = tmcf->sh->ids.sentinel;

    while (node != sentinel) {
        if (id == node->key) {
            return (ngx_http_torchserve_record_t *)
                       ((u_char *) node
                        - offsetof(ngx_http_torchserve_record_t, id_node));
        }

        node = (id < node->key) ? node->left : node->right;
    }

    return NULL;
}
