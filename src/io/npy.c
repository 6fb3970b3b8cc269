/* npy.c: NumPy .npy format, float64 little-endian only, C or Fortran order (see npy.h). */
#include "saddle/npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/atomicfile.h"

static const char MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

size_t sd_array_size(const sd_array *a) {
  size_t n = 1;
  for (int i = 0; i < a->ndim; i++) n *= a->shape[i];
  return n;
}

void sd_array_free(sd_array *a) {
  sd_free(a->data);
  a->data = NULL;
  a->ndim = 0;
}

sd_status sd_npy_write(const char *path, const double *data, int ndim, const size_t *shape) {
  if (ndim < 0 || ndim > SD_NPY_MAXDIM) return sd_error(SD_ERR_INTERNAL, "npy: bad ndim %d", ndim);
  char dict[512];
  int len = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (");
  size_t count = 1;
  for (int i = 0; i < ndim; i++) {
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%zu%s", shape[i], (ndim == 1 || i < ndim - 1) ? ", " : "");
    count *= shape[i];
  }
  len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
  /* pad with spaces so that data starts on a 64-byte boundary, header ends in '\n' */
  size_t total = 10 + (size_t)len + 1;
  size_t pad = (64 - total % 64) % 64;
  size_t hlen = (size_t)len + pad + 1;
  sd_atomic_file af;
  SD_TRY(sd_atomic_open(&af, path));
  unsigned char pre[10];
  memcpy(pre, MAGIC, 6);
  pre[6] = 1;
  pre[7] = 0;
  pre[8] = (unsigned char)(hlen & 0xff);
  pre[9] = (unsigned char)(hlen >> 8);
  fwrite(pre, 1, 10, af.fp);
  fwrite(dict, 1, (size_t)len, af.fp);
  for (size_t i = 0; i < pad; i++) fputc(' ', af.fp);
  fputc('\n', af.fp);
  if (count) fwrite(data, sizeof(double), count, af.fp); /* x86-64 and arm64 are little-endian */
  return sd_atomic_commit(&af);
}

/* Finds `'key':` in the header dict and returns a pointer just past the colon and any spaces. */
static const char *dict_value(const char *h, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "'%s'", key);
  const char *p = strstr(h, pat);
  if (!p) return NULL;
  p = strchr(p + strlen(pat), ':');
  if (!p) return NULL;
  p++;
  while (*p == ' ') p++;
  return p;
}

sd_status sd_npy_read(const char *path, sd_array *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return sd_error(SD_ERR_CONFIG, "%s: cannot open: %s", path, strerror(errno));
  sd_status rc = SD_OK;
  char *header = NULL;
  unsigned char pre[12];
  if (fread(pre, 1, 8, f) != 8 || memcmp(pre, MAGIC, 6) != 0) {
    rc = sd_error(SD_ERR_CONFIG, "%s: not a .npy file (bad magic)", path);
    goto done;
  }
  size_t hlen;
  if (pre[6] == 1) {
    if (fread(pre + 8, 1, 2, f) != 2) goto truncated;
    hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
  } else if (pre[6] == 2 || pre[6] == 3) {
    if (fread(pre + 8, 1, 4, f) != 4) goto truncated;
    hlen = (size_t)pre[8] | ((size_t)pre[9] << 8) | ((size_t)pre[10] << 16) | ((size_t)pre[11] << 24);
  } else {
    rc = sd_error(SD_ERR_CONFIG, "%s: unsupported .npy version %d.%d", path, pre[6], pre[7]);
    goto done;
  }
  if (hlen > (1u << 20)) {
    rc = sd_error(SD_ERR_CONFIG, "%s: .npy header too long (%zu bytes)", path, hlen);
    goto done;
  }
  header = sd_malloc(hlen + 1);
  if (!header) {
    rc = sd_error(SD_ERR_NOMEM, "out of memory reading %s", path);
    goto done;
  }
  if (fread(header, 1, hlen, f) != hlen) goto truncated;
  header[hlen] = '\0';
  const char *d = dict_value(header, "descr");
  if (!d || strncmp(d, "'<f8'", 5) != 0) {
    char dt[16] = "?";
    if (d) sscanf(d, "'%15[^']'", dt);
    rc = sd_error(SD_ERR_CONFIG, "%s: dtype '%s' is not float64 ('<f8'); save it with x.astype(np.float64)", path, dt);
    goto done;
  }
  const char *fo = dict_value(header, "fortran_order");
  int fortran = fo && strncmp(fo, "True", 4) == 0;
  if (!fo || (!fortran && strncmp(fo, "False", 5) != 0)) {
    rc = sd_error(SD_ERR_CONFIG, "%s: .npy header has no fortran_order True or False", path);
    goto done;
  }
  const char *s = dict_value(header, "shape");
  if (!s || *s != '(') {
    rc = sd_error(SD_ERR_CONFIG, "%s: .npy header has no shape", path);
    goto done;
  }
  s++;
  while (*s && *s != ')') {
    while (*s == ' ' || *s == ',') s++;
    if (*s == ')') break;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || out->ndim == SD_NPY_MAXDIM) {
      rc = sd_error(SD_ERR_CONFIG, "%s: cannot parse .npy shape", path);
      goto done;
    }
    out->shape[out->ndim++] = (size_t)v;
    s = end;
  }
  size_t count = sd_array_size(out);
  out->data = sd_malloc(count * sizeof(double));
  if (!out->data) {
    rc = sd_error(SD_ERR_NOMEM, "out of memory reading %s (%zu numbers)", path, count);
    goto done;
  }
  if (fread(out->data, sizeof(double), count, f) != count) goto truncated;
  if (fortran && out->ndim > 1) { /* column-major (MATLAB, Octave, np.asfortranarray): transpose to row-major */
    double *rm = sd_malloc(count * sizeof(double));
    if (!rm) {
      rc = sd_error(SD_ERR_NOMEM, "out of memory reading %s (%zu numbers)", path, count);
      goto done;
    }
    size_t fs[SD_NPY_MAXDIM]; /* the file's strides: the first index varies fastest */
    fs[0] = 1;
    for (int k = 1; k < out->ndim; k++) fs[k] = fs[k - 1] * out->shape[k - 1];
    for (size_t j = 0; j < count; j++) { /* j: the row-major index */
      size_t rest = j, off = 0;
      for (int k = out->ndim - 1; k >= 0; k--) {
        off += (rest % out->shape[k]) * fs[k];
        rest /= out->shape[k];
      }
      rm[j] = out->data[off];
    }
    sd_free(out->data);
    out->data = rm;
  }
  goto done;
truncated:
  rc = sd_error(SD_ERR_CONFIG, "%s: file is truncated", path);
done:
  sd_free(header);
  fclose(f);
  if (rc != SD_OK) sd_array_free(out);
  return rc;
}
