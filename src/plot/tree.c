/* tree.c: YAML into sd_cfg_node trees with locations, without a schema (see tree.h). */
#include "plot/tree.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdio.h>
#include <string.h>

#include "saddle/alloc.h"

static void node_free(sd_cfg_node *n) {
  if (!n) return;
  for (size_t i = 0; i < n->n_kids; i++) node_free(n->kids[i]);
  sd_free(n->kids);
  sd_free(n->key);
  sd_free(n->value);
  sd_free(n);
}

void sd_tree_free(sd_tree **pt) {
  if (!pt || !*pt) return;
  node_free((*pt)->root);
  sd_free((*pt)->name);
  sd_free(*pt);
  *pt = NULL;
}

static int node_add(sd_cfg_node *parent, sd_cfg_node *kid) {
  sd_cfg_node **k = sd_realloc(parent->kids, (parent->n_kids + 1) * sizeof *k);
  if (!k) return -1;
  parent->kids = k;
  parent->kids[parent->n_kids++] = kid;
  return 0;
}

static char *dup_len(const char *s, size_t len) {
  char *d = sd_malloc(len + 1);
  if (!d) return NULL;
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

typedef struct {
  sd_tree *t;
  sd_cfg_node *stack[64];
  int depth;
  char *pending_key; /* a key read in the map on top, waiting for its value */
  int key_line, key_col;
} builder;

/* Adds a finished node to the container on top of the stack (or makes it the root). */
static sd_status place(builder *b, sd_cfg_node *n) {
  if (b->depth == 0) {
    if (b->t->root) {
      node_free(n);
      return sd_error(SD_ERR_CONFIG, "%s: only one YAML document is allowed", b->t->name);
    }
    b->t->root = n;
    return SD_OK;
  }
  sd_cfg_node *top = b->stack[b->depth - 1];
  if (top->kind == SD_NODE_MAP) {
    n->key = b->pending_key;
    n->key_line = b->key_line;
    n->key_col = b->key_col;
    b->pending_key = NULL;
  }
  if (node_add(top, n) != 0) {
    node_free(n);
    return sd_error(SD_ERR_NOMEM, "out of memory reading %s", b->t->name);
  }
  return SD_OK;
}

static sd_status build(builder *b, struct fy_parser *fyp, struct fy_diag *diag) {
  struct fy_event *ev;
  sd_status rc = SD_OK;
  while (rc == SD_OK && (ev = fy_parser_parse(fyp)) != NULL) {
    const struct fy_mark *mk = fy_event_start_mark(ev);
    int line = mk ? mk->line + 1 : 0, col = mk ? mk->column + 1 : 0;
    sd_cfg_node *top = b->depth ? b->stack[b->depth - 1] : NULL;
    int expecting_key = top && top->kind == SD_NODE_MAP && !b->pending_key;
    switch (ev->type) {
      case FYET_SCALAR: {
        size_t len = 0;
        const char *txt = fy_token_get_text(ev->scalar.value, &len);
        if (!txt) txt = "", len = 0;
        if (expecting_key) {
          b->pending_key = dup_len(txt, len);
          b->key_line = line;
          b->key_col = col;
          if (!b->pending_key) rc = sd_error(SD_ERR_NOMEM, "out of memory");
          break;
        }
        sd_cfg_node *n = sd_calloc(1, sizeof *n);
        if (n) n->value = dup_len(txt, len);
        if (!n || !n->value) {
          node_free(n);
          rc = sd_error(SD_ERR_NOMEM, "out of memory");
          break;
        }
        n->kind = SD_NODE_SCALAR;
        n->file = b->t->name;
        n->line = line;
        n->col = col;
        rc = place(b, n);
        break;
      }
      case FYET_MAPPING_START:
      case FYET_SEQUENCE_START: {
        if (expecting_key) {
          rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: keys must be plain scalars", b->t->name, line, col);
          break;
        }
        if (b->depth == 64) {
          rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: nesting too deep", b->t->name, line, col);
          break;
        }
        sd_cfg_node *n = sd_calloc(1, sizeof *n);
        if (!n) {
          rc = sd_error(SD_ERR_NOMEM, "out of memory");
          break;
        }
        n->kind = ev->type == FYET_MAPPING_START ? SD_NODE_MAP : SD_NODE_SEQ;
        n->file = b->t->name;
        n->line = line;
        n->col = col;
        rc = place(b, n);
        if (rc == SD_OK) b->stack[b->depth++] = n;
        break;
      }
      case FYET_MAPPING_END:
      case FYET_SEQUENCE_END:
        if (b->depth > 0) b->depth--;
        break;
      case FYET_ALIAS:
        rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: YAML aliases are not supported", b->t->name, line, col);
        break;
      default:
        break;
    }
    fy_parser_event_free(fyp, ev);
  }
  if (rc == SD_OK && fy_parser_get_stream_error(fyp)) {
    void *it = NULL;
    struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
    if (e) rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: YAML syntax error: %s", b->t->name, e->line + 1, e->column + 1, e->msg);
    else rc = sd_error(SD_ERR_CONFIG, "%s: YAML syntax error", b->t->name);
  }
  return rc;
}

static sd_status load(const char *name, const char *path, const char *text, sd_tree **out) {
  *out = NULL;
  sd_tree *t = sd_calloc(1, sizeof *t);
  if (t) t->name = sd_strdup(name);
  if (!t || !t->name) {
    sd_free(t);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  struct fy_diag_cfg dcfg;
  fy_diag_cfg_default(&dcfg);
  dcfg.fp = NULL;
  dcfg.colorize = false;
  struct fy_diag *diag = fy_diag_create(&dcfg);
  struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET, .diag = diag};
  struct fy_parser *fyp = diag ? fy_parser_create(&pcfg) : NULL;
  sd_status rc = SD_OK;
  builder b = {.t = t};
  if (!fyp) {
    rc = sd_error(SD_ERR_NOMEM, "cannot create a YAML parser");
  } else {
    fy_diag_set_collect_errors(diag, true);
    int bad = path ? fy_parser_set_input_file(fyp, path) : fy_parser_set_string(fyp, text, strlen(text));
    if (bad) rc = sd_error(SD_ERR_IO, "%s: cannot read it", name);
    else rc = build(&b, fyp, diag);
  }
  sd_free(b.pending_key);
  if (fyp) fy_parser_destroy(fyp);
  if (diag) fy_diag_destroy(diag);
  if (rc == SD_OK && !t->root) {
    t->root = sd_calloc(1, sizeof *t->root); /* an empty document: an empty map */
    if (!t->root) rc = sd_error(SD_ERR_NOMEM, "out of memory");
    else t->root->kind = SD_NODE_MAP, t->root->file = t->name, t->root->line = t->root->col = 1;
  }
  if (rc != SD_OK) sd_tree_free(&t);
  *out = t;
  return rc;
}

sd_status sd_tree_load_file(const char *path, sd_tree **out) {
  FILE *f = fopen(path, "r");
  if (!f) {
    *out = NULL;
    return sd_error(SD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  }
  fclose(f);
  return load(path, path, NULL, out);
}

sd_status sd_tree_load_string(const char *name, const char *yaml, sd_tree **out) {
  return load(name, NULL, yaml, out);
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
