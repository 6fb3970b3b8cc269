/* npy.h: a small reader and writer of NumPy .npy files (float64; written in C order, read in C or Fortran
 * order), format versions 1.0–3.0. */
#ifndef SADDLE_NPY_H
#define SADDLE_NPY_H

#include <stddef.h>
#include "saddle/error.h"

#define SD_NPY_MAXDIM 8

typedef struct {
  int ndim;
  size_t shape[SD_NPY_MAXDIM];
  double *data; /* owned; row-major (C order); free with sd_array_free */
} sd_array;

size_t sd_array_size(const sd_array *a);
void sd_array_free(sd_array *a);

/* Writes data (row-major, product of shape elements) to path, atomically. ndim may be 0 (a scalar). */
sd_status sd_npy_write(const char *path, const double *data, int ndim, const size_t *shape);
/* Reads a '<f8' array into row-major order (a Fortran-ordered file, as MATLAB, Octave and np.asfortranarray
 * write, is transposed on load). Other dtypes: SD_ERR_CONFIG naming the file and dtype. */
sd_status sd_npy_read(const char *path, sd_array *out);

#endif
