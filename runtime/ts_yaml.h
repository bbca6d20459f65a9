/*
 * ts_yaml.h: a YAML document as a small tree with SnakeYAML's scalar
 * types, as TorchServe's frontend reads model-config.yaml; its "handler"
 * section is given to handlers this way.
 *
 * libyaml loads the document (yaml_parser_load resolves anchors and
 * aliases), which is copied into a tree of ts_yaml_node_t.  Plain scalars
 * get SnakeYAML's implicit types: int (decimal, 0x, 0b, leading-0 octal,
 * '_' after the first digit), bool (true/yes/on and their opposites, in
 * lower, Capitalised or UPPER case), null (~, null, empty), float (1.5,
 * .5, 1e3, [-+].inf, .nan); other plain scalars, and quoted and block
 * ones, are strings.  A tag is not checked, but makes a quoted scalar
 * typed as a plain one ("!!int '12'" is 12).  Not kept: merge keys
 * ("<<" is an ordinary key), base-60 numbers and timestamps (strings
 * here), "!!str" on a plain scalar (libyaml tags every untagged scalar
 * so: quote instead).
 *
 * A syntax error or more than one document is an error, as is a tree
 * past the limits below, an alias being copied at each use; the message
 * gives the line and column ("line L, column C: cause").
 */

#ifndef TS_YAML_H
#define TS_YAML_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* bounds of a tree, aliases counted each time they are used */
#define TS_YAML_MAX_NODES     100000
#define TS_YAML_MAX_DEPTH     64
#define TS_YAML_MAX_TEXT      (8 << 20)     /* bytes of scalars */


typedef enum {
    TS_YAML_NULL = 0,
    TS_YAML_BOOL,
    TS_YAML_INT,
    TS_YAML_FLOAT,
    TS_YAML_STR,
    TS_YAML_SEQ,
    TS_YAML_MAP
} ts_yaml_type_e;


typedef struct ts_yaml_node_s  ts_yaml_node_t;

struct ts_yaml_node_s {
    ts_yaml_type_e    type;
    char             *str;        /* a scalar's text (every scalar type) */
    size_t            len;
    int               b;          /* TS_YAML_BOOL */
    int64_t           i;          /* TS_YAML_INT, when i_bits != 0 */
    int               i_bits;     /* 32: fits int32_t (a Java Integer);
                                     64: int64_t only; 0: even larger */
    double            d;          /* TS_YAML_FLOAT */
    ts_yaml_node_t  **items;      /* TS_YAML_SEQ: n items; TS_YAML_MAP: */
    size_t            n;          /* n keys and n values, interleaved */
    unsigned          line;       /* 1-based, where the node starts (an */
    unsigned          column;     /* alias's copy: where its anchor is) */
};


/*
 * Loads len bytes of YAML: 0 with *root the tree (NULL for an empty
 * stream; ts_yaml_free it), or -1 with the cause in err.
 */
int ts_yaml_load(const char *yaml, size_t len, ts_yaml_node_t **root,
    char *err, size_t errlen);

void ts_yaml_free(ts_yaml_node_t *node);

/* a mapping's value for a string key (the last one given), or NULL (also
 * when map is NULL or not a mapping) */
const ts_yaml_node_t *ts_yaml_map_get(const ts_yaml_node_t *map,
    const char *key);

/* the same value, taken out of map for the caller to free; the key stays,
 * with a NULL value, so map is only to be freed after that */
ts_yaml_node_t *ts_yaml_map_take(ts_yaml_node_t *map, const char *key);

const char *ts_yaml_type_name(ts_yaml_type_e type);

#ifdef __cplusplus
}
#endif

#endif /* TS_YAML_H */
