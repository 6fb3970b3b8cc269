/* tree.c: YAML into sd_cfg_node trees with locations, without a schema (see tree.h). */
#include "plot/tree.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "saddle/alloc.h"

/* The YAML itself is read by the config module (libfyaml events, locations kept, dotted keys nested as maps);
 * here only without a schema. */
void sd_tree_free(sd_tree **pt) {
  sd_tree *t = *pt;
  if (!t) return;
  sd_config_free(&t->cfg);
  sd_free(t);
  *pt = NULL;
}

static sd_status wrap(sd_status rc, sd_config *cfg, sd_tree **out) {
  if (rc != SD_OK) return rc;
  sd_tree *t = sd_calloc(1, sizeof *t);
  if (!t) {
    sd_config_free(&cfg);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  t->cfg = cfg;
  t->root = sd_config_root(cfg);
  *out = t;
  return SD_OK;
}

sd_status sd_tree_load_file(const char *path, sd_tree **out) {
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (!f) return sd_error(SD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  fclose(f);
  sd_config *cfg = NULL;
  sd_status rc = sd_config_load(path, &cfg);
  return wrap(rc, cfg, out);
}

sd_status sd_tree_load_string(const char *name, const char *yaml, sd_tree **out) {
  *out = NULL;
  sd_config *cfg = NULL;
  sd_status rc = sd_config_load_string(name, yaml, &cfg);
  return wrap(rc, cfg, out);
}

const sd_cfg_node *sd_tree_at(const sd_cfg_node *map, const char *path) {
  if (!map || map->kind != SD_NODE_MAP) return NULL;
  for (size_t i = 0; i < map->n_kids; i++) {
    const sd_cfg_node *k = map->kids[i];
    size_t len = strlen(k->key);
    if (strncmp(path, k->key, len) != 0) continue;
    if (path[len] == '\0') return k;
    if (path[len] == '.') {
      const sd_cfg_node *r = sd_tree_at(k, path + len + 1);
      if (r) return r;
    }
  }
  return NULL;
}

static sd_status flatten(const sd_cfg_node *n, char *key, size_t len, size_t cap,
                         sd_status (*fn)(const char *, const char *, void *), void *ctx) {
  if (n->kind == SD_NODE_SCALAR) return fn(key, n->value, ctx);
  if (n->kind == SD_NODE_SEQ) {
    char buf[1024];
    size_t at = 0;
    buf[at++] = '[';
    for (size_t i = 0; i < n->n_kids; i++) {
      if (n->kids[i]->kind != SD_NODE_SCALAR) return SD_OK; /* a list of maps: not a setting */
      int w = snprintf(buf + at, sizeof buf - at, "%s%s", i ? ", " : "", n->kids[i]->value);
      if (w < 0 || (size_t)w >= sizeof buf - at) return SD_OK;
      at += (size_t)w;
    }
    if (at + 2 > sizeof buf) return SD_OK;
    buf[at++] = ']';
    buf[at] = '\0';
    return fn(key, buf, ctx);
  }
  for (size_t i = 0; i < n->n_kids; i++) {
    const sd_cfg_node *k = n->kids[i];
    size_t kl = strlen(k->key);
    if (len + kl + 2 > cap) continue;
    size_t at = len;
    if (len) key[at++] = '.';
    memcpy(key + at, k->key, kl + 1);
    SD_TRY(flatten(k, key, at + kl, cap, fn, ctx));
    key[len] = '\0';
  }
  return SD_OK;
}

sd_status sd_tree_flatten(const sd_cfg_node *map, sd_status (*fn)(const char *key, const char *value, void *ctx),
                          void *ctx) {
  char key[512] = "";
  if (!map || map->kind != SD_NODE_MAP) return SD_OK;
  return flatten(map, key, 0, sizeof key, fn, ctx);
}
