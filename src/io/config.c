/* config.c: YAML configs with locations, overrides, schema checks and defaults (see config.h). */
#include "saddle/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "saddle/alloc.h"
#include "saddle/atomicfile.h"

#define MAX_SCHEMAS 32
#define MAX_CONFIG_BYTES (16u << 20) /* far above any config; keeps a mistaken huge file out of memory */

typedef struct {
  const sd_param *param;
  char *key;           /* prefix + param->key */
  const char *value;   /* resolved text: the node's value or the default */
  const sd_cfg_node *node; /* where it was given; NULL for a default */
  int inactive;            /* valid key that this config does not use */
} entry;

struct sd_config {
  char *name;       /* file name as given */
  char *dir;        /* its directory */
  char *cmdline;    /* the string "command line", owned here so nodes can point at it */
  sd_cfg_node *root;
  struct { const char *prefix; const sd_param *table; size_t n; int inactive; } schemas[MAX_SCHEMAS];
  size_t n_schemas;
  entry *entries;
  size_t n_entries;
};

/* ---------------------------------------------------------------- nodes */

static sd_cfg_node *node_new(sd_node_kind kind, const char *file, int line, int col) {
  sd_cfg_node *n = sd_calloc(1, sizeof *n);
  if (!n) return NULL;
  n->kind = kind;
  n->file = file;
  n->line = line;
  n->col = col;
  return n;
}

static void node_free(sd_cfg_node *n) {
  if (!n) return;
  for (size_t i = 0; i < n->n_kids; i++) node_free(n->kids[i]);
  sd_free(n->kids);
  sd_free(n->key);
  sd_free(n->value);
  sd_free(n);
}

static int node_add(sd_cfg_node *parent, sd_cfg_node *kid) {
  sd_cfg_node **k = sd_realloc(parent->kids, (parent->n_kids + 1) * sizeof *k);
  if (!k) return -1;
  parent->kids = k;
  parent->kids[parent->n_kids++] = kid;
  return 0;
}

const sd_cfg_node *sd_cfg_child(const sd_cfg_node *map, const char *key) {
  if (!map || map->kind != SD_NODE_MAP) return NULL;
  for (size_t i = 0; i < map->n_kids; i++)
    if (strcmp(map->kids[i]->key, key) == 0) return map->kids[i];
  return NULL;
}

/* Finds the node at a dotted path; with create, makes missing maps on the way (for overrides), placed at
 * file:line:col (0, 0 for the command line). */
static sd_cfg_node *node_at(sd_cfg_node *root, const char *path, int create, const char *file, int line, int col) {
  sd_cfg_node *cur = root;
  const char *p = path;
  while (cur) {
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    sd_cfg_node *next = NULL;
    if (cur->kind != SD_NODE_MAP) return NULL;
    for (size_t i = 0; i < cur->n_kids; i++)
      if (strlen(cur->kids[i]->key) == len && strncmp(cur->kids[i]->key, p, len) == 0) next = cur->kids[i];
    if (!next) {
      if (!create) return NULL;
      next = node_new(dot ? SD_NODE_MAP : SD_NODE_SCALAR, file, line, col);
      if (!next) return NULL;
      next->key_line = line;
      next->key_col = col;
      next->key = sd_malloc(len + 1);
      if (!next->key || node_add(cur, next) != 0) {
        node_free(next);
        return NULL;
      }
      memcpy(next->key, p, len);
      next->key[len] = '\0';
    }
    if (!dot) return next;
    cur = next;
    p = dot + 1;
  }
  return NULL;
}

/* ---------------------------------------------------------------- parsing */

static sd_config *config_new(const char *name) {
  sd_config *cfg = sd_calloc(1, sizeof *cfg);
  if (!cfg) return NULL;
  cfg->name = sd_strdup(name);
  cfg->cmdline = sd_strdup("command line");
  const char *slash = strrchr(name, '/');
  if (slash) {
    size_t n = (size_t)(slash - name);
    cfg->dir = sd_malloc(n + 2);
    if (cfg->dir) {
      memcpy(cfg->dir, name, n ? n : 1);
      cfg->dir[n ? n : 1] = '\0';
    }
  } else {
    cfg->dir = sd_strdup(".");
  }
  cfg->root = node_new(SD_NODE_MAP, cfg->name, 1, 1);
  if (!cfg->name || !cfg->cmdline || !cfg->dir || !cfg->root) sd_config_free(&cfg);
  return cfg;
}

typedef struct {
  sd_config *cfg;
  sd_cfg_node *stack[64];
  char flow[64];          /* '[' or '{' where stack[i] is a flow collection, else 0 */
  int flow_line[64], flow_col[64]; /* of that bracket */
  int depth;
  char *pending_key;      /* key read in the current map, waiting for its value */
  int key_line, key_col;
} builder;

/* The line a node was first given on: its key's (a section's mapping starts on the line after). */
static int given_line(const sd_cfg_node *n) { return n->key_line ? n->key_line : n->line; }

/* Places a finished value node into the container on top of the stack. */
static sd_status place(builder *b, sd_cfg_node *n) {
  sd_cfg_node *top = b->stack[b->depth - 1];
  if (top->kind == SD_NODE_SEQ) {
    if (node_add(top, n) != 0) goto nomem;
    return SD_OK;
  }
  /* map: dotted keys in the file nest like maps */
  char *key = b->pending_key;
  b->pending_key = NULL;
  sd_cfg_node *parent = top;
  char *p = key;
  char *dot;
  while ((dot = strchr(p, '.')) != NULL) {
    *dot = '\0';
    sd_cfg_node *m = (sd_cfg_node *)sd_cfg_child(parent, p);
    if (!m) {
      m = node_new(SD_NODE_MAP, b->cfg->name, b->key_line, b->key_col);
      if (m) m->key_line = b->key_line, m->key_col = b->key_col;
      if (!m || !(m->key = sd_strdup(p)) || node_add(parent, m) != 0) {
        node_free(m);
        sd_free(key);
        goto nomem;
      }
    } else if (m->kind != SD_NODE_MAP) {
      sd_status rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: %s: '%s' already has a value at line %d", b->cfg->name,
                              b->key_line, b->key_col, key, p, given_line(m));
      sd_free(key);
      node_free(n);
      return rc;
    }
    *dot = '.';
    parent = m;
    p = dot + 1;
  }
  if (sd_cfg_child(parent, p)) {
    sd_status rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: %s: duplicate key (first given at line %d)", b->cfg->name,
                            b->key_line, b->key_col, key, given_line(sd_cfg_child(parent, p)));
    sd_free(key);
    node_free(n);
    return rc;
  }
  n->key = sd_strdup(p);
  n->key_line = b->key_line;
  n->key_col = b->key_col;
  sd_free(key);
  if (!n->key || node_add(parent, n) != 0) goto nomem;
  return SD_OK;
nomem:
  node_free(n);
  return sd_error(SD_ERR_NOMEM, "out of memory reading %s", b->cfg->name);
}

static sd_status parse_events(sd_config *cfg, struct fy_parser *fyp, struct fy_diag *diag) {
  builder b = {.cfg = cfg, .depth = 0};
  struct fy_event *ev;
  sd_status rc = SD_OK;
  int docs = 0;
  while (rc == SD_OK && (ev = fy_parser_parse(fyp)) != NULL) {
    const struct fy_mark *mk = fy_event_start_mark(ev);
    int line = mk ? mk->line + 1 : 0, col = mk ? mk->column + 1 : 0;
    sd_cfg_node *top = b.depth ? b.stack[b.depth - 1] : NULL;
    int expecting_key = top && top->kind == SD_NODE_MAP && !b.pending_key;
    switch (ev->type) {
      case FYET_DOCUMENT_START:
        if (++docs > 1) rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: only one YAML document is allowed", cfg->name, line, col);
        break;
      case FYET_SCALAR: {
        size_t len;
        const char *txt = fy_token_get_text(ev->scalar.value, &len);
        if (!txt) txt = "", len = 0;
        if (!top) {
          rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: the config must be a mapping of keys to values", cfg->name, line, col);
          break;
        }
        if (expecting_key) {
          b.pending_key = sd_malloc(len + 1);
          if (!b.pending_key) { rc = sd_error(SD_ERR_NOMEM, "out of memory"); break; }
          memcpy(b.pending_key, txt, len);
          b.pending_key[len] = '\0';
          b.key_line = line;
          b.key_col = col;
          if (len == 0) rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: empty key", cfg->name, line, col);
          break;
        }
        sd_cfg_node *n = node_new(SD_NODE_SCALAR, cfg->name, line, col);
        if (n) n->value = sd_malloc(len + 1);
        if (!n || !n->value) { node_free(n); rc = sd_error(SD_ERR_NOMEM, "out of memory"); break; }
        memcpy(n->value, txt, len);
        n->value[len] = '\0';
        rc = place(&b, n);
        break;
      }
      case FYET_MAPPING_START:
      case FYET_SEQUENCE_START: {
        sd_node_kind kind = ev->type == FYET_MAPPING_START ? SD_NODE_MAP : SD_NODE_SEQ;
        struct fy_token *tk = fy_event_get_token(ev);
        enum fy_token_type tt = tk ? fy_token_get_type(tk) : FYTT_NONE;
        if (b.depth < 64) {
          b.flow[b.depth] = tt == FYTT_FLOW_SEQUENCE_START ? '[' : tt == FYTT_FLOW_MAPPING_START ? '{' : 0;
          b.flow_line[b.depth] = line;
          b.flow_col[b.depth] = col;
        }
        if (!top) {
          if (kind != SD_NODE_MAP) {
            rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: the config must be a mapping of keys to values", cfg->name, line, col);
            break;
          }
          b.stack[b.depth++] = cfg->root;
          break;
        }
        if (expecting_key) {
          rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: keys must be plain scalars", cfg->name, line, col);
          break;
        }
        if (b.depth == 64) { rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: nesting too deep", cfg->name, line, col); break; }
        sd_cfg_node *n = node_new(kind, cfg->name, line, col);
        if (!n) { rc = sd_error(SD_ERR_NOMEM, "out of memory"); break; }
        if (top->kind == SD_NODE_MAP) {
          /* place() may nest dotted keys: find where the node landed */
          rc = place(&b, n);
          if (rc != SD_OK) break;
        } else if (node_add(top, n) != 0) {
          node_free(n);
          rc = sd_error(SD_ERR_NOMEM, "out of memory");
          break;
        }
        b.stack[b.depth++] = n;
        break;
      }
      case FYET_MAPPING_END:
      case FYET_SEQUENCE_END:
        b.depth--;
        break;
      case FYET_ALIAS:
        rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: YAML aliases are not supported in configs", cfg->name, line, col);
        break;
      default:
        break;
    }
    fy_parser_event_free(fyp, ev);
  }
  sd_free(b.pending_key);
  if (rc == SD_OK && fy_parser_get_stream_error(fyp)) {
    void *it = NULL;
    struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
    int f = b.depth - 1;
    while (f >= 0 && !b.flow[f]) f--;
    if (!e) {
      rc = sd_error(SD_ERR_CONFIG, "%s: YAML syntax error", cfg->name);
    } else if (f >= 0 && b.flow_line[f] < e->line) {
      /* inside a flow collection opened on an earlier line, libfyaml only notices a missing ']' or '}' where
       * the lines after it stop making sense (often the end of the file): point at the bracket */
      char key[256] = "";
      size_t len = 0;
      for (int i = 1; i <= f; i++)
        if (b.stack[i]->key && len < sizeof key)
          len += (size_t)snprintf(key + len, sizeof key - len, "%s%s", len ? "." : "", b.stack[i]->key);
      char found[96] = "";
      if (!strstr(e->msg, "without a closing")) /* that one is always at the end of the file */
        snprintf(found, sizeof found, " (at line %d, column %d; is a '%c' missing?)", e->line, e->column,
                 b.flow[f] == '[' ? ']' : '}');
      rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: %s%sYAML syntax error in the flow %s opened here: %s%s", cfg->name,
                    b.flow_line[f], b.flow_col[f], key, *key ? ": " : "", b.flow[f] == '[' ? "sequence" : "mapping",
                    e->msg, found);
    } else {
      /* collected errors are 1-based already */
      rc = sd_error(SD_ERR_CONFIG, "%s:%d:%d: YAML syntax error: %s", cfg->name, e->line, e->column, e->msg);
    }
  }
  return rc;
}

/* A config is UTF-8 text: a NUL (where libfyaml would stop reading and the run go on with defaults), another
 * control character or a byte that is not UTF-8 means a binary file (an image, a .npy, a UTF-16 file) was
 * given. Names the first such byte with its line and column. */
static sd_status check_text(const char *name, const unsigned char *t, size_t n) {
  int line = 1, col = 1;
  for (size_t i = 0; i < n;) {
    unsigned char c = t[i];
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    int ok = len > 0 && i + len <= n && !(len == 2 && c < 0xc2);
    for (size_t k = 1; ok && k < len; k++) ok = (t[i + k] & 0xc0) == 0x80;
    char what[48] = "";
    if (c == 0) snprintf(what, sizeof what, "a NUL byte");
    else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) snprintf(what, sizeof what, "control byte 0x%02x", c);
    if (*what)
      return sd_error(SD_ERR_CONFIG, "%s:%d:%d: not a YAML text file (binary data: %s at byte offset %zu)", name, line,
                      col, what, i);
    if (!ok)
      return sd_error(SD_ERR_CONFIG,
                      "%s:%d:%d: not a YAML text file (invalid UTF-8 byte 0x%02x at byte offset %zu: binary data, or "
                      "text not saved as UTF-8)", name, line, col, c, i);
    if (c == '\n') line++, col = 1;
    else col++;
    i += len;
  }
  return SD_OK;
}

static sd_status load(const char *name, const char *text, size_t len, sd_config **out) {
  *out = NULL;
  SD_TRY(check_text(name, (const unsigned char *)text, len));
  sd_config *cfg = config_new(name);
  if (!cfg) return sd_error(SD_ERR_NOMEM, "out of memory reading %s", name);
  struct fy_diag_cfg dcfg;
  fy_diag_cfg_default(&dcfg);
  dcfg.fp = NULL;
  dcfg.colorize = false;
  struct fy_diag *diag = fy_diag_create(&dcfg);
  struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET, .diag = diag};
  struct fy_parser *fyp = diag ? fy_parser_create(&pcfg) : NULL;
  sd_status rc = SD_OK;
  if (!fyp) {
    rc = sd_error(SD_ERR_NOMEM, "cannot create a YAML parser");
  } else {
    fy_diag_set_collect_errors(diag, true);
    int bad = fy_parser_set_string(fyp, text, len);
    if (bad) rc = sd_error(SD_ERR_CONFIG, "%s: cannot read the config", name);
    else rc = parse_events(cfg, fyp, diag);
  }
  if (fyp) fy_parser_destroy(fyp);
  if (diag) fy_diag_destroy(diag);
  if (rc != SD_OK) sd_config_free(&cfg);
  *out = cfg;
  return rc;
}

sd_status sd_config_load(const char *path, sd_config **out) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return sd_error(SD_ERR_CONFIG, "%s: cannot open config: %s", path, strerror(errno));
  struct stat st;
  sd_status rc = SD_OK;
  char *text = NULL;
  size_t n = 0;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) { /* fopen opens one, and it reads as empty */
    rc = sd_error(SD_ERR_CONFIG, "%s: is a directory, not a config file", path);
    goto done;
  }
  /* read it whole (at most MAX_CONFIG_BYTES + 1) so that the text check sees every byte the parser would */
  size_t cap = 4096, got;
  text = sd_malloc(cap);
  if (!text) rc = sd_error(SD_ERR_NOMEM, "out of memory reading %s", path);
  while (rc == SD_OK && (got = fread(text + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n < cap) continue;
    if (cap > MAX_CONFIG_BYTES) break;
    cap = 2 * cap > MAX_CONFIG_BYTES ? MAX_CONFIG_BYTES + 1 : 2 * cap;
    char *t = sd_realloc(text, cap);
    if (!t) rc = sd_error(SD_ERR_NOMEM, "out of memory reading %s", path);
    else text = t;
  }
  if (rc == SD_OK && ferror(f)) rc = sd_error(SD_ERR_CONFIG, "%s: cannot read config: %s", path, strerror(errno));
  if (rc == SD_OK && n > MAX_CONFIG_BYTES) {
    /* a binary file says so, a huge text file gets its size */
    rc = check_text(path, (const unsigned char *)text, MAX_CONFIG_BYTES - 4); /* -4: no cut UTF-8 sequence */
    if (rc == SD_OK)
      rc = sd_error(SD_ERR_CONFIG, "%s: more than %u MiB: too large for a config file", path, MAX_CONFIG_BYTES >> 20);
  }
  if (rc == SD_OK) rc = load(path, text, n, out);
done:
  sd_free(text);
  fclose(f);
  return rc;
}

sd_status sd_config_load_string(const char *name, const char *yaml, sd_config **out) {
  return load(name, yaml, strlen(yaml), out);
}

void sd_config_free(sd_config **pcfg) {
  sd_config *cfg = *pcfg;
  if (!cfg) return;
  node_free(cfg->root);
  for (size_t i = 0; i < cfg->n_entries; i++) sd_free(cfg->entries[i].key);
  sd_free(cfg->entries);
  sd_free(cfg->name);
  sd_free(cfg->dir);
  sd_free(cfg->cmdline);
  sd_free(cfg);
  *pcfg = NULL;
}

/* An override from sd_config_override_from starts with this, then key line:col:value line:col and again this. */
#define FROM_MARK '\x01'

char *sd_config_override_from(const char *key, int key_line, int key_col, const sd_cfg_node *value) {
  const char *v = value->kind == SD_NODE_SCALAR ? value->value : "";
  size_t len = strlen(key) + strlen(v) + 64;
  char *s = sd_malloc(len);
  if (s) snprintf(s, len, "%c%d:%d:%d:%d%c%s=%s", FROM_MARK, key_line, key_col, value->line, value->col, FROM_MARK, key, v);
  return s;
}

sd_status sd_config_override(sd_config *cfg, const char *arg) {
  const char *file = cfg->cmdline;
  int kl = 0, kc = 0, vl = 0, vc = 0;
  if (arg[0] == FROM_MARK) { /* written in the config file itself: errors name its places */
    const char *end = strchr(arg + 1, FROM_MARK);
    if (!end || sscanf(arg + 1, "%d:%d:%d:%d", &kl, &kc, &vl, &vc) != 4 || kl <= 0 || vl <= 0)
      return sd_error(SD_ERR_INTERNAL, "malformed override '%s'", arg + 1);
    file = cfg->name;
    arg = end + 1;
  }
  char at[512]; /* where the key is, for the complaints below */
  if (kl) snprintf(at, sizeof at, "%s:%d:%d", file, kl, kc);
  else snprintf(at, sizeof at, "%s", file);
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg)
    return sd_error(SD_ERR_CONFIG, "%s: '%s': expected key.path=value", at, arg);
  size_t klen = (size_t)(eq - arg);
  char *key = sd_malloc(klen + 1);
  if (!key) return sd_error(SD_ERR_NOMEM, "out of memory");
  memcpy(key, arg, klen);
  key[klen] = '\0';
  sd_status rc = SD_OK;
  if (key[0] == '.' || key[klen - 1] == '.' || strstr(key, "..")) {
    rc = sd_error(SD_ERR_CONFIG, "%s: '%s': malformed key '%s'", at, arg, key);
    goto done;
  }
  sd_cfg_node *n = node_at(cfg->root, key, 1, file, kl, kc);
  if (!n) {
    rc = sd_error(SD_ERR_CONFIG, "%s: %s: a parent of this key holds a value, not a mapping", at, key);
    goto done;
  }
  int flat_list = n->kind == SD_NODE_SEQ;
  for (size_t i = 0; flat_list && i < n->n_kids; i++) flat_list = n->kids[i]->kind == SD_NODE_SCALAR;
  if (flat_list) { /* a list of numbers is given on the command line as 1,2,3 */
    for (size_t i = 0; i < n->n_kids; i++) node_free(n->kids[i]);
    sd_free(n->kids);
    n->kids = NULL;
    n->n_kids = 0;
    n->kind = SD_NODE_SCALAR;
  }
  if (n->kind != SD_NODE_SCALAR) {
    rc = sd_error(SD_ERR_CONFIG, "%s: %s: is a %s in the config; only single values can be overridden", at, key,
                  n->kind == SD_NODE_MAP ? "mapping" : "list");
    goto done;
  }
  char *v = sd_strdup(eq + 1);
  if (!v) { rc = sd_error(SD_ERR_NOMEM, "out of memory"); goto done; }
  sd_free(n->value);
  n->value = v;
  n->file = file;
  n->line = vl;
  n->col = vc;
done:
  sd_free(key);
  return rc;
}

const sd_cfg_node *sd_config_raw(const sd_config *cfg, const char *key) { return node_at(cfg->root, key, 0, NULL, 0, 0); }
const sd_cfg_node *sd_config_root(const sd_config *cfg) { return cfg->root; }

const char *sd_config_peek(const sd_config *cfg, const char *key) {
  sd_cfg_node *n = node_at(cfg->root, key, 0, NULL, 0, 0);
  return n && n->kind == SD_NODE_SCALAR ? n->value : NULL;
}

/* ---------------------------------------------------------------- schema */

sd_status sd_config_add_schema(sd_config *cfg, const char *prefix, const sd_param *table, size_t n) {
  if (cfg->n_schemas == MAX_SCHEMAS) return sd_error(SD_ERR_INTERNAL, "too many schema tables");
  cfg->schemas[cfg->n_schemas].prefix = prefix;
  cfg->schemas[cfg->n_schemas].table = table;
  cfg->schemas[cfg->n_schemas].n = n;
  cfg->schemas[cfg->n_schemas].inactive = 0;
  cfg->n_schemas++;
  return SD_OK;
}

sd_status sd_config_add_inactive_schema(sd_config *cfg, const char *prefix, const sd_param *table, size_t n) {
  SD_TRY(sd_config_add_schema(cfg, prefix, table, n));
  cfg->schemas[cfg->n_schemas - 1].inactive = 1;
  return SD_OK;
}

static size_t levenshtein(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 64;
  size_t prev[64], cur[64];
  for (size_t j = 0; j <= lb; j++) prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
      size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, (lb + 1) * sizeof *prev);
  }
  return prev[lb];
}

static const char *where(const sd_config *cfg, const sd_cfg_node *n, char *buf, size_t len) {
  if (!n) snprintf(buf, len, "%s: (default)", cfg->name);
  else if (n->line == 0) snprintf(buf, len, "%s", n->file);
  else snprintf(buf, len, "%s:%d:%d", n->file, n->line, n->col);
  return buf;
}

/* Location of a node's key (for "unknown key" complaints). */
static const char *where_key(const sd_config *cfg, const sd_cfg_node *n, char *buf, size_t len) {
  if (n->line == 0 || n->key_line == 0) return where(cfg, n, buf, len);
  snprintf(buf, len, "%s:%d:%d", n->file, n->key_line, n->key_col);
  return buf;
}

static entry *find_entry(const sd_config *cfg, const char *key) {
  for (size_t i = 0; i < cfg->n_entries; i++)
    if (strcmp(cfg->entries[i].key, key) == 0) return &cfg->entries[i];
  return NULL;
}

static int choice_ok(const char *choices, const char *v) {
  size_t n = strlen(v);
  const char *p = choices;
  while (*p) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && strncmp(p, v, n) == 0) return 1;
    if (!bar) break;
    p = bar + 1;
  }
  return 0;
}

static int parse_bool(const char *v, int *out) {
  if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on")) return *out = 1, 1;
  if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off")) return *out = 0, 1;
  return 0;
}

static int parse_int(const char *v, long long *out) {
  char *end;
  errno = 0;
  double d;
  long long x = strtoll(v, &end, 10);
  if (*v && *end == '\0' && errno == 0) return *out = x, 1;
  /* accept 1e5 and 3000.0 when the value is an exact integer */
  d = strtod(v, &end);
  if (*v && *end == '\0' && isfinite(d) && d == floor(d) && fabs(d) < 9e15) return *out = (long long)d, 1;
  return 0;
}

static int parse_real(const char *v, double *out) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (!*v || *end != '\0' || !isfinite(d)) return 0;
  *out = d;
  return 1;
}

/* Calls fn on each number of an SD_T_REALS value (a YAML list node, or a comma-separated string). Returns
 * the count, or -1 (with *bad set to the offending text) when one is not a number. */
static long each_real(const entry *e, double *out, size_t max, const char **bad) {
  static _Thread_local char item[128];
  long n = 0;
  if (e->node && e->node->kind == SD_NODE_SEQ) {
    for (size_t i = 0; i < e->node->n_kids; i++) {
      const sd_cfg_node *k = e->node->kids[i];
      double x;
      if (k->kind != SD_NODE_SCALAR || !parse_real(k->value, &x)) {
        *bad = k->kind == SD_NODE_SCALAR ? k->value : "(not a number)";
        return -1;
      }
      if (out && (size_t)n < max) out[n] = x;
      n++;
    }
    return n;
  }
  const char *p = e->value ? e->value : "";
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    while (len && *p == ' ') p++, len--;
    while (len && p[len - 1] == ' ') len--;
    if (len >= sizeof item) len = sizeof item - 1;
    memcpy(item, p, len);
    item[len] = '\0';
    double x;
    if (!parse_real(item, &x)) {
      *bad = item;
      return -1;
    }
    if (out && (size_t)n < max) out[n] = x;
    n++;
    if (!comma) break;
    p = comma + 1;
  }
  return n;
}

static sd_status check_value(const sd_config *cfg, const entry *e) {
  const sd_param *p = e->param;
  const char *v = e->value;
  double x;
  long long ix;
  int b;
  switch (p->type) {
    case SD_T_REALS: {
      const char *bad = NULL;
      long n = each_real(e, NULL, 0, &bad);
      if (n < 0) return sd_config_fail(cfg, e->key, "expected a list of real numbers, but '%s' is not one", bad);
      if (n == 0) return sd_config_fail(cfg, e->key, "expected a non-empty list of real numbers");
      double *xs = sd_malloc((size_t)n * sizeof *xs);
      if (!xs) return sd_error(SD_ERR_NOMEM, "out of memory");
      each_real(e, xs, (size_t)n, &bad);
      for (long i = 0; i < n; i++)
        if (p->min <= p->max && (xs[i] < p->min || xs[i] > p->max)) {
          double bx = xs[i];
          sd_free(xs);
          return sd_config_fail(cfg, e->key, "%g is out of range [%g, %g]", bx, p->min, p->max);
        }
      sd_free(xs);
      return SD_OK;
    }
    case SD_T_INT:
      if (!parse_int(v, &ix)) return sd_config_fail(cfg, e->key, "expected an integer, got '%s'", v);
      x = (double)ix;
      goto bounds;
    case SD_T_REAL:
      if (!parse_real(v, &x)) return sd_config_fail(cfg, e->key, "expected a finite real number, got '%s'", v);
    bounds:
      if (p->min <= p->max && (x < p->min || x > p->max)) {
        /* a bound of 1e300 stands for "no upper bound" in the tables: say which side was crossed */
        if (x < p->min) return sd_config_fail(cfg, e->key, "%s is out of range: must be >= %g", v, p->min);
        if (p->max >= 1e300) return sd_config_fail(cfg, e->key, "%s is out of range: must be <= %g", v, p->max);
        return sd_config_fail(cfg, e->key, "%s is out of range [%g, %g]", v, p->min, p->max);
      }
      return SD_OK;
    case SD_T_BOOL:
      if (!parse_bool(v, &b)) return sd_config_fail(cfg, e->key, "expected true or false, got '%s'", v);
      return SD_OK;
    case SD_T_ENUM:
      if (!choice_ok(p->choices, v)) return sd_config_fail(cfg, e->key, "'%s' is not one of %s", v, p->choices);
      return SD_OK;
    case SD_T_STRING:
    case SD_T_PATH:
    case SD_T_LIST:
      return SD_OK;
  }
  return SD_OK;
}

/* Walks the given tree; every scalar (and every list) must be a schema key. */
static sd_status check_known(sd_config *cfg, const sd_cfg_node *n, char *path, size_t len) {
  for (size_t i = 0; i < n->n_kids; i++) {
    const sd_cfg_node *k = n->kids[i];
    size_t l = strlen(k->key);
    if (len + l + 2 > 256) return sd_error(SD_ERR_CONFIG, "%s:%d: key path too long", k->file, k->line);
    if (len) path[len] = '.';
    memcpy(path + len + (len ? 1 : 0), k->key, l + 1);
    size_t plen = len + (len ? 1 : 0) + l;
    entry *e = find_entry(cfg, path);
    char buf[512];
    if (k->kind == SD_NODE_MAP && !e) {
      SD_TRY(check_known(cfg, k, path, plen));
    } else if (!e) {
      for (size_t j = 0; j < cfg->n_entries; j++)
        if (!strncmp(cfg->entries[j].key, path, plen) && cfg->entries[j].key[plen] == '.')
          return sd_error(SD_ERR_CONFIG, "%s: %s: is a section; expected a mapping of its keys (e.g. %s: ...)",
                          where_key(cfg, k, buf, sizeof buf), path, cfg->entries[j].key);
      const char *best = NULL;
      size_t bd = (size_t)-1;
      for (size_t j = 0; j < cfg->n_entries; j++) {
        size_t d = levenshtein(path, cfg->entries[j].key);
        /* also compare the last component alone, so "rnak" under problem. finds problem.rank */
        const char *dot = strrchr(cfg->entries[j].key, '.');
        const char *mine = strrchr(path, '.');
        if (dot && mine) {
          size_t d2 = levenshtein(mine, dot) + (strncmp(path, cfg->entries[j].key, (size_t)(mine - path)) != 0) * 3;
          if (d2 < d) d = d2;
        }
        if (d < bd) bd = d, best = cfg->entries[j].key;
      }
      size_t lim = strlen(path) / 3 > 2 ? strlen(path) / 3 : 2;
      if (best && bd <= lim)
        return sd_error(SD_ERR_CONFIG, "%s: %s: unknown key (did you mean '%s'?)", where_key(cfg, k, buf, sizeof buf), path, best);
      return sd_error(SD_ERR_CONFIG, "%s: %s: unknown key (see `saddle run --help` for the keys of this problem)",
                      where_key(cfg, k, buf, sizeof buf), path);
    } else if (e->param->type == SD_T_REALS && k->kind != SD_NODE_MAP) {
      e->node = k;
      e->value = k->kind == SD_NODE_SCALAR ? k->value : "";
    } else if (e->param->type == SD_T_LIST) {
      if (k->kind != SD_NODE_SEQ)
        return sd_error(SD_ERR_CONFIG, "%s: %s: expected a list", where(cfg, k, buf, sizeof buf), path);
      e->node = k;
    } else {
      if (k->kind != SD_NODE_SCALAR)
        return sd_error(SD_ERR_CONFIG, "%s: %s: expected a single value, got a %s", where(cfg, k, buf, sizeof buf), path,
                        k->kind == SD_NODE_MAP ? "mapping" : "list");
      e->node = k;
      e->value = k->value;
    }
  }
  return SD_OK;
}

sd_status sd_config_resolve(sd_config *cfg) {
  size_t total = 0;
  for (size_t s = 0; s < cfg->n_schemas; s++) total += cfg->schemas[s].n;
  for (size_t i = 0; i < cfg->n_entries; i++) sd_free(cfg->entries[i].key);
  sd_free(cfg->entries);
  cfg->n_entries = 0;
  cfg->entries = sd_calloc(total, sizeof *cfg->entries);
  if (!cfg->entries) return sd_error(SD_ERR_NOMEM, "out of memory");
  for (size_t s = 0; s < cfg->n_schemas; s++) {
    for (size_t i = 0; i < cfg->schemas[s].n; i++) {
      const sd_param *p = &cfg->schemas[s].table[i];
      size_t lp = strlen(cfg->schemas[s].prefix), lk = strlen(p->key);
      char *key = sd_malloc(lp + lk + 1);
      if (!key) return sd_error(SD_ERR_NOMEM, "out of memory");
      memcpy(key, cfg->schemas[s].prefix, lp);
      memcpy(key + lp, p->key, lk + 1);
      if (find_entry(cfg, key)) {
        if (cfg->schemas[s].inactive) { /* an unused kind's key that the active one also has */
          sd_free(key);
          continue;
        }
        sd_status rc = sd_error(SD_ERR_INTERNAL, "schema key %s defined twice", key);
        sd_free(key);
        return rc;
      }
      cfg->entries[cfg->n_entries++] =
          (entry){.param = p, .key = key, .value = p->def, .node = NULL, .inactive = cfg->schemas[s].inactive};
    }
  }
  char path[256] = "";
  SD_TRY(check_known(cfg, cfg->root, path, 0));
  for (size_t i = 0; i < cfg->n_entries; i++) {
    entry *e = &cfg->entries[i];
    if (e->param->type == SD_T_LIST) continue;
    if (!e->value)
      return sd_error(SD_ERR_CONFIG, "%s: %s: required key is missing (%s)", cfg->name, e->key, e->param->help);
    SD_TRY(check_value(cfg, e));
  }
  return SD_OK;
}

/* ---------------------------------------------------------------- getters */

static const entry *get(const sd_config *cfg, const char *key) {
  const entry *e = find_entry(cfg, key);
  if (!e) {
    fprintf(stderr, "saddle: internal error: config key %s read but not in the schema\n", key);
    abort();
  }
  return e;
}

long long sd_config_int(const sd_config *cfg, const char *key) {
  long long x = 0;
  int ok = parse_int(get(cfg, key)->value, &x);
  assert(ok);
  (void)ok;
  return x;
}

double sd_config_real(const sd_config *cfg, const char *key) {
  double x = 0;
  int ok = parse_real(get(cfg, key)->value, &x);
  assert(ok);
  (void)ok;
  return x;
}

int sd_config_bool(const sd_config *cfg, const char *key) {
  int b = 0;
  parse_bool(get(cfg, key)->value, &b);
  return b;
}

const char *sd_config_str(const sd_config *cfg, const char *key) { return get(cfg, key)->value; }

const sd_cfg_node *sd_config_list(const sd_config *cfg, const char *key) { return get(cfg, key)->node; }

size_t sd_config_reals(const sd_config *cfg, const char *key, double *out, size_t max) {
  const char *bad;
  long n = each_real(get(cfg, key), out, max, &bad);
  return n < 0 ? 0 : (size_t)n;
}

const char *sd_config_dir(const sd_config *cfg) { return cfg->dir; }

char *sd_config_path(const sd_config *cfg, const char *key) {
  const entry *e = get(cfg, key);
  if (!e->value || !*e->value) return NULL;
  const char *v = e->value;
  /* relative to the config file, except values typed on the command line, which are relative to the cwd */
  int rel_cfg = v[0] != '/' && !(e->node && e->node->line == 0);
  size_t n = strlen(cfg->dir) + strlen(v) + 2;
  char *out = sd_malloc(n);
  if (!out) return NULL;
  if (rel_cfg) snprintf(out, n, "%s/%s", cfg->dir, v);
  else snprintf(out, n, "%s", v);
  return out;
}

static sd_status vfail(const sd_config *cfg, const sd_cfg_node *n, const char *key, const char *fmt, va_list ap) {
  char msg[1024], buf[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  return sd_error(SD_ERR_CONFIG, "%s: %s: %s", where(cfg, n, buf, sizeof buf), key, msg);
}

sd_status sd_config_fail(const sd_config *cfg, const char *key, const char *fmt, ...) {
  const entry *e = find_entry(cfg, key);
  const sd_cfg_node *n = e ? e->node : node_at(cfg->root, key, 0, NULL, 0, 0); /* before resolve: from the tree */
  va_list ap;
  va_start(ap, fmt);
  sd_status rc = vfail(cfg, n, key, fmt, ap);
  va_end(ap);
  return rc;
}

sd_status sd_config_fail_node(const sd_config *cfg, const sd_cfg_node *node, const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sd_status rc = vfail(cfg, node, key, fmt, ap);
  va_end(ap);
  return rc;
}

/* ---------------------------------------------------------------- writing */

static void emit_scalar(FILE *f, const char *v) {
  int plain = *v != '\0';
  for (const char *p = v; *p && plain; p++)
    if (!(isalnum((unsigned char)*p) || strchr("._+-/", *p))) plain = 0;
  if (plain && (strchr("-.", v[0]) && !isdigit((unsigned char)v[1]))) plain = 0;
  if (plain) {
    fputs(v, f);
    return;
  }
  fputc('"', f);
  for (const char *p = v; *p; p++) {
    if (*p == '"' || *p == '\\') fputc('\\', f);
    if (*p == '\n') { fputs("\\n", f); continue; }
    fputc(*p, f);
  }
  fputc('"', f);
}

static void emit_node(FILE *f, const sd_cfg_node *n, int indent, int in_seq) {
  if (n->kind == SD_NODE_SCALAR) {
    emit_scalar(f, n->value);
    fputc('\n', f);
    return;
  }
  if (n->n_kids == 0) {
    fputs(n->kind == SD_NODE_MAP ? "{}\n" : "[]\n", f);
    return;
  }
  if (!in_seq) fputc('\n', f);
  for (size_t i = 0; i < n->n_kids; i++) {
    const sd_cfg_node *k = n->kids[i];
    if (!(in_seq && i == 0)) fprintf(f, "%*s", indent, "");
    if (n->kind == SD_NODE_MAP) {
      emit_scalar(f, k->key);
      fputs(":", f);
      if (k->kind == SD_NODE_SCALAR) fputc(' ', f);
      emit_node(f, k, indent + 2, 0);
    } else {
      fputs("- ", f);
      if (k->kind == SD_NODE_SCALAR) emit_node(f, k, indent + 2, 0);
      else emit_node(f, k, indent + 2, 1);
    }
  }
}

sd_status sd_config_write_resolved(const sd_config *cfg, const char *path) {
  sd_atomic_file af;
  SD_TRY(sd_atomic_open(&af, path));
  FILE *f = af.fp;
  fprintf(f, "# Resolved config: every key after defaults and overrides. `saddle run` on this file reruns\n"
             "# the experiment bit for bit.\n");
  /* group the flat keys back into nested maps, sections in order of first appearance */
  for (size_t i = 0; i < cfg->n_entries; i++) {
    const char *di = strchr(cfg->entries[i].key, '.');
    size_t si = di ? (size_t)(di - cfg->entries[i].key) : 0;
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++) {
      const char *dj = strchr(cfg->entries[j].key, '.');
      size_t sj = dj ? (size_t)(dj - cfg->entries[j].key) : 0;
      seen = si == sj && strncmp(cfg->entries[i].key, cfg->entries[j].key, si) == 0;
    }
    if (seen) continue;
    if (si) fprintf(f, "%.*s:\n", (int)si, cfg->entries[i].key);
    for (size_t j = i; j < cfg->n_entries; j++) {
      const entry *e = &cfg->entries[j];
      const char *dj = strchr(e->key, '.');
      size_t sj = dj ? (size_t)(dj - e->key) : 0;
      if (sj != si || strncmp(e->key, cfg->entries[i].key, si) != 0) continue;
      if ((e->param->type == SD_T_LIST && !e->node) || e->inactive) continue;
      int ind = si ? 2 : 0;
      fprintf(f, "%*s", ind, "");
      emit_scalar(f, si ? e->key + si + 1 : e->key);
      fputc(':', f);
      if (e->param->type == SD_T_LIST) {
        emit_node(f, e->node, ind + 2, 0);
      } else if (e->param->type == SD_T_REALS) {
        size_t n = sd_config_reals(cfg, e->key, NULL, 0);
        double *xs = sd_malloc((n ? n : 1) * sizeof *xs);
        if (!xs) {
          sd_atomic_abort(&af);
          return sd_error(SD_ERR_NOMEM, "out of memory");
        }
        sd_config_reals(cfg, e->key, xs, n);
        fputs(" [", f);
        for (size_t r = 0; r < n; r++) fprintf(f, "%.17g%s", xs[r], r + 1 < n ? ", " : ""); /* round-trips */
        sd_free(xs);
        fputs("]\n", f);
      } else {
        fputc(' ', f);
        emit_scalar(f, e->value ? e->value : "");
        fputc('\n', f);
      }
    }
  }
  return sd_atomic_commit(&af);
}
