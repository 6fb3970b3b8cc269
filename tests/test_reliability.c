/* test_reliability.c: a diverging run's files, LAPACK's messages, I/O failures. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "saddle/linalg.h"
#include <lapacke.h>

#define SENSING SADDLE_SOURCE_DIR "/examples/stoger21-phases.yaml"

Test(reliability, a_diverged_run_writes_each_step_once) {
  char *d = th_tmpdir();
  char cmd[4096], out[8192], code[4096];
  const char *sched[] = {"observe.schedule=every", "observe.schedule=log"};
  for (int k = 0; k < 2; k++) {
    snprintf(cmd, sizeof cmd, "%s run %s -o %s/r%d dynamics.lr=100 init.scale=1 %s 2>/dev/null", SADDLE_BINARY, SENSING, d, k, sched[k]);
    cr_assert_eq(th_sh(cmd, out, sizeof out), 3, "%s", out);
    cr_assert_null(strstr(out, "On entry to"), "LAPACK's messages reached stdout:\n%s", out);
    snprintf(code, sizeof code,
             "import json, csv, numpy as np; d = '%s/r%d'; s = json.load(open(d + '/summary.json'));"
             "rows = list(csv.reader(open(d + '/metrics.csv')))[1:]; steps = [int(r[0]) for r in rows];"
             "assert len(steps) == len(set(steps)), steps; assert steps[-1] == s['diverged_at_step'] == s['steps'], steps;"
             "assert rows[-1][2] in ('inf', 'nan'), rows[-1][2];"
             "assert all(float(r[2]) < float('inf') for r in rows[:-1]);"
             "U = np.load(d + '/arrays/U_final.npy'); assert np.isfinite(U).all(), 'the final state is theta_k, finite';"
             "print('ok')",
             d, k);
    cr_assert_eq(th_py(code, out, sizeof out), 0, "%s: %s", sched[k], out);
  }
  th_rmtmp(d);
}

Test(reliability, lapack_messages_do_not_reach_stdout) {
  char path[] = "/tmp/saddle-stdout-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  fflush(stdout);
  int saved = dup(1);
  dup2(fd, 1);
  long before = sd_lapack_errors(NULL);
  /* an illegal leading dimension: LAPACK's dgesvd rejects it through xerbla (as dlascl rejects a NaN norm) */
  double a[12] = {0}, sv[3], u[1], vt[1], work[64];
  LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'N', 'N', 4, 3, a, 1, sv, u, 1, vt, 1, work, 64);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  close(fd);
  size_t len;
  char *text = th_slurp(path, &len);
  unlink(path);
  const char *first;
  long n = sd_lapack_errors(&first);
  cr_assert_gt(n, before, "LAPACK did not report the illegal argument (is this test still testing something?)");
  cr_assert(strstr(first, "DGESVD") && strstr(first, "parameter 6"), "%s", first);
  cr_assert_eq(len, 0, "stdout got: %s", text);
  free(text);
}

Test(reliability, a_failed_write_leaves_a_final_status) {
  char *d = th_tmpdir();
  char cmd[4096], out[8192], code[2048];
  /* a 16 KiB file-size limit stands in for a full disk: metrics.csv cannot grow past it */
  snprintf(cmd, sizeof cmd, "ulimit -f 16; OPENBLAS_NUM_THREADS=1 %s run %s -q -o %s/r observe.schedule=every run.max_steps=3000 2>&1",
           SADDLE_BINARY, SENSING, d);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 1, "%s", out);
  cr_assert(strstr(out, "cannot write") && strstr(out, "partial results in"), "%s", out);
  snprintf(code, sizeof code,
           "import json, os; d = '%s/r'; s = json.load(open(d + '/summary.json'));"
           "assert s['status'] == 'io_error', s['status']; assert 'metrics.csv' in s['error'], s['error'];"
           "assert not [f for f in os.listdir(d) if f.endswith('.tmp')], os.listdir(d); print('ok')",
           d);
  cr_assert_eq(th_py(code, out, sizeof out), 0, "%s", out);
  th_rmtmp(d);
}
