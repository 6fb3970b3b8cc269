/* test_npy.c: NPY round trips, and numpy reading what saddle wrote and vice versa. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "saddle/npy.h"

Test(npy, round_trip_of_every_rank) {
  char *dir = th_tmpdir();
  size_t shapes[4][3] = {{0}, {7}, {3, 5}, {2, 3, 4}};
  for (int nd = 0; nd <= 3; nd++) {
    size_t count = 1;
    for (int i = 0; i < nd; i++) count *= shapes[nd][i];
    double *x = malloc(count * sizeof *x);
    for (size_t i = 0; i < count; i++) x[i] = sin((double)i + 0.25 * nd) * pow(10.0, (double)(i % 7) - 3);
    if (count > 2) x[1] = -0.0, x[2] = 1e-310; /* signed zero and a subnormal survive */
    char path[512];
    snprintf(path, sizeof path, "%s/a%d.npy", dir, nd);
    cr_assert_eq(sd_npy_write(path, x, nd, shapes[nd]), SD_OK, "%s", sd_error_message());
    sd_array a;
    cr_assert_eq(sd_npy_read(path, &a), SD_OK, "%s", sd_error_message());
    cr_assert_eq(a.ndim, nd);
    for (int i = 0; i < nd; i++) cr_assert_eq(a.shape[i], shapes[nd][i]);
    cr_assert_eq(memcmp(a.data, x, count * sizeof *x), 0, "data differs for ndim %d", nd);
    sd_array_free(&a);
    free(x);
  }
  /* data starts on a 64-byte boundary, as numpy writes it */
  char path[512];
  snprintf(path, sizeof path, "%s/a2.npy", dir);
  size_t len;
  char *raw = th_slurp(path, &len);
  cr_assert_eq((len - 15 * 8) % 64, 0);
  free(raw);
  free(dir);
}

Test(npy, numpy_reads_what_saddle_writes) {
  char *dir = th_tmpdir();
  size_t shape[2] = {3, 4};
  double x[12];
  for (int i = 0; i < 12; i++) x[i] = i * 0.1 - 0.5;
  char path[512], cmd[2048], out[256];
  snprintf(path, sizeof path, "%s/w.npy", dir);
  cr_assert_eq(sd_npy_write(path, x, 2, shape), SD_OK);
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import numpy as np; a = np.load('%s'); "
           "assert a.dtype == np.float64 and a.shape == (3, 4), (a.dtype, a.shape); "
           "assert (a.ravel() == np.arange(12) * 0.1 - 0.5).all(); print('ok')\" 2>&1",
           path);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "numpy said: %s", out);
  free(dir);
}

Test(npy, saddle_reads_what_numpy_writes_and_rejects_what_it_cannot) {
  char *dir = th_tmpdir();
  char cmd[2048], out[512];
  snprintf(cmd, sizeof cmd,
           "cd %s && /usr/bin/python3 -c \"import numpy as np; "
           "np.save('ok.npy', np.arange(24.0).reshape(2, 3, 4) / 7); "
           "np.save('int.npy', np.arange(6).reshape(2, 3)); "
           "np.save('fortran.npy', np.asfortranarray(np.ones((3, 2)))); "
           "np.save('f32.npy', np.ones(3, dtype=np.float32))\" 2>&1",
           dir);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  char path[512];
  sd_array a;
  snprintf(path, sizeof path, "%s/ok.npy", dir);
  cr_assert_eq(sd_npy_read(path, &a), SD_OK, "%s", sd_error_message());
  cr_assert_eq(a.ndim, 3);
  cr_assert_eq(a.shape[2], 4u);
  for (int i = 0; i < 24; i++) cr_assert_eq(a.data[i], i / 7.0);
  sd_array_free(&a);
  const char *bad[][2] = {{"int.npy", "float64"}, {"fortran.npy", "Fortran"}, {"f32.npy", "float64"},
                          {"missing.npy", "cannot open"}};
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, bad[i][0]);
    cr_assert_eq(sd_npy_read(path, &a), SD_ERR_CONFIG, "%s", bad[i][0]);
    cr_assert(strstr(sd_error_message(), bad[i][1]), "message for %s: %s", bad[i][0], sd_error_message());
    cr_assert(strstr(sd_error_message(), bad[i][0]), "message names the file: %s", sd_error_message());
  }
  /* truncated: cut the data short */
  snprintf(cmd, sizeof cmd, "cd %s && head -c 150 ok.npy > cut.npy", dir);
  th_sh(cmd, NULL, 0);
  snprintf(path, sizeof path, "%s/cut.npy", dir);
  cr_assert_eq(sd_npy_read(path, &a), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "truncated"), "%s", sd_error_message());
  free(dir);
}
