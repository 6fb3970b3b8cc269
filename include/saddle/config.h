/* config.h: experiment configs: YAML (libfyaml) plus `key.path=value` overrides, checked against a schema.
 *
 * Every value keeps where it came from (file, line, column, or the command line), so every complaint names
 * the place and the key. Keys are dotted paths ("dynamics.lr"); nested YAML maps and dotted keys in YAML
 * are the same thing. Lists (claims, phases, figures) stay as node trees for the modules that read them. */
#ifndef SADDLE_CONFIG_H
#define SADDLE_CONFIG_H

#include <stddef.h>
#include "saddle/error.h"

/* SD_T_REALS: a list of real numbers, [3, 2, 1] in YAML or 3,2,1 on the command line (bounds apply to each).
 * SD_T_LIST: a list of mappings read by another module (claims, phases). */
typedef enum { SD_T_INT, SD_T_REAL, SD_T_BOOL, SD_T_STRING, SD_T_ENUM, SD_T_PATH, SD_T_LIST, SD_T_REALS } sd_type;

/* One config key of a schema. Tables of these are static data owned by their module. */
typedef struct {
  const char *key;     /* dotted path relative to the table's prefix, e.g. "n" under "problem." */
  sd_type type;
  const char *def;     /* default as YAML text; NULL: the key is required; "" for PATH: not given */
  double min, max;     /* inclusive bounds for INT/REAL; ignored when min > max */
  const char *choices; /* ENUM: "a|b|c" */
  const char *help;    /* one line for `saddle ... --help` and the docs */
} sd_param;

#define SD_NO_BOUNDS 1.0, 0.0

typedef struct sd_cfg_node sd_cfg_node;
typedef enum { SD_NODE_SCALAR, SD_NODE_MAP, SD_NODE_SEQ } sd_node_kind;
struct sd_cfg_node {
  sd_node_kind kind;
  char *key;           /* key in the parent map (NULL in sequences and at the root) */
  char *value;         /* scalar text (NULL unless SCALAR) */
  const char *file;    /* source name; owned by the config */
  int line, col;       /* of the value; 1-based; 0 for the command line */
  int key_line, key_col; /* of the key in its parent map */
  sd_cfg_node **kids;
  size_t n_kids;
};

typedef struct sd_config sd_config;

/* Parses a YAML file into a new config (*out, caller frees with sd_config_free). */
sd_status sd_config_load(const char *path, sd_config **out);
/* Same, from a string; `name` is what messages call it. */
sd_status sd_config_load_string(const char *name, const char *yaml, sd_config **out);
void sd_config_free(sd_config **cfg);

/* Applies one `key.path=value` argument from the command line, or one made by sd_config_override_from. */
sd_status sd_config_override(sd_config *cfg, const char *arg);
/* An override for a value written in the config file itself (a sweep's values): `key=value` marked with the
 * places of the key's text and of the value in that file, so that complaints about it name them and not the
 * command line (and a path in it is relative to the config file). Only for the file it came from, loaded
 * again. Caller frees (sd_free); NULL: out of memory. */
char *sd_config_override_from(const char *key, int key_line, int key_col, const sd_cfg_node *value);

/* Value text of a key before resolution (NULL if absent); used to pick the problem and dynamics kinds. */
const char *sd_config_peek(const sd_config *cfg, const char *key);
/* The whole document (a mapping), for readers that need no schema (the plot layer). Owned by cfg. */
const sd_cfg_node *sd_config_root(const sd_config *cfg);
/* The node at a dotted key before resolution (NULL if absent), for modules that read lists themselves. */
const sd_cfg_node *sd_config_raw(const sd_config *cfg, const char *key);

/* Adds a schema table under `prefix` ("" or "problem." ...). Tables are borrowed, not copied. */
sd_status sd_config_add_schema(sd_config *cfg, const char *prefix, const sd_param *table, size_t n);
/* Adds keys that are valid but unused in this config (those of the dynamics kinds not chosen, so that
 * `dynamics.kind=flow` on the command line works on a GD config): checked, then ignored and not written back. */
sd_status sd_config_add_inactive_schema(sd_config *cfg, const char *prefix, const sd_param *table, size_t n);
/* Checks every given key against the schema (unknown keys with the nearest valid one, types, ranges,
 * choices, required keys) and fills in defaults. */
sd_status sd_config_resolve(sd_config *cfg);

/* Typed getters, valid after sd_config_resolve for keys in the schema (a bug otherwise: asserts). */
long long sd_config_int(const sd_config *cfg, const char *key);
double sd_config_real(const sd_config *cfg, const char *key);
int sd_config_bool(const sd_config *cfg, const char *key);
const char *sd_config_str(const sd_config *cfg, const char *key);   /* owned by cfg */
const sd_cfg_node *sd_config_list(const sd_config *cfg, const char *key); /* NULL if not given */
/* An SD_T_REALS value: writes up to max numbers to out (may be NULL) and returns how many there are. */
size_t sd_config_reals(const sd_config *cfg, const char *key, double *out, size_t max);
/* Resolves a PATH value relative to the config file's directory; caller frees. NULL if empty. */
char *sd_config_path(const sd_config *cfg, const char *key);
/* Directory of the config file ("." for strings). Owned by cfg. */
const char *sd_config_dir(const sd_config *cfg);

/* Records SD_ERR_CONFIG with "<where>: <key>: <message>", where = file:line:col of the key's value, or
 * "command line", or "<file>: (default)". For checks that span keys, done by the modules. */
sd_status sd_config_fail(const sd_config *cfg, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, for a node inside a list. */
sd_status sd_config_fail_node(const sd_config *cfg, const sd_cfg_node *node, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Child of a map node by key (NULL if absent). */
const sd_cfg_node *sd_cfg_child(const sd_cfg_node *map, const char *key);

/* Writes the resolved config as YAML: every schema key with its value, lists as given. */
sd_status sd_config_write_resolved(const sd_config *cfg, const char *path);

#endif
