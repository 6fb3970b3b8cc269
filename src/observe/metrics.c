/* metrics.c: the in-memory metrics table and its CSV stream (see observe.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/atomicfile.h"
#include "saddle/observe.h"

struct sd_metrics {
  size_t n_cols, n_rows, max_rows;
  char **names;   /* n_cols owned strings */
  double *data;   /* max_rows × n_cols */
  sd_atomic_file csv;
  int csv_open;
};

sd_status sd_metrics_create(sd_metrics **out, size_t n_obs, const char *const *names, const size_t *lens,
                            size_t max_rows) {
  sd_metrics *m = sd_calloc(1, sizeof *m);
  if (!m) return sd_error(SD_ERR_NOMEM, "out of memory");
  *out = m;
  size_t n = 3;
  for (size_t i = 0; i < n_obs; i++) n += lens[i];
  m->names = sd_calloc(n, sizeof *m->names);
  m->data = sd_malloc(max_rows * n * sizeof *m->data);
  m->max_rows = max_rows;
  if (!m->names || !m->data) goto nomem;
  const char *fixed[3] = {"step", "t", "loss"};
  for (size_t i = 0; i < 3; i++)
    if (!(m->names[m->n_cols++] = sd_strdup(fixed[i]))) goto nomem;
  for (size_t i = 0; i < n_obs; i++) {
    for (size_t j = 0; j < lens[i]; j++) {
      char buf[128];
      if (lens[i] == 1) snprintf(buf, sizeof buf, "%s", names[i]);
      else snprintf(buf, sizeof buf, "%s[%zu]", names[i], j);
      if (!(m->names[m->n_cols++] = sd_strdup(buf))) goto nomem;
    }
  }
  return SD_OK;
nomem:
  sd_metrics_free(out);
  return sd_error(SD_ERR_NOMEM, "out of memory for the metrics table");
}

sd_status sd_metrics_reserve(sd_metrics *m, size_t extra) {
  double *d = sd_realloc(m->data, (m->max_rows + extra) * m->n_cols * sizeof *d);
  if (!d) return sd_error(SD_ERR_NOMEM, "out of memory for the metrics table");
  m->data = d;
  m->max_rows += extra;
  return SD_OK;
}

void sd_metrics_free(sd_metrics **pm) {
  sd_metrics *m = *pm;
  if (!m) return;
  if (m->csv_open) sd_atomic_abort(&m->csv);
  for (size_t i = 0; i < m->n_cols; i++) sd_free(m->names[i]);
  sd_free(m->names);
  sd_free(m->data);
  sd_free(m);
  *pm = NULL;
}

sd_status sd_metrics_open_csv(sd_metrics *m, const char *path) {
  SD_TRY(sd_atomic_open(&m->csv, path));
  m->csv_open = 1;
  for (size_t c = 0; c < m->n_cols; c++) fprintf(m->csv.fp, "%s%s", c ? "," : "", m->names[c]);
  fputc('\n', m->csv.fp);
  return SD_OK;
}

sd_status sd_metrics_commit_csv(sd_metrics *m) {
  if (!m->csv_open) return SD_OK;
  m->csv_open = 0;
  return sd_atomic_commit(&m->csv);
}

static void write_value(FILE *f, double v) {
  if (isnan(v)) fputs("nan", f);
  else if (isinf(v)) fputs(v > 0 ? "inf" : "-inf", f);
  else fprintf(f, "%.17g", v); /* round-trips exactly */
}

sd_status sd_metrics_add(sd_metrics *m, double step, double t, double loss, const double *obs) {
  if (m->n_rows == m->max_rows) return sd_error(SD_ERR_INTERNAL, "metrics table full (%zu rows)", m->max_rows);
  double *row = m->data + m->n_rows * m->n_cols;
  row[0] = step;
  row[1] = t;
  row[2] = loss;
  if (m->n_cols > 3) memcpy(row + 3, obs, (m->n_cols - 3) * sizeof *row);
  m->n_rows++;
  if (m->csv_open) {
    fprintf(m->csv.fp, "%.0f", step);
    for (size_t c = 1; c < m->n_cols; c++) {
      fputc(',', m->csv.fp);
      write_value(m->csv.fp, row[c]);
    }
    fputc('\n', m->csv.fp);
    /* the partial file can be watched while the run goes on; a full disk stops the run here, not at the end */
    if (fflush(m->csv.fp) != 0 || ferror(m->csv.fp))
      return sd_error(SD_ERR_IO, "cannot write %s: %s", m->csv.path, strerror(errno));
  }
  return SD_OK;
}

size_t sd_metrics_rows(const sd_metrics *m) { return m->n_rows; }
const double *sd_metrics_data(const sd_metrics *m) { return m->data; }
size_t sd_metrics_cols(const sd_metrics *m) { return m->n_cols; }
const char *sd_metrics_name(const sd_metrics *m, size_t col) { return m->names[col]; }
double sd_metrics_at(const sd_metrics *m, size_t row, size_t col) { return m->data[row * m->n_cols + col]; }

long sd_metrics_col(const sd_metrics *m, const char *name) {
  for (size_t c = 0; c < m->n_cols; c++)
    if (strcmp(m->names[c], name) == 0) return (long)c;
  return -1;
}

size_t sd_metrics_first(const sd_metrics *m, size_t col, char op, double thr, size_t from) {
  size_t rows = sd_metrics_rows(m);
  for (size_t r = from; r < rows; r++) {
    double v = sd_metrics_at(m, r, col);
    if (op == '<' ? v <= thr : v >= thr) return r;
  }
  return rows;
}
