/* sweep.c: the Cartesian product of a few keys' values, run one after the other, and claims across the runs
 * (see sweep.h). */
#include "saddle/sweep.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "saddle/alloc.h"
#include "saddle/atomicfile.h"
#include "saddle/checkpoint.h"
#include "saddle/outdir.h"

typedef struct {
  const char *key;       /* points into the config: a config key, or a name for an axis of override sets */
  size_t n;
  const char **values;   /* n, into the config (an override set's `name`) */
  const sd_cfg_node **sets; /* n: for an axis of override sets, each value's mapping; else NULL */
  const sd_cfg_node *node;  /* the axis' {key, values} in the config: where its errors are */
} axis;

enum { V_STEPS, V_T, V_FINAL, V_MAX, V_FIRST_STEP, V_FIRST_T, V_AT, V_RATE };

typedef struct {
  const sd_cfg_node *node;
  const char *name, *value_text, *across;
  int kind;
  char metric[128];
  char op;
  double thr, thr2;  /* first_*: the threshold; rate: the two thresholds */
  char at[128];      /* METRIC@AT: the point of the run */
  size_t n_where;
  const char *where_k[8], *where_v[8];
  double max_ratio, min_ratio, below, above;
  int increasing, decreasing;
  double log_slope, rtol; /* least-squares slope of the value against log10(across), and its tolerance */
  int power;              /* log_slope is the exponent of a power law: the slope of log10(value) instead */
} sclaim;

struct sd_sweep {
  char *path;
  sd_config *cfg;
  char **over;       /* the caller's overrides then one per axis (rewritten for each run) */
  size_t n_over;
  axis *axes;
  size_t n_axes;
  size_t n_runs;
  char **labels;
  const char **status;
  sd_claim_result **run_claims;
  size_t *n_run_claims;
  sclaim *claims;
  size_t n_claims;
  double *values;    /* n_runs × n_claims */
  size_t n_set_overrides; /* room for the overrides of sets (upper bound) */
  size_t n_max_over;
  size_t n_user;
  sd_claim_result *results;
  char *dir;
  int lock_fd;       /* the claim on dir (outdir.h) */
  int adopted;       /* dir held this sweep already: finished runs are kept, the others resumed or run */
  const char *state; /* the sweep's status: running, complete, interrupted, error */
  char hash[17];     /* of the config file's bytes: an adopted directory must hold a sweep of the same config */
  char *name;
  long long seed;
};

const char *sd_sweep_dir(const sd_sweep *s) { return s->dir; }
size_t sd_sweep_size(const sd_sweep *s) { return s->n_runs; }
const char *sd_sweep_label(const sd_sweep *s, size_t i) { return s->labels[i]; }
const char *sd_sweep_status(const sd_sweep *s, size_t i) { return s->status[i]; }
const sd_claim_result *sd_sweep_run_claims(const sd_sweep *s, size_t i, size_t *n) {
  *n = s->n_run_claims[i];
  return s->run_claims[i];
}
const sd_claim_result *sd_sweep_claims(const sd_sweep *s, size_t *n) {
  *n = s->n_claims;
  return s->results;
}

void sd_sweep_free(sd_sweep **ps) {
  sd_sweep *s = *ps;
  if (!s) return;
  for (size_t i = 0; i < s->n_axes; i++) sd_free(s->axes[i].values), sd_free(s->axes[i].sets);
  sd_free(s->axes);
  for (size_t i = 0; s->over && i < s->n_max_over; i++) sd_free(s->over[i]);
  sd_free(s->over);
  for (size_t i = 0; s->labels && i < s->n_runs; i++) sd_free(s->labels[i]);
  for (size_t i = 0; s->run_claims && i < s->n_runs; i++) sd_free(s->run_claims[i]);
  sd_free(s->labels);
  sd_free(s->status);
  sd_free(s->run_claims);
  sd_free(s->n_run_claims);
  sd_free(s->claims);
  sd_free(s->values);
  sd_free(s->results);
  sd_outdir_release(&s->lock_fd);
  sd_free(s->dir);
  sd_free(s->name);
  sd_free(s->path);
  sd_config_free(&s->cfg);
  sd_free(s);
  *ps = NULL;
}

/* run i's value on axis a (the first axis varies slowest) */
static const char *axis_value(const sd_sweep *s, size_t i, size_t a) {
  size_t stride = 1;
  for (size_t b = a + 1; b < s->n_axes; b++) stride *= s->axes[b].n;
  return s->axes[a].values[(i / stride) % s->axes[a].n];
}

static long axis_index(const sd_sweep *s, const char *key) {
  for (size_t a = 0; a < s->n_axes; a++)
    if (!strcmp(s->axes[a].key, key)) return (long)a;
  return -1;
}

static size_t count_leaves(const sd_cfg_node *n) {
  if (n->kind != SD_NODE_MAP) return 1;
  size_t c = 0;
  for (size_t i = 0; i < n->n_kids; i++) c += count_leaves(n->kids[i]);
  return c;
}

static sd_status read_axes(sd_sweep *s, const sd_cfg_node *list) {
  if (list->kind != SD_NODE_SEQ || list->n_kids == 0)
    return sd_config_fail_node(s->cfg, list, "sweep", "expected a list of {key, values: [...]}");
  s->axes = sd_calloc(list->n_kids, sizeof *s->axes);
  if (!s->axes) return sd_error(SD_ERR_NOMEM, "out of memory");
  s->n_runs = 1;
  for (size_t i = 0; i < list->n_kids; i++) {
    const sd_cfg_node *ax = list->kids[i], *key = sd_cfg_child(ax, "key"), *vals = sd_cfg_child(ax, "values");
    if (ax->kind != SD_NODE_MAP || !key || key->kind != SD_NODE_SCALAR || !vals || vals->kind != SD_NODE_SEQ || !vals->n_kids)
      return sd_config_fail_node(s->cfg, ax, "sweep", "each axis is {key: a.config.key, values: [v1, v2, ...]}");
    for (size_t k = 0; k < ax->n_kids; k++)
      if (strcmp(ax->kids[k]->key, "key") && strcmp(ax->kids[k]->key, "values"))
        return sd_config_fail_node(s->cfg, ax->kids[k], "sweep", "unknown key '%s' in an axis (key, values)", ax->kids[k]->key);
    axis *a = &s->axes[s->n_axes++];
    a->key = key->value;
    a->node = ax;
    a->n = vals->n_kids;
    a->values = sd_calloc(a->n, sizeof *a->values);
    if (!a->values) return sd_error(SD_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < a->n; k++) {
      const sd_cfg_node *v = vals->kids[k];
      if (v->kind == SD_NODE_MAP) { /* a set of overrides, named by its `name` */
        const sd_cfg_node *nm = sd_cfg_child(v, "name");
        if (!nm || nm->kind != SD_NODE_SCALAR)
          return sd_config_fail_node(s->cfg, v, "sweep.values", "a set of overrides needs a name: {name: ..., key: value, ...}");
        if (!a->sets && !(a->sets = sd_calloc(a->n, sizeof *a->sets))) return sd_error(SD_ERR_NOMEM, "out of memory");
        a->sets[k] = v;
        a->values[k] = nm->value;
        s->n_set_overrides += count_leaves(v) - 1;
      } else if (v->kind == SD_NODE_SCALAR) {
        a->values[k] = v->value;
      } else {
        return sd_config_fail_node(s->cfg, v, "sweep.values", "each value is a single value or a {name, key: value} set");
      }
      if (a->sets && !a->sets[k] && k > 0)
        return sd_config_fail_node(s->cfg, v, "sweep.values", "mix of single values and override sets in one axis");
    }
    if (a->sets && !a->sets[0])
      return sd_config_fail_node(s->cfg, vals, "sweep.values", "mix of single values and override sets in one axis");
    for (size_t b = 0; b + 1 < s->n_axes; b++)
      if (!strcmp(s->axes[b].key, a->key)) return sd_config_fail_node(s->cfg, key, "sweep.key", "'%s' is swept twice", a->key);
    s->n_runs *= a->n;
  }
  if (s->n_runs > 10000) return sd_config_fail_node(s->cfg, list, "sweep", "%zu runs: too many for one sweep", s->n_runs);
  return SD_OK;
}

static sd_status number(const sd_config *cfg, const sd_cfg_node *n, const char *key, double *out) {
  char *end;
  *out = strtod(n->kind == SD_NODE_SCALAR ? n->value : "", &end);
  if (n->kind != SD_NODE_SCALAR || !*n->value || *end || !isfinite(*out))
    return sd_config_fail_node(cfg, n, key, "expected a number");
  return SD_OK;
}

#define VALUE_FORMS "steps, t, final:M, max:M, first_step:M<x, first_t:M>x, M@AT (AT as in a claim's at:) or rate:M<a<b"

/* "M<x" (or "M>x") into c->metric, c->op and c->thr; rest after the number into *tail (NULL: must end there). */
static int metric_threshold(sclaim *c, const char *s, const char **tail) {
  const char *op = strpbrk(s, "<>");
  if (!op || op == s || (size_t)(op - s) >= sizeof c->metric) return 0;
  memcpy(c->metric, s, (size_t)(op - s));
  c->metric[op - s] = '\0';
  c->op = *op;
  char *end;
  c->thr = strtod(op + 1, &end);
  if (end == op + 1) return 0;
  if (tail) return *tail = end, 1;
  return !*end;
}

static sd_status parse_value(sd_sweep *s, sclaim *c, const sd_cfg_node *node, const sd_experiment *e) {
  const char *v = node->value;
  c->value_text = v;
  if (!strcmp(v, "steps")) return c->kind = V_STEPS, SD_OK;
  if (!strcmp(v, "t")) return c->kind = V_T, SD_OK;
  const char *colon = strchr(v, ':'), *atsign = strchr(v, '@');
  if (atsign && (!colon || atsign < colon)) { /* METRIC@AT */
    size_t ml = (size_t)(atsign - v);
    size_t n_rules;
    const sd_phase_rule *rules = sd_experiment_phase_rules(e, &n_rules);
    if (!ml || ml >= sizeof c->metric || strlen(atsign + 1) >= sizeof c->at || !sd_claims_at_valid(atsign + 1, sd_experiment_metrics(e), rules, n_rules))
      goto bad;
    c->kind = V_AT;
    memcpy(c->metric, v, ml);
    c->metric[ml] = '\0';
    snprintf(c->at, sizeof c->at, "%s", atsign + 1);
  } else if (!colon) {
    goto bad;
  } else {
    size_t pl = (size_t)(colon - v);
    const char *rest = colon + 1;
    if ((pl == 5 && !strncmp(v, "final", 5)) || (pl == 3 && !strncmp(v, "max", 3))) {
      c->kind = pl == 5 ? V_FINAL : V_MAX;
      if (strlen(rest) >= sizeof c->metric) goto bad;
      snprintf(c->metric, sizeof c->metric, "%s", rest);
    } else if ((pl == 10 && !strncmp(v, "first_step", 10)) || (pl == 7 && !strncmp(v, "first_t", 7))) {
      c->kind = pl == 10 ? V_FIRST_STEP : V_FIRST_T;
      if (!metric_threshold(c, rest, NULL)) goto bad;
    } else if (pl == 4 && !strncmp(v, "rate", 4)) { /* rate:M<a<b */
      const char *tail;
      c->kind = V_RATE;
      if (!metric_threshold(c, rest, &tail) || c->op != '<' || *tail != '<') goto bad;
      char *end;
      c->thr2 = strtod(tail + 1, &end);
      if (end == tail + 1 || *end || !(c->thr2 < c->thr && c->thr2 > 0))
        return sd_config_fail_node(s->cfg, node, "sweep_claims.value", "'%s': rate:M<a<b needs a > b > 0", v);
    } else {
      goto bad;
    }
  }
  if (sd_metrics_col(sd_experiment_metrics(e), c->metric) < 0)
    return sd_config_fail_node(s->cfg, node, "sweep_claims.value", "no metric '%s' in these runs", c->metric);
  return SD_OK;
bad:
  return sd_config_fail_node(s->cfg, node, "sweep_claims.value", "'%s': expected " VALUE_FORMS, v);
}

/* where: {dynamics.kind: gd} arrives nested ({dynamics: {kind: gd}}): flatten it back to swept keys. */
static sd_status read_where(sd_sweep *s, sclaim *c, const sd_cfg_node *map, const char *prefix) {
  for (size_t k = 0; k < map->n_kids; k++) {
    const sd_cfg_node *w = map->kids[k];
    char key[256];
    snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", w->key);
    if (w->kind == SD_NODE_MAP) {
      SD_TRY(read_where(s, c, w, key));
      continue;
    }
    long a = axis_index(s, key);
    if (w->kind != SD_NODE_SCALAR || a < 0)
      return sd_config_fail_node(s->cfg, w, "sweep_claims.where", "'%s' is not a swept key", key);
    if (c->n_where == 8) return sd_config_fail_node(s->cfg, w, "sweep_claims.where", "at most 8 keys");
    c->where_k[c->n_where] = s->axes[a].key; /* the axis' own string outlives this buffer */
    c->where_v[c->n_where++] = w->value;
  }
  return SD_OK;
}

static const char *const SC_KEYS[] = {"name", "value", "where", "across", "max_ratio", "min_ratio", "increasing",
                                      "decreasing", "below", "above", "log_slope", "power_law", "rtol", NULL};

static sd_status read_claims(sd_sweep *s, const sd_cfg_node *list, const sd_experiment *e) {
  if (!list) return SD_OK;
  if (list->kind != SD_NODE_SEQ) return sd_config_fail_node(s->cfg, list, "sweep_claims", "expected a list");
  s->claims = sd_calloc(list->n_kids + 1, sizeof *s->claims);
  if (!s->claims) return sd_error(SD_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < list->n_kids; i++) {
    const sd_cfg_node *n = list->kids[i];
    sclaim *c = &s->claims[s->n_claims++];
    c->node = n;
    c->max_ratio = c->min_ratio = NAN;
    c->below = INFINITY;
    c->above = -INFINITY;
    c->log_slope = c->rtol = NAN;
    if (n->kind != SD_NODE_MAP) return sd_config_fail_node(s->cfg, n, "sweep_claims", "each claim is a mapping");
    for (size_t k = 0; k < n->n_kids; k++) {
      int known = 0;
      for (int j = 0; SC_KEYS[j]; j++) known |= !strcmp(SC_KEYS[j], n->kids[k]->key);
      if (!known)
        return sd_config_fail_node(s->cfg, n->kids[k], "sweep_claims", "unknown key '%s' (name, value, where, across, max_ratio, min_ratio, increasing, decreasing, below, above, log_slope, power_law, rtol)",
                                   n->kids[k]->key);
    }
    const sd_cfg_node *name = sd_cfg_child(n, "name"), *value = sd_cfg_child(n, "value"), *where = sd_cfg_child(n, "where"),
                      *across = sd_cfg_child(n, "across");
    if (!name || name->kind != SD_NODE_SCALAR) return sd_config_fail_node(s->cfg, n, "sweep_claims.name", "every claim needs a name");
    if (!value || value->kind != SD_NODE_SCALAR) return sd_config_fail_node(s->cfg, n, "sweep_claims.value", "claim '%s' needs a value", name->value);
    c->name = name->value;
    SD_TRY(parse_value(s, c, value, e));
    if (where) {
      if (where->kind != SD_NODE_MAP)
        return sd_config_fail_node(s->cfg, where, "sweep_claims.where", "expected a mapping of swept keys to values");
      SD_TRY(read_where(s, c, where, ""));
    }
    if (across) {
      if (across->kind != SD_NODE_SCALAR || axis_index(s, across->value) < 0)
        return sd_config_fail_node(s->cfg, across, "sweep_claims.across", "not a swept key");
      c->across = across->value;
    }
    const sd_cfg_node *x;
    int conditions = 0;
    if ((x = sd_cfg_child(n, "max_ratio"))) {
      SD_TRY(number(s->cfg, x, "sweep_claims.max_ratio", &c->max_ratio));
      conditions++;
    }
    if ((x = sd_cfg_child(n, "min_ratio"))) {
      SD_TRY(number(s->cfg, x, "sweep_claims.min_ratio", &c->min_ratio));
      conditions++;
    }
    if ((x = sd_cfg_child(n, "below"))) {
      SD_TRY(number(s->cfg, x, "sweep_claims.below", &c->below));
      conditions++;
    }
    if ((x = sd_cfg_child(n, "above"))) {
      SD_TRY(number(s->cfg, x, "sweep_claims.above", &c->above));
      conditions++;
    }
    if (sd_cfg_child(n, "log_slope") && sd_cfg_child(n, "power_law"))
      return sd_config_fail_node(s->cfg, n, "sweep_claims", "claim '%s': log_slope or power_law, not both", c->name);
    if ((x = sd_cfg_child(n, "log_slope")) || (x = sd_cfg_child(n, "power_law"))) {
      c->power = !strcmp(x->key, "power_law");
      SD_TRY(number(s->cfg, x, c->power ? "sweep_claims.power_law" : "sweep_claims.log_slope", &c->log_slope));
      const sd_cfg_node *rt = sd_cfg_child(n, "rtol");
      if (!rt) return sd_config_fail_node(s->cfg, x, "sweep_claims.rtol", "%s needs rtol", x->key);
      SD_TRY(number(s->cfg, rt, "sweep_claims.rtol", &c->rtol));
      conditions++;
    }
    const char *mono[2] = {"increasing", "decreasing"};
    for (int k = 0; k < 2; k++) {
      if (!(x = sd_cfg_child(n, mono[k]))) continue;
      if (x->kind != SD_NODE_SCALAR || (strcmp(x->value, "true") && strcmp(x->value, "false")))
        return sd_config_fail_node(s->cfg, x, k ? "sweep_claims.decreasing" : "sweep_claims.increasing", "expected true or false");
      int on = !strcmp(x->value, "true");
      if (k) c->decreasing = on;
      else c->increasing = on;
      conditions += on;
    }
    if (!conditions)
      return sd_config_fail_node(s->cfg, n, "sweep_claims", "claim '%s' needs a condition (max_ratio, min_ratio, increasing, below, above)", c->name);
    if ((c->increasing || c->decreasing || !isnan(c->log_slope)) && !c->across)
      return sd_config_fail_node(s->cfg, n, "sweep_claims.across", "increasing, decreasing, log_slope and power_law need across: the axis to order by");
  }
  return SD_OK;
}

/* Appends key=value for every leaf of an override set (dotted keys arrive nested). */
static sd_status add_set(sd_sweep *s, const sd_cfg_node *n, const char *prefix, size_t *k) {
  for (size_t i = 0; i < n->n_kids; i++) {
    const sd_cfg_node *c = n->kids[i];
    char key[256];
    snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", c->key);
    if (!*prefix && !strcmp(c->key, "name")) continue;
    if (c->kind == SD_NODE_MAP) {
      SD_TRY(add_set(s, c, key, k));
      continue;
    }
    if (c->kind != SD_NODE_SCALAR) return sd_config_fail_node(s->cfg, c, "sweep.values", "'%s': only single values", key);
    if (!(s->over[*k] = sd_config_override_from(key, c->key_line, c->key_col, c))) return sd_error(SD_ERR_NOMEM, "out of memory");
    (*k)++;
  }
  return SD_OK;
}

/* Sets the axis overrides of run i into s->over (after the caller's own) and s->n_over. */
static sd_status set_overrides(sd_sweep *s, size_t i) {
  for (size_t k = s->n_user; k < s->n_over; k++) {
    sd_free(s->over[k]);
    s->over[k] = NULL;
  }
  size_t k = s->n_user;
  for (size_t a = 0; a < s->n_axes; a++) {
    const axis *ax = &s->axes[a];
    size_t stride = 1;
    for (size_t b = a + 1; b < s->n_axes; b++) stride *= s->axes[b].n;
    if (ax->sets) {
      SD_TRY(add_set(s, ax->sets[(i / stride) % ax->n], "", &k));
      continue;
    }
    /* with the places of the key and the value, so that errors name the config's lines, not the command line */
    const sd_cfg_node *key = sd_cfg_child(ax->node, "key"), *v = sd_cfg_child(ax->node, "values")->kids[(i / stride) % ax->n];
    if (!(s->over[k] = sd_config_override_from(ax->key, key->line, key->col, v))) return sd_error(SD_ERR_NOMEM, "out of memory");
    k++;
  }
  s->n_over = k;
  return SD_OK;
}

sd_status sd_sweep_prepare(const char *config_path, size_t n_overrides, char *const *overrides, sd_sweep **out) {
  *out = NULL;
  sd_config *cfg = NULL;
  SD_TRY(sd_config_load(config_path, &cfg));
  const sd_cfg_node *list = sd_config_raw(cfg, "sweep");
  if (!list) {
    sd_config_free(&cfg);
    return SD_OK;
  }
  sd_sweep *s = sd_calloc(1, sizeof *s);
  if (!s) {
    sd_config_free(&cfg);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  s->cfg = cfg;
  s->lock_fd = -1;
  s->state = "running";
  s->path = sd_strdup(config_path);
  FILE *f = fopen(config_path, "rb");
  uint64_t h = SD_FNV_OFFSET;
  char buf[8192];
  size_t got;
  while (f && (got = fread(buf, 1, sizeof buf, f)) > 0) h = sd_fnv1a(h, buf, got);
  if (f) fclose(f);
  snprintf(s->hash, sizeof s->hash, "%016llx", (unsigned long long)h);
  sd_status rc = s->path ? read_axes(s, list) : sd_error(SD_ERR_NOMEM, "out of memory");
  if (rc == SD_OK) {
    s->n_user = s->n_over = n_overrides;
    s->n_max_over = n_overrides + s->n_axes + s->n_set_overrides;
    s->over = sd_calloc(s->n_max_over + 1, sizeof *s->over);
    s->labels = sd_calloc(s->n_runs, sizeof *s->labels);
    s->status = sd_calloc(s->n_runs, sizeof *s->status);
    s->run_claims = sd_calloc(s->n_runs, sizeof *s->run_claims);
    s->n_run_claims = sd_calloc(s->n_runs, sizeof *s->n_run_claims);
    if (!s->over || !s->labels || !s->status || !s->run_claims || !s->n_run_claims) rc = sd_error(SD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == SD_OK && i < n_overrides; i++)
      if (!(s->over[i] = sd_strdup(overrides[i]))) rc = sd_error(SD_ERR_NOMEM, "out of memory");
  }
  /* every run's config must be valid: prepare each once (a few draws of data), before anything is written */
  for (size_t i = 0; rc == SD_OK && i < s->n_runs; i++) {
    rc = set_overrides(s, i);
    sd_experiment *e = NULL;
    if (rc == SD_OK) rc = sd_experiment_prepare(config_path, s->n_over, s->over, &e);
    if (rc == SD_OK && i == 0) {
      rc = read_claims(s, sd_config_raw(cfg, "sweep_claims"), e);
      s->name = sd_strdup(sd_experiment_name(e));
      if (rc == SD_OK && !s->name) rc = sd_error(SD_ERR_NOMEM, "out of memory");
    }
    /* the label: the swept keys' last components and values, e.g. kappa=10,kind=gd */
    char label[512] = "";
    size_t len = 0;
    for (size_t a = 0; rc == SD_OK && a < s->n_axes; a++) {
      const char *dot = strrchr(s->axes[a].key, '.');
      int w = snprintf(label + len, sizeof label - len, "%s%s=%s", a ? "," : "", dot ? dot + 1 : s->axes[a].key, axis_value(s, i, a));
      if (w > 0 && (size_t)w < sizeof label - len) len += (size_t)w;
    }
    for (char *p = label; *p; p++)
      if (*p == '/' || *p == ' ') *p = '_';
    if (rc == SD_OK && !(s->labels[i] = sd_strdup(label))) rc = sd_error(SD_ERR_NOMEM, "out of memory");
    sd_experiment_free(&e);
  }
  if (rc == SD_OK) {
    s->values = sd_malloc((s->n_runs * s->n_claims + 1) * sizeof *s->values);
    s->results = sd_calloc(s->n_claims + 1, sizeof *s->results);
    if (!s->values || !s->results) rc = sd_error(SD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == SD_OK && i < s->n_runs * s->n_claims; i++) s->values[i] = NAN;
    const char *seed = sd_config_peek(cfg, "seed");
    s->seed = seed ? strtoll(seed, NULL, 10) : 0;
  }
  if (rc != SD_OK) {
    sd_sweep_free(&s);
    return rc;
  }
  *out = s;
  return SD_OK;
}

static double claim_value(const sclaim *c, const sd_experiment *e) {
  if (c->kind == V_STEPS) return (double)sd_experiment_steps(e);
  if (c->kind == V_T) return sd_experiment_t(e);
  const sd_metrics *m = sd_experiment_metrics(e);
  long col = sd_metrics_col(m, c->metric);
  size_t rows = sd_metrics_rows(m);
  if (col < 0 || !rows) return NAN;
  size_t k = (size_t)col;
  if (c->kind == V_FINAL) return sd_metrics_at(m, rows - 1, k);
  if (c->kind == V_MAX) { /* NaN if any row is (as a claim's at: max) */
    double v = -INFINITY;
    for (size_t r = 0; r < rows; r++) {
      double x = sd_metrics_at(m, r, k);
      if (isnan(x)) return x;
      v = fmax(v, x);
    }
    return v;
  }
  if (c->kind == V_AT) {
    size_t n_ph;
    const sd_phase *ph = sd_experiment_phases(e, &n_ph);
    int have;
    return sd_claims_value_at(m, ph, n_ph, k, c->at, &have);
  }
  size_t r = sd_metrics_first(m, k, c->op, c->thr, 0);
  if (r == rows) return NAN; /* never reached: the claim fails */
  if (c->kind == V_RATE) { /* the mean contraction per step between the two crossings: (e_b/e_a)^(1/(k_b − k_a)) */
    size_t r2 = sd_metrics_first(m, k, '<', c->thr2, r), x = sd_experiment_is_flow(e) ? 1 : 0; /* a flow: per unit time */
    if (r2 == rows || r2 == r) return NAN; /* never reached, or no step between the two */
    double s1 = sd_metrics_at(m, r, x), s2 = sd_metrics_at(m, r2, x);
    return pow(sd_metrics_at(m, r2, k) / sd_metrics_at(m, r, k), 1.0 / (s2 - s1));
  }
  return sd_metrics_at(m, r, c->kind == V_FIRST_STEP ? 0 : 1);
}

static int matches(const sd_sweep *s, const sclaim *c, size_t i) {
  for (size_t k = 0; k < c->n_where; k++)
    if (strcmp(axis_value(s, i, (size_t)axis_index(s, c->where_k[k])), c->where_v[k])) return 0;
  return 1;
}

static void evaluate(sd_sweep *s, size_t j) {
  const sclaim *c = &s->claims[j];
  sd_claim_result *r = &s->results[j];
  snprintf(r->name, sizeof r->name, "%s", c->name);
  size_t idx[10000], n = 0;
  for (size_t i = 0; i < s->n_runs; i++)
    if (s->status[i] && matches(s, c, i)) idx[n++] = i;
  if (c->across) { /* order by the across axis, numerically */
    size_t a = (size_t)axis_index(s, c->across);
    for (size_t x = 1; x < n; x++)
      for (size_t y = x; y > 0 && strtod(axis_value(s, idx[y - 1], a), NULL) > strtod(axis_value(s, idx[y], a), NULL); y--) {
        size_t t = idx[y];
        idx[y] = idx[y - 1];
        idx[y - 1] = t;
      }
  }
  int pass = n > 0;
  double lo = INFINITY, hi = -INFINITY, prev = NAN;
  size_t len = 0;
  r->measured[0] = '\0';
  for (size_t k = 0; k < n; k++) {
    double v = s->values[idx[k] * s->n_claims + j];
    if (isnan(v)) pass = 0;
    lo = fmin(lo, v), hi = fmax(hi, v);
    if (!(v < c->below && v > c->above)) pass = 0;
    if (k > 0 && c->increasing && !(v > prev)) pass = 0;
    if (k > 0 && c->decreasing && !(v < prev)) pass = 0;
    prev = v;
    const char *lab = c->across ? axis_value(s, idx[k], (size_t)axis_index(s, c->across)) : s->labels[idx[k]];
    int w = snprintf(r->measured + len, sizeof r->measured - len, "%s%s: %.4g", k ? ", " : "", lab, v);
    if (w > 0 && (size_t)w < sizeof r->measured - len) len += (size_t)w;
  }
  double ratio = hi / lo;
  double slope = NAN;
  if (!isnan(c->log_slope)) { /* least squares of the values (power law: their log10) against log10 of the across axis */
    size_t a = (size_t)axis_index(s, c->across);
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t k = 0; k < n; k++) {
      double x = log10(strtod(axis_value(s, idx[k], a), NULL)), y = s->values[idx[k] * s->n_claims + j];
      if (c->power) y = log10(y);
      sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    if (!(n >= 2 && fabs(slope - c->log_slope) <= c->rtol * fabs(c->log_slope))) pass = 0;
    size_t l = strlen(r->measured);
    snprintf(r->measured + l, sizeof r->measured - l, c->power ? " (exponent %.4g)" : " (slope per decade %.4g)", slope);
  }
  if (!isnan(c->max_ratio) && !(lo > 0 && ratio <= c->max_ratio)) pass = 0;
  if (!isnan(c->min_ratio) && !(lo > 0 && ratio >= c->min_ratio)) pass = 0;
  r->value = ratio;
  r->pass = pass;
  char cond[160] = "";
  size_t cl = 0;
  cl += (size_t)snprintf(cond + cl, sizeof cond - cl, "%s", c->value_text);
  if (c->increasing) cl += (size_t)snprintf(cond + cl, sizeof cond - cl, " increasing in %s", c->across);
  if (c->decreasing) cl += (size_t)snprintf(cond + cl, sizeof cond - cl, " decreasing in %s", c->across);
  if (!isnan(c->log_slope))
    cl += (size_t)snprintf(cond + cl, sizeof cond - cl, c->power ? ", ∝ %s^%g ± %g%%" : ", slope per decade of %s %g ± %g%%",
                           c->across, c->log_slope, 100 * c->rtol);
  if (!isnan(c->max_ratio)) cl += (size_t)snprintf(cond + cl, sizeof cond - cl, ", max/min <= %g", c->max_ratio);
  if (!isnan(c->min_ratio)) cl += (size_t)snprintf(cond + cl, sizeof cond - cl, ", max/min >= %g", c->min_ratio);
  if (isfinite(c->below)) cl += (size_t)snprintf(cond + cl, sizeof cond - cl, ", < %g", c->below);
  if (isfinite(c->above)) snprintf(cond + cl, sizeof cond - cl, ", > %g", c->above);
  snprintf(r->condition, sizeof r->condition, "%s", cond);
}


static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static sd_status write_outputs(const sd_sweep *s) {
  char path[4200];
  snprintf(path, sizeof path, "%s/sweep.csv", s->dir);
  sd_atomic_file af;
  SD_TRY(sd_atomic_open(&af, path));
  fprintf(af.fp, "run,dir");
  for (size_t a = 0; a < s->n_axes; a++) fprintf(af.fp, ",%s", s->axes[a].key);
  fprintf(af.fp, ",status");
  for (size_t j = 0; j < s->n_claims; j++) { /* a column per sweep claim: its value in each run */
    fputs(",\"", af.fp);
    for (const char *p = s->claims[j].name; *p; p++) fprintf(af.fp, *p == '"' ? "\"\"" : "%c", *p);
    fputc('"', af.fp);
  }
  fputc('\n', af.fp);
  for (size_t i = 0; i < s->n_runs; i++) {
    fprintf(af.fp, "%zu,\"%03zu-%s\"", i, i, s->labels[i]); /* labels hold commas */
    for (size_t a = 0; a < s->n_axes; a++) fprintf(af.fp, ",%s", axis_value(s, i, a));
    fprintf(af.fp, ",%s", s->status[i] ? s->status[i] : "not_run");
    for (size_t j = 0; j < s->n_claims; j++) fprintf(af.fp, ",%.17g", s->values[i * s->n_claims + j]);
    fputc('\n', af.fp);
  }
  SD_TRY(sd_atomic_commit(&af));

  json_t *root = json_object(), *runs = json_array(), *claims = json_array();
  json_object_set_new(root, "experiment", json_string(s->name));
  json_object_set_new(root, "kind", json_string("sweep"));
  json_object_set_new(root, "status", json_string(s->state));
  char *abs = realpath(s->path, NULL);
  json_object_set_new(root, "config", json_string(abs ? abs : s->path));
  free(abs);
  json_object_set_new(root, "config_hash", json_string(s->hash));
  json_t *ov = json_array();
  for (size_t i = 0; i < s->n_user; i++) json_array_append_new(ov, json_string(s->over[i]));
  json_object_set_new(root, "overrides", ov);
  int all = 1;
  for (size_t i = 0; i < s->n_runs; i++) {
    json_t *o = json_object();
    char d[700];
    snprintf(d, sizeof d, "%03zu-%s", i, s->labels[i]);
    json_object_set_new(o, "dir", json_string(d));
    json_object_set_new(o, "status", s->status[i] ? json_string(s->status[i]) : json_null());
    json_t *ax = json_object();
    for (size_t a = 0; a < s->n_axes; a++) json_object_set_new(ax, s->axes[a].key, json_string(axis_value(s, i, a)));
    json_object_set_new(o, "values", ax);
    json_t *rc = json_array();
    for (size_t k = 0; k < s->n_run_claims[i]; k++) {
      json_t *c = json_object();
      json_object_set_new(c, "name", json_string(s->run_claims[i][k].name));
      json_object_set_new(c, "measured", json_string(s->run_claims[i][k].measured));
      json_object_set_new(c, "pass", json_boolean(s->run_claims[i][k].pass));
      all &= s->run_claims[i][k].pass;
      json_array_append_new(rc, c);
    }
    json_object_set_new(o, "claims", rc);
    json_array_append_new(runs, o);
  }
  for (size_t j = 0; j < s->n_claims; j++) {
    json_t *c = json_object();
    json_object_set_new(c, "name", json_string(s->results[j].name));
    json_object_set_new(c, "condition", json_string(s->results[j].condition));
    json_object_set_new(c, "measured", json_string(s->results[j].measured));
    json_object_set_new(c, "max_over_min", num(s->results[j].value));
    json_object_set_new(c, "pass", json_boolean(s->results[j].pass));
    all &= s->results[j].pass;
    json_array_append_new(claims, c);
  }
  json_object_set_new(root, "runs", runs);
  json_object_set_new(root, "claims", claims);
  json_object_set_new(root, "claims_pass", !strcmp(s->state, "complete") ? json_boolean(all) : json_null());
  snprintf(path, sizeof path, "%s/summary.json", s->dir);
  sd_status rc = sd_atomic_open(&af, path);
  if (rc == SD_OK) {
    if (json_dumpf(root, af.fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) != 0) {
      sd_atomic_abort(&af);
      rc = sd_error(SD_ERR_IO, "cannot write %s", path);
    } else {
      rc = sd_atomic_commit(&af);
    }
  }
  json_decref(root);
  return rc;
}

/* An adopted directory must hold a sweep of this very config and these overrides, or its runs would mix. */
static sd_status same_sweep(const sd_sweep *s) {
  char path[4200];
  snprintf(path, sizeof path, "%s/summary.json", s->dir);
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  const char *h = root ? json_string_value(json_object_get(root, "config_hash")) : NULL;
  json_t *ov = root ? json_object_get(root, "overrides") : NULL;
  int same = h && !strcmp(h, s->hash) && json_is_array(ov) && json_array_size(ov) == s->n_user;
  for (size_t i = 0; same && i < s->n_user; i++) {
    const char *o = json_string_value(json_array_get(ov, i));
    same = o && !strcmp(o, s->over[i]);
  }
  json_decref(root);
  if (same) return SD_OK;
  return sd_error(SD_ERR_CONFIG, "%s holds a sweep of another version of this config or other overrides; choose another -o directory "
                                 "(or `saddle resume %s` to finish it with its own)", s->dir, s->dir);
}

/* The thresholds the sweep values read a first crossing of, each tracked by the run at its exact step. */
static sd_status track_values(const sd_sweep *s, sd_experiment *e) {
  for (size_t j = 0; j < s->n_claims; j++) {
    const sclaim *c = &s->claims[j];
    if (c->kind == V_FIRST_STEP || c->kind == V_FIRST_T || c->kind == V_RATE) SD_TRY(sd_experiment_track(e, c->metric, c->op, c->thr));
    if (c->kind == V_RATE) SD_TRY(sd_experiment_track(e, c->metric, '<', c->thr2));
    if (c->kind == V_AT && !strncmp(c->at, "first:", 6)) {
      sclaim at = {0};
      if (metric_threshold(&at, c->at + 6, NULL)) SD_TRY(sd_experiment_track(e, at.metric, at.op, at.thr));
    }
  }
  return SD_OK;
}

/* Run i into dir: in an adopted sweep a finished run is kept (read back), an interrupted one resumed from its
 * checkpoint, anything else run again from the start. *e is the run, finished or stopped. */
static sd_status start_run(sd_sweep *s, const char *dir, const sd_run_options *o, sd_experiment **e) {
  struct stat st;
  if (s->adopted && stat(dir, &st) == 0) {
    char status[64], ck[4800];
    int have = sd_outdir_summary(dir, NULL, 0, status, sizeof status, NULL, 0);
    snprintf(ck, sizeof ck, "%s/checkpoint.bin", dir);
    if (have && sd_status_finished(status)) {
      if (sd_experiment_load(dir, e) == SD_OK) return SD_OK;
      fprintf(stderr, "saddle: %s: %s; running it again\n", dir, sd_error_message());
    } else if (have && access(ck, F_OK) == 0) {
      if (sd_experiment_resume(dir, e) == SD_OK) {
        SD_TRY(track_values(s, *e));
        return sd_experiment_run(*e, o);
      }
      fprintf(stderr, "saddle: %s: cannot resume it (%s); running it again from the start\n", dir, sd_error_message());
    }
    int lock;
    SD_TRY(sd_outdir_claim(dir, &lock));
    sd_status rc = sd_outdir_clear(dir);
    sd_outdir_release(&lock);
    SD_TRY(rc);
  }
  SD_TRY(sd_experiment_prepare(s->path, s->n_over, s->over, e));
  SD_TRY(track_values(s, *e));
  return sd_experiment_run(*e, o);
}

sd_status sd_sweep_run(sd_sweep *s, const sd_run_options *opt) {
  SD_TRY(sd_outdir_create(opt ? opt->out_dir : NULL, s->name, (unsigned long long)s->seed, SD_OUTDIR_SWEEP, &s->dir,
                          &s->lock_fd, &s->adopted));
  if (s->adopted) SD_TRY(same_sweep(s));
  s->state = "running";
  SD_TRY(write_outputs(s)); /* from here on the directory says it holds this sweep, so a rerun can adopt it */
  sd_status rc = SD_OK;
  for (size_t i = 0; rc == SD_OK && i < s->n_runs; i++) {
    rc = set_overrides(s, i);
    char dir[4700];
    snprintf(dir, sizeof dir, "%s/%03zu-%s", s->dir, i, s->labels[i]);
    sd_run_options o = {.out_dir = dir, .progress = opt ? opt->progress : 0};
    sd_experiment *e = NULL;
    if (rc == SD_OK) rc = start_run(s, dir, &o, &e);
    if (rc != SD_OK) {
      sd_experiment_free(&e);
      break;
    }
    const char *st = sd_experiment_status(e);
    /* statuses are string literals of the run layer: they outlive the experiment */
    s->status[i] = st;
    size_t nc;
    const sd_claim_result *c = sd_experiment_claims(e, &nc);
    sd_free(s->run_claims[i]);
    s->run_claims[i] = NULL;
    s->n_run_claims[i] = 0;
    if (nc) {
      s->run_claims[i] = sd_malloc(nc * sizeof *c);
      if (!s->run_claims[i]) rc = sd_error(SD_ERR_NOMEM, "out of memory");
      else memcpy(s->run_claims[i], c, nc * sizeof *c), s->n_run_claims[i] = nc;
    }
    for (size_t j = 0; j < s->n_claims; j++) s->values[i * s->n_claims + j] = claim_value(&s->claims[j], e);
    sd_experiment_free(&e);
    if (rc == SD_OK) rc = write_outputs(s); /* sweep.csv is current after every run */
    if (!strcmp(st, "interrupted")) break;
  }
  size_t done = 0;
  for (size_t i = 0; i < s->n_runs; i++) done += (size_t)sd_status_finished(s->status[i]);
  s->state = rc != SD_OK ? "error" : done == s->n_runs ? "complete" : "interrupted";
  for (size_t j = 0; j < s->n_claims; j++) {
    if (done == s->n_runs) {
      evaluate(s, j);
      continue;
    }
    /* claims across runs that never finished would be claims about partial runs: not evaluated */
    sd_claim_result *r = &s->results[j];
    snprintf(r->name, sizeof r->name, "%s", s->claims[j].name);
    snprintf(r->condition, sizeof r->condition, "%s", s->claims[j].value_text);
    snprintf(r->measured, sizeof r->measured, "not evaluated: %zu of %zu runs finished", done, s->n_runs);
    r->value = NAN;
    r->pass = 0;
  }
  if (rc != SD_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sd_error_message());
    write_outputs(s); /* the sweep's status says it failed; the run's error is what the caller reports */
    return sd_error(rc, "%s", msg);
  }
  return write_outputs(s);
}

int sd_sweep_complete(const sd_sweep *s) { return !strcmp(s->state, "complete"); }
const char *sd_sweep_state(const sd_sweep *s) { return s->state; }

sd_status sd_sweep_resume(const char *dir, sd_sweep **out) {
  *out = NULL;
  char path[4200];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  if (!root) return sd_error(SD_ERR_CONFIG, "%s: not a sweep directory (%s)", dir, err.text);
  const char *cfg = json_string_value(json_object_get(root, "config"));
  json_t *ov = json_object_get(root, "overrides");
  size_t n = json_is_array(ov) ? json_array_size(ov) : 0;
  char **over = sd_calloc(n + 1, sizeof *over);
  sd_status rc = over ? SD_OK : sd_error(SD_ERR_NOMEM, "out of memory");
  if (rc == SD_OK && !cfg) rc = sd_error(SD_ERR_CONFIG, "%s does not name the sweep's config (written by an older saddle?)", path);
  for (size_t i = 0; rc == SD_OK && i < n; i++) {
    const char *o = json_string_value(json_array_get(ov, i));
    if (!(over[i] = sd_strdup(o ? o : ""))) rc = sd_error(SD_ERR_NOMEM, "out of memory");
  }
  if (rc == SD_OK && access(cfg, R_OK) != 0)
    rc = sd_error(SD_ERR_CONFIG, "%s: the sweep's config %s is gone; run it again with `saddle run CONFIG -o %s`", dir, cfg, dir);
  if (rc == SD_OK) rc = sd_sweep_prepare(cfg, n, over, out);
  if (rc == SD_OK && !*out) rc = sd_error(SD_ERR_CONFIG, "%s: its config %s has no sweep any more", dir, cfg);
  for (size_t i = 0; over && i < n; i++) sd_free(over[i]);
  sd_free(over);
  json_decref(root);
  return rc;
}
