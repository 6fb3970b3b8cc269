/* arrays.c: the registry of arrays a run draws or loads, saved to arrays/ (see problem.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/npy.h"
#include "saddle/problem.h"

#define MAX_ARRAYS 32

typedef struct {
  char name[64];
  int ndim;
  size_t shape[SD_NPY_MAXDIM];
  const double *data;
  sd_array_fill_fn fill; /* or produced at save time */
  const void *ctx;
  int loaded;
} reg;

struct sd_arrays {
  const sd_config *cfg;
  reg items[MAX_ARRAYS];
  size_t n;
};

sd_status sd_arrays_create(const sd_config *cfg, sd_arrays **out) {
  *out = sd_calloc(1, sizeof **out);
  if (!*out) return sd_error(SD_ERR_NOMEM, "out of memory");
  (*out)->cfg = cfg;
  return SD_OK;
}

void sd_arrays_free(sd_arrays **a) {
  sd_free(*a);
  *a = NULL;
}

static sd_status add(sd_arrays *a, const char *name, int ndim, const size_t *shape, const double *data, int loaded) {
  if (a->n == MAX_ARRAYS || ndim > SD_NPY_MAXDIM || strlen(name) >= sizeof a->items[0].name)
    return sd_error(SD_ERR_INTERNAL, "array registry: cannot register %s", name);
  reg *r = &a->items[a->n++];
  snprintf(r->name, sizeof r->name, "%s", name);
  r->ndim = ndim;
  memcpy(r->shape, shape, (size_t)ndim * sizeof *shape);
  r->data = data;
  r->fill = NULL;
  r->ctx = NULL;
  r->loaded = loaded;
  return SD_OK;
}

static void shape_str(char *buf, size_t len, int ndim, const size_t *shape) {
  size_t o = (size_t)snprintf(buf, len, "(");
  for (int i = 0; i < ndim && o < len; i++) o += (size_t)snprintf(buf + o, len - o, "%zu%s", shape[i], i + 1 < ndim ? ", " : "");
  if (o < len) snprintf(buf + o, len - o, ")");
}

sd_status sd_arrays_register_fn(sd_arrays *a, const char *name, int ndim, const size_t *shape, sd_array_fill_fn fill,
                                const void *ctx, int loaded) {
  SD_TRY(add(a, name, ndim, shape, NULL, loaded));
  a->items[a->n - 1].fill = fill;
  a->items[a->n - 1].ctx = ctx;
  return SD_OK;
}

sd_status sd_arrays_load_or_draw(sd_arrays *a, const char *name, int ndim, const size_t *shape, double *dst,
                                 int *loaded) {
  SD_TRY(sd_arrays_try_load(a, name, ndim, shape, dst, loaded));
  return add(a, name, ndim, shape, dst, *loaded);
}

sd_status sd_arrays_try_load(sd_arrays *a, const char *name, int ndim, const size_t *shape, double *dst, int *loaded) {
  char key[96];
  snprintf(key, sizeof key, "arrays.%s", name);
  char *path = sd_config_path(a->cfg, key);
  *loaded = 0;
  if (path) {
    sd_array arr;
    sd_status rc = sd_npy_read(path, &arr);
    if (rc != SD_OK) {
      char msg[1024];
      snprintf(msg, sizeof msg, "%s", sd_error_message());
      sd_free(path);
      if (rc == SD_ERR_NOMEM) return rc;
      return sd_config_fail(a->cfg, key, "%s", msg);
    }
    int same = arr.ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = arr.shape[i] == shape[i];
    if (!same) {
      char want[96], got[96];
      shape_str(want, sizeof want, ndim, shape);
      shape_str(got, sizeof got, arr.ndim, arr.shape);
      sd_array_free(&arr);
      rc = sd_config_fail(a->cfg, key, "%s has shape %s, but this problem needs %s", path, got, want);
      sd_free(path);
      return rc;
    }
    /* a NaN or an inf would only show as a divergence once the run is under way: refuse it here */
    for (size_t i = 0, n = sd_array_size(&arr); i < n; i++) {
      if (isfinite(arr.data[i])) continue;
      size_t idx[SD_NPY_MAXDIM], rest = i;
      for (int d = ndim - 1; d >= 0; d--) idx[d] = rest % shape[d], rest /= shape[d];
      char at[96];
      shape_str(at, sizeof at, ndim, idx);
      const char *what = isnan(arr.data[i]) ? "NaN" : arr.data[i] > 0 ? "inf" : "-inf";
      sd_array_free(&arr);
      rc = sd_config_fail(a->cfg, key, "%s: entry %s is %s; a supplied array must be finite", path, at, what);
      sd_free(path);
      return rc;
    }
    memcpy(dst, arr.data, sd_array_size(&arr) * sizeof(double));
    sd_array_free(&arr);
    sd_free(path);
    *loaded = 1;
  }
  return SD_OK;
}

sd_status sd_arrays_register(sd_arrays *a, const char *name, int ndim, const size_t *shape, const double *data) {
  return add(a, name, ndim, shape, data, 0);
}

static sd_status append_name(char **list, const char *name) {
  size_t old = *list ? strlen(*list) : 0;
  char *s = sd_realloc(*list, old + strlen(name) + 3);
  if (!s) return sd_error(SD_ERR_NOMEM, "out of memory");
  sprintf(s + old, "%s%s", old ? ", " : "", name);
  *list = s;
  return SD_OK;
}

sd_status sd_arrays_save(const sd_arrays *a, const char *dir, size_t max_bytes, char **skipped) {
  *skipped = NULL;
  for (size_t i = 0; i < a->n; i++) {
    const reg *r = &a->items[i];
    size_t count = 1;
    for (int d = 0; d < r->ndim; d++) count *= r->shape[d];
    if (count * sizeof(double) > max_bytes) {
      SD_TRY(append_name(skipped, r->name));
      continue;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", dir, r->name);
    if (r->fill) {
      double *buf = sd_malloc(count * sizeof(double));
      if (!buf) return sd_error(SD_ERR_NOMEM, "out of memory saving %s (%zu numbers)", r->name, count);
      r->fill(r->ctx, buf);
      sd_status rc = sd_npy_write(path, buf, r->ndim, r->shape);
      sd_free(buf);
      SD_TRY(rc);
    } else {
      SD_TRY(sd_npy_write(path, r->data, r->ndim, r->shape));
    }
  }
  return SD_OK;
}

char *sd_arrays_loaded_names(const sd_arrays *a) {
  char *list = NULL;
  for (size_t i = 0; i < a->n; i++)
    if (a->items[i].loaded && append_name(&list, a->items[i].name) != SD_OK) break;
  return list;
}
