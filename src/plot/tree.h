/* tree.h: YAML read into sd_cfg_node trees without a schema, keeping file:line:col of every node.
 *
 * The plot layer reads config.resolved.yaml of runs made by any version (whose keys a current schema may
 * not know) and the YAML panel specs typed on the command line, through the config module's reader
 * (dotted keys arrive nested as maps; sd_tree_at() accepts both forms). */
#ifndef SADDLE_PLOT_TREE_H
#define SADDLE_PLOT_TREE_H

#include <stddef.h>

#include "saddle/config.h"
#include "saddle/error.h"

typedef struct {
  sd_config *cfg;            /* owns the nodes */
  const sd_cfg_node *root;   /* the document, a mapping */
} sd_tree;

/* Parses a file (SD_ERR_IO if it cannot be opened, SD_ERR_CONFIG on YAML syntax errors). *out: free with
 * sd_tree_free. */
sd_status sd_tree_load_file(const char *path, sd_tree **out);
/* Same for a string; name is used in messages. */
sd_status sd_tree_load_string(const char *name, const char *yaml, sd_tree **out);
void sd_tree_free(sd_tree **t);

/* Node at a dotted path below a map, whether the YAML nested the maps or wrote dotted keys. NULL if absent. */
const sd_cfg_node *sd_tree_at(const sd_cfg_node *map, const char *path);

/* Calls fn(key, value, ctx) for each scalar below a map, with its dotted path; a sequence of scalars
 * is passed as one value "[a, b, c]"; sequences of maps (claims, phases, figures) are skipped. Stops and
 * returns the first non-OK status of fn. */
sd_status sd_tree_flatten(const sd_cfg_node *map, sd_status (*fn)(const char *key, const char *value, void *ctx),
                          void *ctx);

#endif
