/* phases.c: phase rules from the config and segmentation of a metrics table (see phases.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/observe.h"

/* Parses "metric < 0.5" / "metric > 1e-3" into rule r (metric points into a static-lifetime copy in cfg). */
static sd_status parse_until(const sd_config *cfg, const sd_cfg_node *node, const char *text, const sd_metrics *m,
                             sd_phase_rule *r, char *metric_buf, size_t buf_len) {
  const char *op = strpbrk(text, "<>");
  if (!op) return sd_config_fail_node(cfg, node, "phases.until", "'%s': expected 'metric < number' or 'metric > number'", text);
  size_t len = (size_t)(op - text);
  while (len && text[len - 1] == ' ') len--;
  const char *start = text;
  while (*start == ' ') start++, len--;
  if (len == 0 || len >= buf_len) return sd_config_fail_node(cfg, node, "phases.until", "'%s': missing metric name", text);
  memcpy(metric_buf, start, len);
  metric_buf[len] = '\0';
  const char *num = op + 1;
  if (*num == '=') num++;
  char *end;
  double thr = strtod(num, &end);
  while (*end == ' ') end++;
  if (end == num || *end != '\0' || !isfinite(thr))
    return sd_config_fail_node(cfg, node, "phases.until", "'%s': threshold is not a number", text);
  if (sd_metrics_col(m, metric_buf) < 0)
    return sd_config_fail_node(cfg, node, "phases.until", "'%s': no metric '%s' in this run", text, metric_buf);
  r->metric = metric_buf;
  r->op = *op;
  r->threshold = thr;
  return SD_OK;
}

sd_status sd_phase_rules_from_config(const sd_config *cfg, const sd_phase_rule *defaults, size_t n_defaults,
                                     const sd_metrics *m, sd_phase_rule **rules, size_t *n_rules) {
  const sd_cfg_node *list = sd_config_list(cfg, "phases");
  size_t n = list ? list->n_kids : n_defaults;
  /* rules and the metric names they point to share one block */
  enum { NAME_LEN = 128 };
  char *block = sd_calloc(1, n * (sizeof(sd_phase_rule) + NAME_LEN) + 1);
  if (!block) return sd_error(SD_ERR_NOMEM, "out of memory");
  sd_phase_rule *r = (sd_phase_rule *)block;
  char *names = block + n * sizeof(sd_phase_rule);
  *rules = r;
  *n_rules = n;
  if (!list) {
    memcpy(r, defaults, n * sizeof *r);
    for (size_t i = 0; i < n; i++)
      if (r[i].metric && sd_metrics_col(m, r[i].metric) < 0) {
        sd_free(block);
        *rules = NULL;
        return sd_error(SD_ERR_INTERNAL, "default phase rule '%s' uses unknown metric %s", r[i].name, r[i].metric);
      }
    return SD_OK;
  }
  sd_status rc = SD_OK;
  for (size_t i = 0; i < n && rc == SD_OK; i++) {
    const sd_cfg_node *item = list->kids[i];
    if (item->kind != SD_NODE_MAP) {
      rc = sd_config_fail_node(cfg, item, "phases", "each phase is a mapping with 'name' and 'until'");
      break;
    }
    for (size_t k = 0; k < item->n_kids && rc == SD_OK; k++) {
      const sd_cfg_node *kv = item->kids[k];
      if (strcmp(kv->key, "name") && strcmp(kv->key, "until") && strcmp(kv->key, "meaning"))
        rc = sd_config_fail_node(cfg, kv, "phases", "unknown key '%s' in a phase (expected name, until, meaning)", kv->key);
      else if (kv->kind != SD_NODE_SCALAR)
        rc = sd_config_fail_node(cfg, kv, "phases", "'%s' must be a single value", kv->key);
    }
    if (rc != SD_OK) break;
    const sd_cfg_node *name = sd_cfg_child(item, "name"), *until = sd_cfg_child(item, "until"),
                      *meaning = sd_cfg_child(item, "meaning");
    if (!name) {
      rc = sd_config_fail_node(cfg, item, "phases.name", "every phase needs a name");
      break;
    }
    r[i].name = name->value;
    r[i].meaning = meaning ? meaning->value : "";
    if (until) rc = parse_until(cfg, until, until->value, m, &r[i], names + i * NAME_LEN, NAME_LEN);
    else if (i + 1 < n) rc = sd_config_fail_node(cfg, item, "phases.until", "phase '%s' needs an end condition (only the last phase may omit it)", name->value);
  }
  if (rc != SD_OK) {
    sd_free(block);
    *rules = NULL;
    *n_rules = 0;
  }
  return rc;
}

void sd_phases_detect(const sd_metrics *m, const sd_phase_rule *rules, size_t n_rules, sd_phase *out) {
  size_t rows = sd_metrics_rows(m);
  size_t start = 0;
  int reached = rows > 0;
  for (size_t i = 0; i < n_rules; i++) {
    sd_phase *p = &out[i];
    memset(p, 0, sizeof *p);
    p->name = rules[i].name;
    p->reached = reached;
    if (!reached) continue;
    size_t end = rows - 1;
    int ended = 0;
    long c = rules[i].metric ? sd_metrics_col(m, rules[i].metric) : -1;
    if (c >= 0) { /* from the row after the start, so that every reached phase lasts at least one observation */
      size_t row = sd_metrics_first(m, (size_t)c, rules[i].op, rules[i].threshold, start + (i > 0));
      if (row < rows) end = row, ended = 1;
    }
    p->first_row = start;
    p->last_row = end;
    p->step_start = sd_metrics_at(m, start, 0);
    p->step_end = sd_metrics_at(m, end, 0);
    p->t_start = sd_metrics_at(m, start, 1);
    p->t_end = sd_metrics_at(m, end, 1);
    /* the boundary observation is shared: phase i+1 starts where phase i ended */
    start = end;
    reached = ended && end < rows - 1;
  }
}
