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
  const char *bad[][2] = {{"int.npy", "float64"}, {"f32.npy", "float64"}, {"missing.npy", "cannot open"}};
  for (int i = 0; i < 3; i++) {
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

Test(npy, fortran_order_is_transposed_into_row_major) {
  /* what MATLAB/Octave and np.asfortranarray write: the same array, stored column by column */
  char *dir = th_tmpdir();
  char cmd[2048], out[512];
  snprintf(cmd, sizeof cmd,
           "cd %s && /usr/bin/python3 -c \"import numpy as np; r = np.random.default_rng(3); "
           "x = r.standard_normal((3, 4)); y = r.standard_normal((2, 3, 5)); "
           "np.save('c2.npy', x); np.save('f2.npy', np.asfortranarray(x)); "
           "np.save('c3.npy', y); np.save('f3.npy', np.asfortranarray(y)); "
           "assert np.asfortranarray(x).flags.f_contiguous and not np.asfortranarray(x).flags.c_contiguous; "
           "assert b'True' in open('f3.npy', 'rb').read(128)\" 2>&1",
           dir);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  const char *pairs[][2] = {{"c2.npy", "f2.npy"}, {"c3.npy", "f3.npy"}};
  for (int i = 0; i < 2; i++) {
    char pc[512], pf[512];
    snprintf(pc, sizeof pc, "%s/%s", dir, pairs[i][0]);
    snprintf(pf, sizeof pf, "%s/%s", dir, pairs[i][1]);
    sd_array c, f;
    cr_assert_eq(sd_npy_read(pc, &c), SD_OK, "%s", sd_error_message());
    cr_assert_eq(sd_npy_read(pf, &f), SD_OK, "%s", sd_error_message());
    cr_assert_eq(f.ndim, c.ndim);
    for (int d = 0; d < c.ndim; d++) cr_assert_eq(f.shape[d], c.shape[d]);
    cr_assert_eq(memcmp(f.data, c.data, sd_array_size(&c) * sizeof(double)), 0, "%s differs from %s", pairs[i][1],
                 pairs[i][0]);
    sd_array_free(&c);
    sd_array_free(&f);
  }
  th_rmtmp(dir);
}

Test(npy, a_fortran_ordered_array_gives_the_same_run_as_the_c_ordered_one) {
  char *dir = th_tmpdir();
  char cmd[4096], out[4096];
  snprintf(cmd, sizeof cmd,
           "cd %s && /usr/bin/python3 -c \"import numpy as np; u = np.random.default_rng(5).standard_normal((6, 6)) * 0.1; "
           "np.save('c.npy', u); np.save('f.npy', np.asfortranarray(u))\" 2>&1",
           dir);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  char path[600];
  snprintf(path, sizeof path, "%s/cfg.yaml", dir);
  th_write(path, "experiment: fortran\nproblem: {kind: sensing, n: 6, rank: 2, measurements: 30}\n"
                 "dynamics: {lr: 0.1}\nrun: {max_steps: 20}\n");
  for (int i = 0; i < 2; i++) {
    snprintf(cmd, sizeof cmd, "cd %s && OPENBLAS_NUM_THREADS=1 %s run cfg.yaml -q -o %s arrays.U0=%s 2>&1", dir,
             SADDLE_BINARY, i ? "rf" : "rc", i ? "f.npy" : "c.npy");
    cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  }
  const char *same[] = {"arrays/U0.npy", "metrics.csv", "arrays/U_final.npy"};
  for (int i = 0; i < 3; i++) {
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/rc/%s", dir, same[i]);
    snprintf(b, sizeof b, "%s/rf/%s", dir, same[i]);
    cr_assert(th_same_file(a, b), "%s differs between the C- and the Fortran-ordered U0", same[i]);
  }
  th_rmtmp(dir);
}
