/* rundir.c: reading a run directory back for plotting (see rundir.h). */
#include "plot/rundir.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "saddle/alloc.h"

void sd_rundir_note(sd_rundir *rd, const char *fmt, ...) {
  char line[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  size_t add = strlen(line);
  char *n = sd_realloc(rd->notes, rd->notes_len + add + 2);
  if (!n) return;
  memcpy(n + rd->notes_len, line, add);
  n[rd->notes_len + add] = '\n';
  n[rd->notes_len + add + 1] = '\0';
  rd->notes = n;
  rd->notes_len += add + 1;
}

void sd_rundir_free(sd_rundir **prd) {
  if (!prd || !*prd) return;
  sd_rundir *rd = *prd;
  for (size_t i = 0; i < rd->n_cols; i++) sd_free(rd->cols[i]);
  sd_free(rd->cols);
  sd_free(rd->data);
  for (size_t i = 0; i < rd->n_phases; i++) sd_free(rd->phases[i].name);
  sd_free(rd->phases);
  sd_free(rd->plateaus);
  sd_free(rd->plateau_metric);
  sd_tree_free(&rd->config);
  sd_free(rd->notes);
  sd_free(rd->dir);
  sd_free(rd->experiment);
  sd_free(rd->status);
  sd_free(rd);
  *prd = NULL;
}

long sd_rundir_col(const sd_rundir *rd, const char *name) {
  for (size_t i = 0; i < rd->n_cols; i++)
    if (!strcmp(rd->cols[i], name)) return (long)i;
  return -1;
}

int sd_col_family(const char *col, char *family, size_t len) {
  const char *br = strchr(col, '[');
  size_t n = strlen(col);
  if (!br || br == col || n < 3 || col[n - 1] != ']' || (size_t)(br - col) + 1 > len) return 0;
  for (const char *p = br + 1; p < col + n - 1; p++)
    if (*p < '0' || *p > '9') return 0;
  if (br + 1 == col + n - 1) return 0;
  memcpy(family, col, (size_t)(br - col));
  family[br - col] = '\0';
  return 1;
}

size_t sd_rundir_family(const sd_rundir *rd, const char *name, size_t *cols, size_t max) {
  size_t count = 0;
  for (size_t idx = 0;; idx++) {
    char want[300];
    snprintf(want, sizeof want, "%s[%zu]", name, idx);
    long c = sd_rundir_col(rd, want);
    if (c < 0) break;
    if (cols && count < max) cols[count] = (size_t)c;
    count++;
  }
  return count;
}

sd_status sd_rundir_array(const sd_rundir *rd, const char *name, sd_array *out) {
  char path[4400];
  memset(out, 0, sizeof *out);
  snprintf(path, sizeof path, "%s/arrays/%s.npy", rd->dir, name);
  struct stat st;
  if (stat(path, &st) != 0) return sd_error(SD_ERR_CONFIG, "%s: no array '%s' in this run (%s)", rd->dir, name, strerror(errno));
  return sd_npy_read(path, out);
}

/* ---------------------------------------------------------------- metrics.csv */

/* Reads a whole file into a NUL-terminated buffer (caller frees). */
static sd_status slurp(const char *path, char **buf, size_t *len) {
  *buf = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return sd_error(SD_ERR_IO, "%s: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *b = sd_malloc(cap);
  if (!b) {
    fclose(f);
    return sd_error(SD_ERR_NOMEM, "out of memory reading %s", path);
  }
  for (;;) {
    if (n + 1 >= cap) {
      char *nb = sd_realloc(b, cap * 2);
      if (!nb) {
        sd_free(b);
        fclose(f);
        return sd_error(SD_ERR_NOMEM, "out of memory reading %s", path);
      }
      b = nb;
      cap *= 2;
    }
    size_t got = fread(b + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0) break;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    sd_free(b);
    return sd_error(SD_ERR_IO, "%s: read error", path);
  }
  b[n] = '\0';
  *buf = b;
  *len = n;
  return SD_OK;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
  return s;
}

static size_t count_fields(const char *line) {
  size_t n = 1;
  for (const char *p = line; *p; p++) n += *p == ',';
  return n;
}

static sd_status read_csv(sd_rundir *rd) {
  char path[4400];
  snprintf(path, sizeof path, "%s/metrics.csv", rd->dir);
  struct stat st;
  if (stat(path, &st) != 0) {
    /* a run that was killed keeps its rows in the temporary file they were streamed to */
    snprintf(path, sizeof path, "%s/.metrics.csv.tmp", rd->dir);
    if (stat(path, &st) != 0) return sd_error(SD_ERR_CONFIG, "%s is not a run directory: it has no metrics.csv", rd->dir);
    sd_rundir_note(rd, "%s: no metrics.csv, the run did not finish: drawing the rows it streamed to .metrics.csv.tmp", rd->dir);
  }
  char *buf;
  size_t len;
  SD_TRY(slurp(path, &buf, &len));
  int ends_nl = len > 0 && buf[len - 1] == '\n';
  /* split into lines in place */
  size_t n_lines = 0;
  for (size_t i = 0; i < len; i++) n_lines += buf[i] == '\n';
  if (!ends_nl && len > 0) n_lines++;
  char **lines = sd_malloc((n_lines + 1) * sizeof *lines);
  if (!lines) {
    sd_free(buf);
    return sd_error(SD_ERR_NOMEM, "out of memory reading %s", path);
  }
  size_t nl = 0;
  for (char *p = buf; p < buf + len;) {
    char *e = memchr(p, '\n', (size_t)(buf + len - p));
    if (e) *e = '\0';
    lines[nl++] = p;
    p = e ? e + 1 : buf + len;
  }
  sd_status rc = SD_OK;
  size_t first = 0;
  while (first < nl && trim(lines[first])[0] == '\0') first++;
  if (first == nl) {
    rc = sd_error(SD_ERR_CONFIG, "%s: metrics.csv is empty (the run stopped before writing anything)", rd->dir);
    goto done;
  }
  /* header */
  {
    char *h = trim(lines[first]);
    size_t nc = count_fields(h);
    rd->cols = sd_calloc(nc, sizeof *rd->cols);
    if (!rd->cols) {
      rc = sd_error(SD_ERR_NOMEM, "out of memory");
      goto done;
    }
    char *save = h;
    for (size_t c = 0; c < nc; c++) {
      char *comma = strchr(save, ',');
      if (comma) *comma = '\0';
      char *name = trim(save);
      char tmp[32];
      if (!*name) {
        snprintf(tmp, sizeof tmp, "column%zu", c + 1);
        name = tmp;
      }
      rd->cols[c] = sd_strdup(name);
      if (!rd->cols[c]) {
        rc = sd_error(SD_ERR_NOMEM, "out of memory");
        goto done;
      }
      rd->n_cols = c + 1;
      save = comma ? comma + 1 : save + strlen(save);
    }
  }
  rd->data = sd_malloc((nl - first) * rd->n_cols * sizeof *rd->data + 1);
  if (!rd->data) {
    rc = sd_error(SD_ERR_NOMEM, "out of memory");
    goto done;
  }
  size_t short_rows = 0, long_rows = 0, bad_fields = 0, first_bad_line = 0;
  char first_bad[64] = "";
  for (size_t i = first + 1; i < nl; i++) {
    char *line = trim(lines[i]);
    if (!*line) continue;
    size_t nf = count_fields(line);
    int last = i == nl - 1;
    if (last && !ends_nl && nf < rd->n_cols) {
      sd_rundir_note(rd, "%s/metrics.csv: the last line (%zu) is cut short (%zu of %zu fields): dropped", rd->dir,
                     i + 1, nf, rd->n_cols);
      continue;
    }
    double *row = rd->data + rd->n_rows * rd->n_cols;
    char *p = line;
    for (size_t c = 0; c < rd->n_cols; c++) {
      if (!p) {
        row[c] = NAN;
        continue;
      }
      char *comma = strchr(p, ',');
      if (comma) *comma = '\0';
      char *f = trim(p), *end = NULL;
      errno = 0;
      double v = strtod(f, &end);
      if (!*f || end == f || *trim(end) != '\0') {
        if (!bad_fields++) {
          snprintf(first_bad, sizeof first_bad, "%.40s", f);
          first_bad_line = i + 1;
        }
        v = NAN;
      }
      row[c] = v;
      p = comma ? comma + 1 : NULL;
    }
    if (nf < rd->n_cols) short_rows++;
    if (nf > rd->n_cols) long_rows++;
    rd->n_rows++;
  }
  if (short_rows)
    sd_rundir_note(rd, "%s/metrics.csv: %zu row(s) have fewer fields than the header; the missing values are shown as gaps",
                   rd->dir, short_rows);
  if (long_rows) sd_rundir_note(rd, "%s/metrics.csv: %zu row(s) have more fields than the header; extra fields ignored", rd->dir, long_rows);
  if (bad_fields)
    sd_rundir_note(rd, "%s/metrics.csv: %zu field(s) are not numbers (first: '%s' on line %zu); shown as gaps", rd->dir,
                   bad_fields, first_bad, first_bad_line);
  if (rd->n_rows == 0)
    rc = sd_error(SD_ERR_CONFIG, "%s: metrics.csv has a header but no rows (the run stopped before its first observation)", rd->dir);
done:
  sd_free(lines);
  sd_free(buf);
  return rc;
}

/* ---------------------------------------------------------------- summary.json */

static double jnum(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static sd_status read_summary(sd_rundir *rd) {
  char path[4400];
  snprintf(path, sizeof path, "%s/summary.json", rd->dir);
  struct stat st;
  if (stat(path, &st) != 0) {
    sd_rundir_note(rd, "%s: no summary.json: phases and plateaus are not shown", rd->dir);
    return SD_OK;
  }
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  if (!root || !json_is_object(root)) {
    sd_rundir_note(rd, "%s/summary.json: unreadable (%s, line %d): phases and plateaus are not shown", rd->dir,
                   root ? "not an object" : jerr.text, root ? 0 : jerr.line);
    json_decref(root);
    return SD_OK;
  }
  sd_status rc = SD_OK;
  const char *s = json_string_value(json_object_get(root, "experiment"));
  if (s && !rd->experiment && !(rd->experiment = sd_strdup(s))) rc = SD_ERR_NOMEM;
  s = json_string_value(json_object_get(root, "status"));
  if (s && rc == SD_OK) {
    sd_free(rd->status);
    if (!(rd->status = sd_strdup(s))) rc = SD_ERR_NOMEM;
    else if (!strcmp(s, "running"))
      sd_rundir_note(rd, "%s: the run has not finished (summary.json says running): phases are not known yet", rd->dir);
  }
  json_t *ph = json_object_get(root, "phases");
  if (rc == SD_OK && json_is_array(ph) && json_array_size(ph) > 0) {
    rd->phases = sd_calloc(json_array_size(ph), sizeof *rd->phases);
    if (!rd->phases) rc = SD_ERR_NOMEM;
    for (size_t i = 0; rc == SD_OK && i < json_array_size(ph); i++) {
      json_t *o = json_array_get(ph, i);
      const char *name = json_string_value(json_object_get(o, "name"));
      if (!json_is_object(o) || !name) continue;
      sd_rd_phase *p = &rd->phases[rd->n_phases];
      if (!(p->name = sd_strdup(name))) {
        rc = SD_ERR_NOMEM;
        break;
      }
      p->reached = json_is_true(json_object_get(o, "reached"));
      p->t_start = jnum(o, "t_start");
      p->t_end = jnum(o, "t_end");
      p->step_start = jnum(o, "step_start");
      p->step_end = jnum(o, "step_end");
      rd->n_phases++;
    }
  }
  json_t *pl = json_object_get(root, "plateaus");
  const char *pm = json_string_value(json_object_get(pl, "metric"));
  json_t *found = json_object_get(pl, "found");
  if (rc == SD_OK && pm && json_is_array(found)) {
    if (!(rd->plateau_metric = sd_strdup(pm))) rc = SD_ERR_NOMEM;
    if (rc == SD_OK && json_array_size(found)) {
      rd->plateaus = sd_calloc(json_array_size(found), sizeof *rd->plateaus);
      if (!rd->plateaus) rc = SD_ERR_NOMEM;
      for (size_t i = 0; rc == SD_OK && i < json_array_size(found); i++) {
        json_t *o = json_array_get(found, i);
        sd_rd_plateau q = {jnum(o, "t_start"), jnum(o, "t_end"), jnum(o, "level"), jnum(o, "jump_t")};
        if (isfinite(q.t_start) && isfinite(q.t_end) && isfinite(q.level)) rd->plateaus[rd->n_plateaus++] = q;
      }
    }
  }
  json_decref(root);
  return rc == SD_OK ? SD_OK : sd_error(SD_ERR_NOMEM, "out of memory reading %s", path);
}

/* ---------------------------------------------------------------- open */

sd_status sd_rundir_open(const char *dir, sd_rundir **out) {
  *out = NULL;
  struct stat st;
  if (stat(dir, &st) != 0) return sd_error(SD_ERR_CONFIG, "%s: no such run directory (%s)", dir, strerror(errno));
  if (!S_ISDIR(st.st_mode)) return sd_error(SD_ERR_CONFIG, "%s is not a directory (saddle plot takes run directories)", dir);
  sd_rundir *rd = sd_calloc(1, sizeof *rd);
  if (!rd) return sd_error(SD_ERR_NOMEM, "out of memory");
  rd->diverged_t = NAN;
  size_t dl = strlen(dir);
  while (dl > 1 && dir[dl - 1] == '/') dl--;
  rd->dir = sd_malloc(dl + 1);
  rd->status = sd_strdup("");
  if (!rd->dir || !rd->status) {
    sd_rundir_free(&rd);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  memcpy(rd->dir, dir, dl);
  rd->dir[dl] = '\0';
  sd_status rc = read_csv(rd);
  if (rc == SD_OK) rc = read_summary(rd);
  if (rc == SD_OK) {
    char path[4400];
    snprintf(path, sizeof path, "%s/config.resolved.yaml", rd->dir);
    if (stat(path, &st) != 0) {
      sd_rundir_note(rd, "%s: no config.resolved.yaml: its figures: and config keys are not known", rd->dir);
    } else if ((rc = sd_tree_load_file(path, &rd->config)) != SD_OK) {
      if (rc != SD_ERR_NOMEM) {
        sd_rundir_note(rd, "%s", sd_error_message());
        sd_error_clear();
        rc = SD_OK;
      }
    } else if (!rd->experiment) {
      const sd_cfg_node *n = sd_tree_at(rd->config->root, "experiment");
      if (n && n->kind == SD_NODE_SCALAR && !(rd->experiment = sd_strdup(n->value))) rc = sd_error(SD_ERR_NOMEM, "out of memory");
    }
  }
  if (rc == SD_OK && !rd->experiment) {
    const char *base = strrchr(rd->dir, '/');
    if (!(rd->experiment = sd_strdup(base ? base + 1 : rd->dir))) rc = sd_error(SD_ERR_NOMEM, "out of memory");
  }
  if (rc == SD_OK) {
    /* where the run diverged: the first non-finite loss */
    long cl = sd_rundir_col(rd, "loss"), ct = sd_rundir_col(rd, "t");
    int div = !strcmp(rd->status, "diverged");
    if (cl >= 0)
      for (size_t r = 0; r < rd->n_rows; r++) {
        double v = sd_rundir_at(rd, r, (size_t)cl);
        if (isinf(v) || (isnan(v) && div)) {
          rd->diverged_t = ct >= 0 ? sd_rundir_at(rd, r, (size_t)ct) : (double)r;
          break;
        }
      }
    if (div && isnan(rd->diverged_t) && rd->n_rows && ct >= 0)
      rd->diverged_t = sd_rundir_at(rd, rd->n_rows - 1, (size_t)ct);
  }
  if (rc != SD_OK) {
    sd_rundir_free(&rd);
    return rc;
  }
  *out = rd;
  return SD_OK;
}
