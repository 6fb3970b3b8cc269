/* spec.c: panel specs from figures: lists, --panel arguments and the columns of a run (see spec.h). */
#include "plot/spec.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/tree.h"
#include "saddle/alloc.h"

static const char *const KIND_NAMES[] = {"loss", "lines", "family", "heatmap", "orientations"};

const char *sd_panel_kind_name(sd_panel_kind k) { return KIND_NAMES[k]; }

void sd_spec_free(sd_panel_spec *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n_y; i++) sd_free(s->y[i]);
  sd_free(s->y);
  sd_free(s->reference);
  sd_free(s->array);
  sd_free(s->initial);
  sd_free(s->output);
  sd_free(s->x);
  sd_free(s->title);
  sd_free(s->xlabel);
  sd_free(s->ylabel);
  memset(s, 0, sizeof *s);
}

void sd_specs_free(sd_panel_spec *s, size_t n) {
  if (!s) return;
  for (size_t i = 0; i < n; i++) sd_spec_free(&s[i]);
  sd_free(s);
}

static void spec_init(sd_panel_spec *s, sd_panel_kind kind) {
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->xlog = s->ylog = s->diverging = s->phases = s->plateaus = -1;
  s->xlim[0] = s->xlim[1] = s->ylim[0] = s->ylim[1] = NAN;
}

static size_t levenshtein(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 60 || lb > 60) return 99;
  size_t d[61][61];
  for (size_t i = 0; i <= la; i++) d[i][0] = i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      size_t best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      d[i][j] = sub < best ? sub : best;
    }
  return d[la][lb];
}

/* The closest of names to s, or NULL if none is close. */
static const char *nearest(const char *s, const char *const *names, size_t n) {
  const char *best = NULL;
  size_t bd = 4;
  for (size_t i = 0; i < n; i++) {
    size_t d = levenshtein(s, names[i]);
    if (d < bd) bd = d, best = names[i];
  }
  return best;
}

static sd_status fail(const sd_spec_ctx *ctx, const sd_cfg_node *n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static sd_status fail(const sd_spec_ctx *ctx, const sd_cfg_node *n, const char *key, const char *fmt, ...) {
  char msg[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ctx && ctx->cfg && n) return sd_config_fail_node(ctx->cfg, n, key, "%s", msg);
  if (n && n->file) return sd_error(SD_ERR_CONFIG, "%s:%d:%d: %s: %s", n->file, n->line, n->col, key, msg);
  return sd_error(SD_ERR_CONFIG, "%s: %s", key, msg);
}

static int valid_name(const char *s) {
  if (!*s || strlen(s) > 200 || s[0] == '.') return 0;
  for (const char *p = s; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.')) return 0;
  return 1;
}

static sd_status add_y(sd_panel_spec *s, const char *v) {
  char **y = sd_realloc(s->y, (s->n_y + 1) * sizeof *y);
  if (!y) return sd_error(SD_ERR_NOMEM, "out of memory");
  s->y = y;
  if (!(s->y[s->n_y] = sd_strdup(v))) return sd_error(SD_ERR_NOMEM, "out of memory");
  s->n_y++;
  return SD_OK;
}

static sd_status set_str(char **dst, const char *v) {
  sd_free(*dst);
  *dst = sd_strdup(v);
  return *dst ? SD_OK : sd_error(SD_ERR_NOMEM, "out of memory");
}

static sd_status parse_scale(const sd_spec_ctx *ctx, const sd_cfg_node *n, sd_panel_spec *s) {
  static const struct { const char *name; int xlog, ylog; } SCALES[] = {
      {"auto", -1, -1}, {"linear", 0, 0}, {"loglog", 1, 1}, {"semilogy", 0, 1}, {"semilogx", 1, 0}};
  for (size_t i = 0; i < sizeof SCALES / sizeof *SCALES; i++)
    if (!strcmp(n->value, SCALES[i].name)) {
      if (s->kind == SD_PANEL_ORIENT && SCALES[i].xlog == 1)
        return fail(ctx, n, "figures.scale", "an orientations panel has an angle on x: use linear, semilogy or auto");
      s->xlog = SCALES[i].xlog;
      s->ylog = SCALES[i].ylog;
      return SD_OK;
    }
  return fail(ctx, n, "figures.scale", "'%s': expected linear, loglog, semilogy, semilogx or auto", n->value);
}

static sd_status parse_lim(const sd_spec_ctx *ctx, const sd_cfg_node *n, const char *key, double lim[2]) {
  if (n->kind != SD_NODE_SEQ || n->n_kids != 2) return fail(ctx, n, key, "expected [low, high]");
  for (int i = 0; i < 2; i++) {
    const sd_cfg_node *k = n->kids[i];
    char *end = NULL;
    double v = k->kind == SD_NODE_SCALAR ? strtod(k->value, &end) : NAN;
    if (k->kind != SD_NODE_SCALAR || end == k->value || *end || !isfinite(v)) return fail(ctx, k, key, "expected a number");
    lim[i] = v;
  }
  if (!(lim[0] < lim[1])) return fail(ctx, n, key, "low must be below high");
  return SD_OK;
}

static sd_status parse_bool(const sd_spec_ctx *ctx, const sd_cfg_node *n, const char *key, int *out) {
  if (n->kind == SD_NODE_SCALAR && (!strcmp(n->value, "true") || !strcmp(n->value, "yes") || !strcmp(n->value, "on"))) *out = 1;
  else if (n->kind == SD_NODE_SCALAR && (!strcmp(n->value, "false") || !strcmp(n->value, "no") || !strcmp(n->value, "off"))) *out = 0;
  else return fail(ctx, n, key, "expected true or false");
  return SD_OK;
}

/* Keys each kind accepts (beyond the common ones). */
static const char *const COMMON_KEYS[] = {"panel", "title", "x", "scale", "xlabel", "ylabel", "xlim", "ylim"};
static const char *const KIND_KEYS[][5] = {
    {"y", "phases", "plateaus", NULL},
    {"y", "phases", "plateaus", NULL},
    {"metric", "reference", "phases", NULL},
    {"array", "colormap", NULL},
    {"array", "initial", "reference", "output", NULL},
};

static int key_allowed(sd_panel_kind k, const char *key) {
  for (size_t i = 0; i < sizeof COMMON_KEYS / sizeof *COMMON_KEYS; i++)
    if (!strcmp(key, COMMON_KEYS[i])) return 1;
  for (size_t i = 0; KIND_KEYS[k][i]; i++)
    if (!strcmp(key, KIND_KEYS[k][i])) return 1;
  return 0;
}

static sd_status unknown_key(const sd_spec_ctx *ctx, const sd_cfg_node *kv, sd_panel_kind k) {
  const char *names[16];
  size_t n = 0;
  char list[300] = "";
  for (size_t i = 0; i < sizeof COMMON_KEYS / sizeof *COMMON_KEYS; i++) names[n++] = COMMON_KEYS[i];
  for (size_t i = 0; KIND_KEYS[k][i]; i++) names[n++] = KIND_KEYS[k][i];
  for (size_t i = 1; i < n; i++) {
    strncat(list, names[i], sizeof list - strlen(list) - 1);
    if (i + 1 < n) strncat(list, ", ", sizeof list - strlen(list) - 1);
  }
  const char *near = nearest(kv->key, names, n);
  for (int j = 0; j < 5 && !near; j++) /* a key of another kind */
    for (size_t i = 0; KIND_KEYS[j][i] && !near; i++)
      if (!strcmp(kv->key, KIND_KEYS[j][i]))
        return fail(ctx, kv, "figures", "a %s panel has no '%s' (it takes %s)", KIND_NAMES[k], kv->key, list);
  if (near) return fail(ctx, kv, "figures", "unknown key '%s' in a %s panel; did you mean '%s'?", kv->key, KIND_NAMES[k], near);
  return fail(ctx, kv, "figures", "unknown key '%s' in a %s panel (it takes %s)", kv->key, KIND_NAMES[k], list);
}

sd_status sd_spec_from_node(const sd_spec_ctx *ctx, const sd_cfg_node *item, sd_panel_spec *out) {
  spec_init(out, SD_PANEL_LOSS);
  if (item->kind != SD_NODE_MAP)
    return fail(ctx, item, "figures", "each panel is a mapping such as {panel: loss, scale: loglog}");
  const sd_cfg_node *pk = sd_cfg_child(item, "panel");
  if (!pk) return fail(ctx, item, "figures.panel", "every panel needs 'panel: loss|lines|family|heatmap|orientations'");
  if (pk->kind != SD_NODE_SCALAR) return fail(ctx, pk, "figures.panel", "expected a panel kind");
  int kind = -1;
  for (int k = 0; k < 5; k++)
    if (!strcmp(pk->value, KIND_NAMES[k])) kind = k;
  if (kind < 0) {
    const char *near = nearest(pk->value, KIND_NAMES, 5);
    return fail(ctx, pk, "figures.panel", "unknown panel '%s'%s%s%s (expected loss, lines, family, heatmap or orientations)",
                pk->value, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
  }
  out->kind = (sd_panel_kind)kind;
  sd_status rc = SD_OK;
  for (size_t i = 0; rc == SD_OK && i < item->n_kids; i++) {
    const sd_cfg_node *kv = item->kids[i];
    const char *key = kv->key;
    char kname[64];
    snprintf(kname, sizeof kname, "figures.%s", key);
    if (!key_allowed(out->kind, key)) {
      rc = unknown_key(ctx, kv, out->kind);
      break;
    }
    if (!strcmp(key, "panel")) continue;
    if (!strcmp(key, "y") || !strcmp(key, "metric")) {
      if (kv->kind == SD_NODE_SCALAR) {
        if (!valid_name(kv->value) && !strchr(kv->value, '[')) rc = fail(ctx, kv, kname, "'%s' is not a column name", kv->value);
        else rc = add_y(out, kv->value);
      } else if (kv->kind == SD_NODE_SEQ && kv->n_kids > 0) {
        for (size_t j = 0; rc == SD_OK && j < kv->n_kids; j++) {
          if (kv->kids[j]->kind != SD_NODE_SCALAR) rc = fail(ctx, kv->kids[j], kname, "expected a column name");
          else rc = add_y(out, kv->kids[j]->value);
        }
      } else {
        rc = fail(ctx, kv, kname, "expected a name or a non-empty list of names");
      }
      continue;
    }
    if (!strcmp(key, "xlim") || !strcmp(key, "ylim")) {
      rc = parse_lim(ctx, kv, kname, key[0] == 'x' ? out->xlim : out->ylim);
      continue;
    }
    if (!strcmp(key, "phases") || !strcmp(key, "plateaus")) {
      rc = parse_bool(ctx, kv, kname, key[1] == 'h' ? &out->phases : &out->plateaus);
      continue;
    }
    if (kv->kind != SD_NODE_SCALAR) {
      rc = fail(ctx, kv, kname, "expected a single value");
      break;
    }
    const char *v = kv->value;
    if (!strcmp(key, "scale")) {
      rc = parse_scale(ctx, kv, out);
    } else if (!strcmp(key, "x")) {
      if (strcmp(v, "t") && strcmp(v, "step")) rc = fail(ctx, kv, kname, "'%s': expected t or step", v);
      else rc = set_str(&out->x, v);
    } else if (!strcmp(key, "colormap")) {
      if (!strcmp(v, "sequential")) out->diverging = 0;
      else if (!strcmp(v, "diverging")) out->diverging = 1;
      else rc = fail(ctx, kv, kname, "'%s': expected sequential or diverging", v);
    } else if (!strcmp(key, "array") || !strcmp(key, "initial") || !strcmp(key, "output") ||
               (!strcmp(key, "reference") && out->kind == SD_PANEL_ORIENT)) {
      if (!valid_name(v)) rc = fail(ctx, kv, kname, "'%s' is not an array name (the file arrays/NAME.npy of the run)", v);
      else rc = set_str(!strcmp(key, "array") ? &out->array : !strcmp(key, "initial") ? &out->initial
                        : !strcmp(key, "output") ? &out->output : &out->reference, v);
    } else if (!strcmp(key, "reference")) {
      rc = set_str(&out->reference, v);
    } else if (!strcmp(key, "title")) {
      rc = set_str(&out->title, v);
    } else if (!strcmp(key, "xlabel")) {
      rc = set_str(&out->xlabel, v);
    } else if (!strcmp(key, "ylabel")) {
      rc = set_str(&out->ylabel, v);
    }
  }
  if (rc == SD_OK) {
    if (out->kind == SD_PANEL_FAMILY && out->n_y == 0)
      rc = fail(ctx, item, "figures.metric", "a family panel needs 'metric: NAME' (the columns NAME[0], NAME[1], ...)");
    else if (out->kind == SD_PANEL_LINES && out->n_y == 0)
      rc = fail(ctx, item, "figures.y", "a lines panel needs 'y: [columns]'");
    else if ((out->kind == SD_PANEL_HEATMAP || out->kind == SD_PANEL_ORIENT) && !out->array)
      rc = fail(ctx, item, "figures.array", "a %s panel needs 'array: NAME' (arrays/NAME.npy)", KIND_NAMES[out->kind]);
    else if (out->kind == SD_PANEL_HEATMAP && (out->xlog == 1 || out->ylog == 1))
      rc = fail(ctx, sd_cfg_child(item, "scale"), "figures.scale", "a heatmap has no log axes");
  }
  if (rc != SD_OK) sd_spec_free(out);
  return rc;
}

sd_status sd_spec_from_arg(const char *arg, sd_panel_spec *out) {
  spec_init(out, SD_PANEL_LOSS);
  while (*arg == ' ') arg++;
  if (*arg == '{') {
    sd_tree *t = NULL;
    char name[80];
    snprintf(name, sizeof name, "--panel '%.60s'", arg);
    SD_TRY(sd_tree_load_string(name, arg, &t));
    sd_status rc = sd_spec_from_node(NULL, t->root, out);
    sd_tree_free(&t);
    return rc;
  }
  const char *colon = strchr(arg, ':');
  size_t kl = colon ? (size_t)(colon - arg) : strlen(arg);
  int kind = -1;
  for (int k = 0; k < 5; k++)
    if (strlen(KIND_NAMES[k]) == kl && !strncmp(arg, KIND_NAMES[k], kl)) kind = k;
  if (kind < 0) {
    char k[64];
    snprintf(k, sizeof k, "%.*s", (int)(kl < 60 ? kl : 60), arg);
    const char *near = nearest(k, KIND_NAMES, 5);
    return sd_error(SD_ERR_CONFIG, "--panel '%s': unknown panel '%s'%s%s%s (expected auto, figure, loss, lines, family, heatmap, "
                    "orientations, or a YAML mapping {panel: ..., ...})", arg, k, near ? "; did you mean '" : "", near ? near : "",
                    near ? "'?" : "");
  }
  out->kind = (sd_panel_kind)kind;
  sd_status rc = SD_OK;
  size_t n_names = 0;
  if (colon) {
    char *list = sd_strdup(colon + 1);
    if (!list) return sd_error(SD_ERR_NOMEM, "out of memory");
    /* split on commas outside brackets (names like u[0] have none, but be safe) */
    for (char *p = list; rc == SD_OK && p && *p;) {
      char *comma = strchr(p, ',');
      if (comma) *comma = '\0';
      if (*p) {
        if (!valid_name(p) && !strchr(p, '[')) {
          rc = sd_error(SD_ERR_CONFIG, "--panel '%s': '%s' is not a name", arg, p);
        } else if (out->kind == SD_PANEL_HEATMAP || out->kind == SD_PANEL_ORIENT) {
          if (!valid_name(p)) rc = sd_error(SD_ERR_CONFIG, "--panel '%s': '%s' is not an array name", arg, p);
          else if (n_names == 0) rc = set_str(&out->array, p);
          else if (n_names == 1 && out->kind == SD_PANEL_ORIENT) rc = set_str(&out->initial, p);
          else rc = sd_error(SD_ERR_CONFIG, "--panel '%s': a %s panel takes %s", arg, KIND_NAMES[kind],
                             kind == SD_PANEL_HEATMAP ? "one array" : "an array and at most its initial value");
        } else {
          rc = add_y(out, p);
        }
        n_names++;
      }
      p = comma ? comma + 1 : NULL;
    }
    sd_free(list);
  }
  if (rc == SD_OK) {
    if ((out->kind == SD_PANEL_FAMILY || out->kind == SD_PANEL_LINES) && out->n_y == 0)
      rc = sd_error(SD_ERR_CONFIG, "--panel '%s': name the %s, e.g. --panel %s", arg, out->kind == SD_PANEL_FAMILY ? "family" : "columns",
                    out->kind == SD_PANEL_FAMILY ? "family:signal" : "lines:noise,angle_truth");
    else if ((out->kind == SD_PANEL_HEATMAP || out->kind == SD_PANEL_ORIENT) && !out->array)
      rc = sd_error(SD_ERR_CONFIG, "--panel '%s': name the array, e.g. --panel %s:W1_final", arg, KIND_NAMES[kind]);
  }
  if (rc != SD_OK) sd_spec_free(out);
  return rc;
}

/* ---------------------------------------------------------------- checks against columns */

static int has_col(const char *name, const char *const *cols, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(cols[i], name)) return 1;
  return 0;
}

static int has_family(const char *name, const char *const *cols, size_t n) {
  char want[300];
  snprintf(want, sizeof want, "%s[0]", name);
  return has_col(want, cols, n);
}

/* The node of y/metric item j (for messages), or the item itself. */
static const sd_cfg_node *y_node(const sd_cfg_node *item, size_t j) {
  if (!item) return NULL;
  const sd_cfg_node *y = sd_cfg_child(item, "y");
  if (!y) y = sd_cfg_child(item, "metric");
  if (!y) return item;
  if (y->kind == SD_NODE_SEQ && j < y->n_kids) return y->kids[j];
  return y;
}

static sd_status no_column(const sd_spec_ctx *ctx, const sd_cfg_node *where, const char *key, const char *what,
                           const char *name, const char *const *cols, size_t n) {
  /* suggest among columns and family names */
  const char **cands = sd_malloc((2 * n + 1) * sizeof *cands);
  char (*fam)[64] = sd_malloc((n + 1) * sizeof *fam);
  size_t nc = 0;
  const char *near = NULL;
  if (cands && fam) {
    for (size_t i = 0; i < n; i++) {
      cands[nc++] = cols[i];
      if (sd_col_family(cols[i], fam[i], sizeof fam[i])) cands[nc++] = fam[i];
    }
    near = nearest(name, cands, nc);
  }
  char msg[300];
  if (near) snprintf(msg, sizeof msg, "; did you mean '%s'?", near);
  else msg[0] = '\0';
  sd_status rc = where ? fail(ctx, where, key, "no %s '%s' in this run%s", what, name, msg)
                       : sd_error(SD_ERR_CONFIG, "%s: no %s '%s' in this run%s", key, what, name, msg);
  sd_free(cands);
  sd_free(fam);
  return rc;
}

sd_status sd_spec_check_columns(const sd_spec_ctx *ctx, const sd_cfg_node *item, const sd_panel_spec *s,
                                const char *const *cols, size_t n_cols) {
  char key[80];
  if (s->x && !has_col(s->x, cols, n_cols))
    return no_column(ctx, item ? sd_cfg_child(item, "x") : NULL, item ? "figures.x" : "--panel", "column", s->x, cols, n_cols);
  for (size_t j = 0; j < s->n_y; j++) {
    snprintf(key, sizeof key, item ? "figures.%s" : "--panel %s", s->kind == SD_PANEL_FAMILY ? "metric" : "y");
    if (s->kind == SD_PANEL_FAMILY) {
      if (!has_family(s->y[j], cols, n_cols)) {
        if (has_col(s->y[j], cols, n_cols))
          return item ? fail(ctx, y_node(item, j), key, "'%s' is a single column, not a family name[i]: use a lines panel", s->y[j])
                      : sd_error(SD_ERR_CONFIG, "%s: '%s' is a single column, not a family name[i]: use lines:%s", key, s->y[j], s->y[j]);
        return no_column(ctx, y_node(item, j), key, "family", s->y[j], cols, n_cols);
      }
    } else if (!has_col(s->y[j], cols, n_cols) && !has_family(s->y[j], cols, n_cols)) {
      return no_column(ctx, y_node(item, j), key, "column", s->y[j], cols, n_cols);
    }
  }
  if (s->kind == SD_PANEL_FAMILY && s->reference && !has_family(s->reference, cols, n_cols))
    return no_column(ctx, item ? sd_cfg_child(item, "reference") : NULL, item ? "figures.reference" : "--panel", "family",
                     s->reference, cols, n_cols);
  if (s->kind == SD_PANEL_LOSS && s->n_y == 0 && !has_col("loss", cols, n_cols))
    return no_column(ctx, item, item ? "figures" : "--panel loss", "column", "loss", cols, n_cols);
  return SD_OK;
}

/* ---------------------------------------------------------------- automatic panels */

static int is_error_col(const char *c) { return strstr(c, "error") != NULL && !strchr(c, '['); }

static sd_status push(sd_panel_spec **out, size_t *n, size_t *cap, sd_panel_kind kind, sd_panel_spec **made) {
  if (*n == *cap) {
    size_t nc = *cap ? 2 * *cap : 8;
    sd_panel_spec *s = sd_realloc(*out, nc * sizeof *s);
    if (!s) return sd_error(SD_ERR_NOMEM, "out of memory");
    *out = s;
    *cap = nc;
  }
  spec_init(&(*out)[*n], kind);
  *made = &(*out)[(*n)++];
  return SD_OK;
}

static const char *const REF_SUFFIX[] = {"_theory", "_exact", "_analytic", "_ref"};

sd_status sd_spec_auto(const sd_rundir *rd, sd_panel_spec **out, size_t *n_out) {
  sd_panel_spec *specs = NULL, *s = NULL;
  size_t n = 0, cap = 0;
  sd_status rc = SD_OK;
  *out = NULL;
  *n_out = 0;
  int has_loss = sd_rundir_col(rd, "loss") >= 0;
  size_t n_err = 0;
  for (size_t c = 0; c < rd->n_cols; c++) n_err += is_error_col(rd->cols[c]);
  if (has_loss) {
    rc = push(&specs, &n, &cap, SD_PANEL_LOSS, &s);
  } else if (n_err) {
    rc = push(&specs, &n, &cap, SD_PANEL_LINES, &s);
    for (size_t c = 0; rc == SD_OK && c < rd->n_cols; c++)
      if (is_error_col(rd->cols[c])) rc = add_y(s, rd->cols[c]);
  }
  /* vector families, in column order, each with its reference family */
  size_t n_fam = 0;
  for (size_t c = 0; rc == SD_OK && c < rd->n_cols && n_fam < 4; c++) {
    char fam[256];
    if (!sd_col_family(rd->cols[c], fam, sizeof fam) || strcmp(rd->cols[c] + strlen(fam), "[0]") != 0) continue;
    if (sd_rundir_family(rd, fam, NULL, 0) < 2) continue;
    int is_ref = 0;
    for (size_t k = 0; k < 4 && !is_ref; k++) {
      size_t fl = strlen(fam), sl = strlen(REF_SUFFIX[k]);
      if (fl > sl && !strcmp(fam + fl - sl, REF_SUFFIX[k])) {
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int)(fl - sl), fam);
        is_ref = sd_rundir_family(rd, base, NULL, 0) > 0;
      }
    }
    if (is_ref) continue;
    rc = push(&specs, &n, &cap, SD_PANEL_FAMILY, &s);
    if (rc == SD_OK) rc = add_y(s, fam);
    for (size_t k = 0; rc == SD_OK && k < 4 && !s->reference; k++) {
      char ref[300];
      snprintf(ref, sizeof ref, "%s%s", fam, REF_SUFFIX[k]);
      if (sd_rundir_family(rd, ref, NULL, 0) > 0) rc = set_str(&s->reference, ref);
    }
    n_fam++;
  }
  /* the other scalar columns, up to five to a panel, and the curvature columns on their own */
  sd_panel_spec *other = NULL;
  size_t n_hess = 0;
  for (size_t c = 0; rc == SD_OK && c < rd->n_cols; c++) {
    const char *name = rd->cols[c];
    char fam[256];
    if (!strcmp(name, "step") || !strcmp(name, "t") || !strcmp(name, "loss") || is_error_col(name) ||
        sd_col_family(name, fam, sizeof fam))
      continue;
    if (!strncmp(name, "hess_", 5)) {
      n_hess++;
      continue;
    }
    if (!other || other->n_y == 5) {
      if (n >= 7) break;
      rc = push(&specs, &n, &cap, SD_PANEL_LINES, &other);
    }
    if (rc == SD_OK) rc = add_y(other, name);
  }
  if (rc == SD_OK && n_hess) {
    rc = push(&specs, &n, &cap, SD_PANEL_LINES, &s);
    for (size_t c = 0; rc == SD_OK && c < rd->n_cols; c++)
      if (!strncmp(rd->cols[c], "hess_", 5)) rc = add_y(s, rd->cols[c]);
    if (rc == SD_OK) s->ylog = 0;
  }
  if (rc == SD_OK && n == 0) rc = sd_error(SD_ERR_CONFIG, "%s: metrics.csv has no column to plot", rd->dir);
  if (rc != SD_OK) {
    sd_specs_free(specs, n);
    return rc;
  }
  *out = specs;
  *n_out = n;
  return SD_OK;
}

sd_status sd_spec_auto_compare(const sd_rundir *rd, size_t n_runs, sd_panel_spec **out, size_t *n_out) {
  sd_panel_spec *specs = NULL, *s = NULL;
  size_t n = 0, cap = 0;
  sd_status rc = SD_OK;
  *out = NULL;
  *n_out = 0;
  for (size_t c = 0; rc == SD_OK && c < rd->n_cols && n < 4; c++) {
    const char *name = rd->cols[c];
    if (strcmp(name, "loss") && !is_error_col(name)) continue;
    rc = push(&specs, &n, &cap, SD_PANEL_LOSS, &s);
    if (rc == SD_OK) rc = add_y(s, name);
  }
  if (rc == SD_OK && n_runs <= 3) {
    sd_panel_spec *a = NULL;
    size_t na = 0;
    rc = sd_spec_auto(rd, &a, &na);
    for (size_t i = 0; i < na; i++) {
      if (rc == SD_OK && a[i].kind == SD_PANEL_FAMILY && n < 6) {
        if (n == cap) {
          sd_panel_spec *p = sd_realloc(specs, (cap ? 2 * cap : 8) * sizeof *p);
          if (!p) {
            rc = sd_error(SD_ERR_NOMEM, "out of memory");
          } else {
            specs = p;
            cap = cap ? 2 * cap : 8;
          }
        }
        if (rc == SD_OK) {
          specs[n++] = a[i];
          memset(&a[i], 0, sizeof a[i]);
          continue;
        }
      }
      sd_spec_free(&a[i]);
    }
    sd_free(a);
  }
  if (rc == SD_OK && n == 0) rc = sd_spec_auto(rd, &specs, &n);
  if (rc != SD_OK) {
    sd_specs_free(specs, n);
    return rc;
  }
  *out = specs;
  *n_out = n;
  return SD_OK;
}
