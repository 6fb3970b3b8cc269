/* claims.c: a paper's claims as data, checked against a run's metrics and phases (see observe.h).
 *
 * Kinds of claim:
 *   - {name, phases_in_order: [a, b, c]}: each phase reached, with positive duration, in this order;
 *   - {name, metric, at, below and/or above}: the metric's value at a point of the run, where at is
 *     final | initial | min | max, start:P | end:P | min:P | max:P for a phase P, step:N (an observed step), or
 *     first:M<x (first:M>x): the first observation where metric M is ≤ x (≥ x);
 *   - {name, plateau_count: N}: the plateau detector found exactly N plateaus;
 *   - {name, jump_times: [t1, t2, ...], rtol: x}: the jumps after the plateaus happened at these times,
 *     each within relative error x;
 *   - {name, plateau_hess_min: [h1, h2, ...], rtol: x}: the smallest Hessian eigenvalue on each plateau
 *     (observe.hessian), each within relative error x: negative on a saddle;
 *   - {name, event: M, reaches: c, t: t0, rtol: x}: the first time metric M reaches c (from its initial side),
 *     interpolated between the observations around the crossing (cubic in the value where M is monotone
 *     there, else linear), is t0 within relative error x
 *     (event times, lowrank.md §5: e.g. an eigenvalue of XXᵀ reaching half its target). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/observe.h"

static const char *const CLAIM_KEYS[] = {"name", "phases_in_order", "metric", "at", "below", "above", "event", "reaches", "t",
                                         "plateau_count", "jump_times", "plateau_hess_min", "rtol", NULL};

static int known_key(const char *k) {
  for (int i = 0; CLAIM_KEYS[i]; i++)
    if (!strcmp(CLAIM_KEYS[i], k)) return 1;
  return 0;
}

/* Splits "end:alignment" into the point ("end") and the phase ("alignment", or "" if none); "step:N" into
 * "step" and the step's digits; "first:M<x" into "first" and "M<x". */
static int split_at(const char *at, char *point, size_t plen, char *phase, size_t flen) {
  const char *colon = strchr(at, ':');
  size_t n = colon ? (size_t)(colon - at) : strlen(at);
  if (n >= plen) return 0;
  memcpy(point, at, n);
  point[n] = '\0';
  snprintf(phase, flen, "%s", colon ? colon + 1 : "");
  if (colon && !strcmp(point, "step")) {
    char *end;
    long k = strtol(phase, &end, 10);
    return *phase && !*end && k >= 0;
  }
  if (colon && !strcmp(point, "first")) {
    const char *op = strpbrk(phase, "<>");
    char *end;
    if (!op || op == phase) return 0;
    double x = strtod(op + 1, &end);
    return end != op + 1 && !*end && isfinite(x);
  }
  if (colon) return !strcmp(point, "start") || !strcmp(point, "end") || !strcmp(point, "min") || !strcmp(point, "max");
  return !strcmp(point, "final") || !strcmp(point, "initial") || !strcmp(point, "min") || !strcmp(point, "max");
}

static int phase_known(const sd_phase_rule *rules, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(rules[i].name, name)) return 1;
  return 0;
}

static sd_status number(const sd_config *cfg, const sd_cfg_node *node, const char *key, double *out) {
  char *end;
  *out = strtod(node->value, &end);
  if (!*node->value || *end || !isfinite(*out))
    return sd_config_fail_node(cfg, node, key, "expected a number, got '%s'", node->value);
  return SD_OK;
}

/* "M<x" (or "M>x") of a first: point into the metric's column, the operator and the threshold; 0 if M is not a column. */
static int first_condition(const sd_metrics *m, const char *cond, long *col, char *op, double *thr) {
  const char *o = strpbrk(cond, "<>");
  char name[128];
  size_t len = (size_t)(o - cond);
  if (len >= sizeof name) return 0;
  memcpy(name, cond, len);
  name[len] = '\0';
  *col = sd_metrics_col(m, name);
  *op = *o;
  *thr = strtod(o + 1, NULL);
  return *col >= 0;
}

int sd_claims_at_valid(const char *at, const sd_metrics *m, const sd_phase_rule *rules, size_t n_rules) {
  char point[16], phase[128];
  if (!split_at(at, point, sizeof point, phase, sizeof phase)) return 0;
  if (!strcmp(point, "first")) {
    long col;
    char op;
    double thr;
    return first_condition(m, phase, &col, &op, &thr);
  }
  return !*phase || !strcmp(point, "step") || phase_known(rules, n_rules, phase);
}

static const sd_phase *find_phase(const sd_phase *ph, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(ph[i].name, name)) return &ph[i];
  return NULL;
}

double sd_claims_value_at(const sd_metrics *m, const sd_phase *phases, size_t n_phases, size_t col, const char *at,
                          int *have) {
  char point[16] = "final", phase[128] = "";
  if (at && !split_at(at, point, sizeof point, phase, sizeof phase)) return *have = 0, NAN;
  size_t rows = sd_metrics_rows(m);
  size_t lo = 0, hi = rows ? rows - 1 : 0;
  *have = rows > 0;
  if (!strcmp(point, "step")) { /* the row observed at exactly this step */
    double k = strtod(phase, NULL);
    for (size_t row = 0; row < rows; row++)
      if (sd_metrics_at(m, row, 0) == k) return sd_metrics_at(m, row, col);
    return *have = 0, NAN;
  }
  if (!strcmp(point, "first")) { /* the first row where another metric crosses a threshold */
    long c;
    char op;
    double thr;
    if (!first_condition(m, phase, &c, &op, &thr)) return *have = 0, NAN;
    size_t row = sd_metrics_first(m, (size_t)c, op, thr, 0);
    return row < rows ? sd_metrics_at(m, row, col) : (*have = 0, NAN);
  }
  if (*phase) {
    const sd_phase *p = find_phase(phases, n_phases, phase);
    *have = p && p->reached;
    if (*have) lo = p->first_row, hi = p->last_row;
  }
  if (!*have) return NAN;
  if (!strcmp(point, "final") || !strcmp(point, "end")) return sd_metrics_at(m, hi, col);
  if (!strcmp(point, "initial") || !strcmp(point, "start")) return sd_metrics_at(m, lo, col);
  int want_min = !strcmp(point, "min");
  double v = sd_metrics_at(m, lo, col);
  for (size_t row = lo + 1; row <= hi; row++) {
    double x = sd_metrics_at(m, row, col);
    if (isnan(x)) return x;
    if (want_min ? x < v : x > v) v = x;
  }
  return v;
}

sd_status sd_claims_check_config(const sd_config *cfg, const sd_metrics *m, const sd_phase_rule *rules,
                                 size_t n_rules) {
  const sd_cfg_node *list = sd_config_list(cfg, "claims");
  if (!list) return SD_OK;
  for (size_t i = 0; i < list->n_kids; i++) {
    const sd_cfg_node *c = list->kids[i];
    if (c->kind != SD_NODE_MAP) return sd_config_fail_node(cfg, c, "claims", "each claim is a mapping");
    for (size_t k = 0; k < c->n_kids; k++) {
      const sd_cfg_node *kv = c->kids[k];
      if (!known_key(kv->key))
        return sd_config_fail_node(cfg, kv, "claims", "unknown key '%s' in a claim (expected name, phases_in_order, or metric, at, below, above)", kv->key);
      if (strcmp(kv->key, "phases_in_order") && strcmp(kv->key, "jump_times") && strcmp(kv->key, "plateau_hess_min") &&
          kv->kind != SD_NODE_SCALAR)
        return sd_config_fail_node(cfg, kv, "claims", "'%s' must be a single value", kv->key);
    }
    const sd_cfg_node *name = sd_cfg_child(c, "name"), *order = sd_cfg_child(c, "phases_in_order"),
                      *metric = sd_cfg_child(c, "metric"), *at = sd_cfg_child(c, "at"),
                      *below = sd_cfg_child(c, "below"), *above = sd_cfg_child(c, "above");
    const sd_cfg_node *count = sd_cfg_child(c, "plateau_count"), *jumps = sd_cfg_child(c, "jump_times"),
                      *rtol = sd_cfg_child(c, "rtol");
    const char *list_key = "claims.jump_times";
    if (!jumps && (jumps = sd_cfg_child(c, "plateau_hess_min")) != NULL) list_key = "claims.plateau_hess_min";
    if (!name) return sd_config_fail_node(cfg, c, "claims.name", "every claim needs a name");
    const sd_cfg_node *event = sd_cfg_child(c, "event");
    if (!!order + !!metric + !!count + !!sd_cfg_child(c, "jump_times") + !!sd_cfg_child(c, "plateau_hess_min") + !!event != 1)
      return sd_config_fail_node(cfg, c, "claims",
                                 "claim '%s' needs exactly one of phases_in_order, metric, plateau_count, jump_times, plateau_hess_min, event",
                                 name->value);
    double x;
    if (event) {
      if (sd_metrics_col(m, event->value) < 0)
        return sd_config_fail_node(cfg, event, "claims.event", "no metric '%s' in this run", event->value);
      const char *need[] = {"reaches", "t", "rtol"};
      for (int k = 0; k < 3; k++) {
        const sd_cfg_node *v = sd_cfg_child(c, need[k]);
        char key[32];
        snprintf(key, sizeof key, "claims.%s", need[k]);
        if (!v) return sd_config_fail_node(cfg, c, key, "claim '%s' (an event) needs %s", name->value, need[k]);
        SD_TRY(number(cfg, v, key, &x));
        if (k > 0 && !(x > 0)) return sd_config_fail_node(cfg, v, key, "must be positive (a relative tolerance around a time > 0)");
      }
      continue;
    }
    if (count) {
      SD_TRY(number(cfg, count, "claims.plateau_count", &x));
      continue;
    }
    if (jumps) {
      if (jumps->kind != SD_NODE_SEQ || jumps->n_kids == 0)
        return sd_config_fail_node(cfg, jumps, list_key, "expected a non-empty list of numbers");
      for (size_t k = 0; k < jumps->n_kids; k++) {
        if (jumps->kids[k]->kind != SD_NODE_SCALAR)
          return sd_config_fail_node(cfg, jumps->kids[k], list_key, "expected a number");
        SD_TRY(number(cfg, jumps->kids[k], list_key, &x));
      }
      if (!rtol) return sd_config_fail_node(cfg, c, "claims.rtol", "claim '%s' needs rtol", name->value);
      SD_TRY(number(cfg, rtol, "claims.rtol", &x));
      continue;
    }
    if (order) {
      if (order->kind != SD_NODE_SEQ || order->n_kids == 0)
        return sd_config_fail_node(cfg, order, "claims.phases_in_order", "expected a non-empty list of phase names");
      for (size_t k = 0; k < order->n_kids; k++)
        if (order->kids[k]->kind != SD_NODE_SCALAR || !phase_known(rules, n_rules, order->kids[k]->value))
          return sd_config_fail_node(cfg, order->kids[k], "claims.phases_in_order", "'%s' is not a phase of this run",
                                     order->kids[k]->kind == SD_NODE_SCALAR ? order->kids[k]->value : "?");
      continue;
    }
    if (sd_metrics_col(m, metric->value) < 0)
      return sd_config_fail_node(cfg, metric, "claims.metric", "no metric '%s' in this run", metric->value);
    if (!below && !above)
      return sd_config_fail_node(cfg, c, "claims", "claim '%s' needs 'below' and/or 'above'", name->value);
    if (below) SD_TRY(number(cfg, below, "claims.below", &x));
    if (above) SD_TRY(number(cfg, above, "claims.above", &x));
    if (at && !sd_claims_at_valid(at->value, m, rules, n_rules))
      return sd_config_fail_node(cfg, at, "claims.at", "'%s': expected final, initial, min, max, start:P, end:P, min:P, max:P for a phase P of this run, step:N, or first:M<x (first:M>x) for a metric M", at->value);
  }
  return SD_OK;
}

/* Plateau claims: the count, or the jump times against a list. */
static void plateau_claim(const sd_cfg_node *c, const sd_plateau *pl, size_t np, sd_claim_result *r) {
  const sd_cfg_node *count = sd_cfg_child(c, "plateau_count");
  if (count) {
    long want = strtol(count->value, NULL, 10);
    r->value = (double)np;
    r->pass = (long)np == want;
    snprintf(r->condition, sizeof r->condition, "plateaus found == %ld", want);
    snprintf(r->measured, sizeof r->measured, "%zu", np);
    return;
  }
  /* a list claim: the measured values (jump times, or each plateau's hess_min) against the expected ones */
  const sd_cfg_node *jumps = sd_cfg_child(c, "jump_times");
  int hess = !jumps;
  if (hess) jumps = sd_cfg_child(c, "plateau_hess_min");
  double rtol = strtod(sd_cfg_child(c, "rtol")->value, NULL), worst = 0;
  size_t nj = 0, len = 0;
  r->measured[0] = '\0';
  for (size_t k = 0; k < np; k++) {
    if (!hess && !pl[k].has_jump) continue;
    double v = hess ? pl[k].hess_min : pl[k].jump_t;
    if (nj < jumps->n_kids) {
      double e = fabs(v / strtod(jumps->kids[nj]->value, NULL) - 1);
      worst = isnan(e) ? INFINITY : fmax(worst, e);
    }
    int w = snprintf(r->measured + len, sizeof r->measured - len, "%s%.4g", nj ? ", " : "", v);
    if (w > 0 && (size_t)w < sizeof r->measured - len) len += (size_t)w;
    nj++;
  }
  r->value = worst;
  r->pass = nj == jumps->n_kids && worst <= rtol;
  snprintf(r->condition, sizeof r->condition, "%zu %s, each within %s", jumps->n_kids,
           hess ? "plateau curvatures" : "jumps at the given times", sd_cfg_child(c, "rtol")->value);
  if (nj == jumps->n_kids) {
    size_t l = strlen(r->measured);
    snprintf(r->measured + l, sizeof r->measured - l, " (worst %.2g)", worst);
  }
}

/* The first time column col reaches the level c from the side it starts on, interpolated between the
 * observations around the crossing (cubic where the metric is monotone there, else linear). */
static void event_claim(const sd_cfg_node *c, const sd_metrics *m, size_t col, sd_claim_result *r) {
  double level = strtod(sd_cfg_child(c, "reaches")->value, NULL), want = strtod(sd_cfg_child(c, "t")->value, NULL),
         rtol = strtod(sd_cfg_child(c, "rtol")->value, NULL);
  size_t rows = sd_metrics_rows(m);
  double t = NAN;
  if (rows > 0) {
    double v0 = sd_metrics_at(m, 0, col);
    int above = v0 >= level;
    if (v0 == level) t = sd_metrics_at(m, 0, 1);
    for (size_t k = 1; k < rows && isnan(t); k++) {
      double a = sd_metrics_at(m, k - 1, col), b = sd_metrics_at(m, k, col);
      if (above ? b > level : b < level) continue;
      double ta = sd_metrics_at(m, k - 1, 1), tb = sd_metrics_at(m, k, 1);
      t = b == a ? tb : ta + (tb - ta) * (level - a) / (b - a);
      /* cubic inverse interpolation t(value) through the four observations around the crossing when the metric is
       * strictly monotone there (error O(Δt⁴) instead of the line's O(Δt²)) */
      if (k >= 2 && k + 1 < rows) {
        double v[4], tt[4];
        int mono = 1;
        for (int j = 0; j < 4; j++) v[j] = sd_metrics_at(m, k - 2 + (size_t)j, col), tt[j] = sd_metrics_at(m, k - 2 + (size_t)j, 1);
        for (int j = 1; j < 4; j++) mono &= above ? v[j] < v[j - 1] : v[j] > v[j - 1];
        if (mono) {
          t = 0;
          for (int j = 0; j < 4; j++) {
            double w = tt[j];
            for (int i = 0; i < 4; i++)
              if (i != j) w *= (level - v[i]) / (v[j] - v[i]);
            t += w;
          }
        }
      }
    }
  }
  r->value = t;
  r->pass = !isnan(t) && fabs(t / want - 1) <= rtol;
  snprintf(r->condition, sizeof r->condition, "%s reaches %s at t = %s ± %s", sd_cfg_child(c, "event")->value,
           sd_cfg_child(c, "reaches")->value, sd_cfg_child(c, "t")->value, sd_cfg_child(c, "rtol")->value);
  if (isnan(t)) snprintf(r->measured, sizeof r->measured, "never");
  else snprintf(r->measured, sizeof r->measured, "t = %.8g (rel. error %.2g)", t, fabs(t / want - 1));
}

sd_status sd_claims_evaluate(const sd_config *cfg, const sd_metrics *m, const sd_phase *phases, size_t n_phases,
                             const sd_plateau *plateaus, size_t n_plateaus, sd_claim_result **out, size_t *n) {
  const sd_cfg_node *list = sd_config_list(cfg, "claims");
  *out = NULL;
  *n = 0;
  if (!list || list->n_kids == 0) return SD_OK;
  sd_claim_result *res = sd_calloc(list->n_kids, sizeof *res);
  if (!res) return sd_error(SD_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < list->n_kids; i++) {
    const sd_cfg_node *c = list->kids[i];
    sd_claim_result *r = &res[i];
    snprintf(r->name, sizeof r->name, "%s", sd_cfg_child(c, "name")->value);
    r->value = NAN;
    if (sd_cfg_child(c, "plateau_count") || sd_cfg_child(c, "jump_times") || sd_cfg_child(c, "plateau_hess_min")) {
      plateau_claim(c, plateaus, n_plateaus, r);
      continue;
    }
    const sd_cfg_node *event = sd_cfg_child(c, "event");
    if (event) {
      event_claim(c, m, (size_t)sd_metrics_col(m, event->value), r);
      continue;
    }
    const sd_cfg_node *order = sd_cfg_child(c, "phases_in_order");
    if (order) {
      int ok = 1;
      double last_t = -INFINITY;
      size_t len = 0;
      r->measured[0] = '\0';
      for (size_t k = 0; k < order->n_kids; k++) {
        const sd_phase *p = find_phase(phases, n_phases, order->kids[k]->value);
        char part[96];
        if (!p || !p->reached) {
          ok = 0;
          snprintf(part, sizeof part, "%s%s not reached", k ? ", " : "", order->kids[k]->value);
        } else {
          if (!(p->t_end > p->t_start) || p->t_start < last_t) ok = 0;
          snprintf(part, sizeof part, "%s%s [%.3g, %.3g]", k ? ", " : "", p->name, p->t_start, p->t_end);
          last_t = p->t_end;
        }
        if (len + strlen(part) < sizeof r->measured) {
          strcpy(r->measured + len, part);
          len += strlen(part);
        }
      }
      len = 0;
      for (size_t k = 0; k < order->n_kids; k++) {
        int w = snprintf(r->condition + len, sizeof r->condition - len, "%s%s", k ? " -> " : "phases ", order->kids[k]->value);
        if (w < 0 || (size_t)w >= sizeof r->condition - len) break;
        len += (size_t)w;
      }
      r->pass = ok;
      continue;
    }
    const char *metric = sd_cfg_child(c, "metric")->value;
    const sd_cfg_node *at = sd_cfg_child(c, "at"), *below = sd_cfg_child(c, "below"), *above = sd_cfg_child(c, "above");
    int have;
    double v = sd_claims_value_at(m, phases, n_phases, (size_t)sd_metrics_col(m, metric), at ? at->value : NULL, &have);
    double b = below ? strtod(below->value, NULL) : INFINITY, a = above ? strtod(above->value, NULL) : -INFINITY;
    r->value = v;
    r->pass = have && !isnan(v) && v < b && v > a;
    char cond[96];
    if (below && above) snprintf(cond, sizeof cond, "in (%s, %s)", above->value, below->value);
    else if (below) snprintf(cond, sizeof cond, "< %s", below->value);
    else snprintf(cond, sizeof cond, "> %s", above->value);
    snprintf(r->condition, sizeof r->condition, "%s at %s %s", metric, at ? at->value : "final", cond);
    if (have) snprintf(r->measured, sizeof r->measured, "%.4g", v);
    else snprintf(r->measured, sizeof r->measured, "%s not reached", at ? at->value : "final");
  }
  *out = res;
  *n = list->n_kids;
  return SD_OK;
}
