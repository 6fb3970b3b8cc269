/* linalg.c: CBLAS/LAPACKE wrappers (see linalg.h). */
#include "saddle/linalg.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "saddle/alloc.h"

sd_status sd_svd_create(sd_svd *svd, int m, int n, int want_u, int want_vt) {
  memset(svd, 0, sizeof *svd);
  svd->m = m;
  svd->n = n;
  svd->k = m < n ? m : n;
  svd->want_u = want_u;
  svd->want_vt = want_vt;
  size_t mn = (size_t)m * (size_t)n;
  svd->a = sd_malloc(mn * sizeof(double));
  svd->s = sd_malloc((size_t)svd->k * sizeof(double));
  if (want_u) svd->u = sd_malloc((size_t)m * (size_t)svd->k * sizeof(double));
  if (want_vt) svd->vt = sd_malloc((size_t)svd->k * (size_t)n * sizeof(double));
  if (!svd->a || !svd->s || (want_u && !svd->u) || (want_vt && !svd->vt)) goto nomem;
  /* the row-major m×n matrix is the column-major n×m matrix aᵀ = V S Uᵀ: LAPACK's "u" is our V, its
   * "vt" our Uᵀ, which read back row-major is U (m×k) */
  double q;
  double dummy = 0.0;
  lapack_int info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, want_vt ? 'S' : 'N', want_u ? 'S' : 'N', n, m, svd->a,
                                        n, svd->s, want_vt ? svd->vt : &dummy, n, want_u ? svd->u : &dummy,
                                        svd->k, &q, -1);
  if (info != 0) {
    sd_svd_free(svd);
    return sd_error(SD_ERR_NUMERIC, "dgesvd workspace query failed (info %d)", (int)info);
  }
  svd->lwork = (int)q;
  svd->work = sd_malloc((size_t)svd->lwork * sizeof(double));
  if (!svd->work) goto nomem;
  return SD_OK;
nomem:
  sd_svd_free(svd);
  return sd_error(SD_ERR_NOMEM, "out of memory for an SVD workspace (%d×%d)", m, n);
}

sd_status sd_svd_run(sd_svd *svd, const double *a) {
  memcpy(svd->a, a, (size_t)svd->m * (size_t)svd->n * sizeof(double));
  double dummy = 0.0;
  lapack_int info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, svd->want_vt ? 'S' : 'N', svd->want_u ? 'S' : 'N', svd->n,
                                        svd->m, svd->a, svd->n, svd->s, svd->want_vt ? svd->vt : &dummy, svd->n,
                                        svd->want_u ? svd->u : &dummy, svd->k, svd->work, svd->lwork);
  if (info != 0) return sd_error(SD_ERR_NUMERIC, "dgesvd did not converge (info %d)", (int)info);
  return SD_OK;
}

void sd_svd_free(sd_svd *svd) {
  sd_free(svd->a);
  sd_free(svd->s);
  sd_free(svd->u);
  sd_free(svd->vt);
  sd_free(svd->work);
  memset(svd, 0, sizeof *svd);
}

sd_status sd_sym_eig(int n, const double *a, double *w, double *vecs) {
  if (n == 0) return SD_OK; /* nothing to do; LAPACK rejects the leading dimension 0 */
  if (vecs != a) memcpy(vecs, a, (size_t)n * (size_t)n * sizeof(double));
  /* symmetric: row- and column-major are the same matrix; column-major eigenvectors read as rows */
  lapack_int info = LAPACKE_dsyev(LAPACK_COL_MAJOR, 'V', 'U', n, vecs, n, w);
  if (info != 0) return sd_error(SD_ERR_NUMERIC, "dsyev failed (info %d)", (int)info);
  return SD_OK;
}

sd_status sd_orth(int n, int k, const double *a, double *q) {
  double *tau = sd_malloc((size_t)k * sizeof(double));
  double *r = sd_malloc((size_t)k * sizeof(double));
  if (!tau || !r) {
    sd_free(tau);
    sd_free(r);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  memcpy(q, a, (size_t)n * (size_t)k * sizeof(double));
  lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, n, k, q, k, tau);
  if (info == 0) {
    for (int j = 0; j < k; j++) r[j] = q[(size_t)j * (size_t)k + (size_t)j];
    info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, n, k, k, q, k, tau);
  }
  if (info == 0) {
    for (int j = 0; j < k; j++)
      if (r[j] < 0)
        for (int i = 0; i < n; i++) q[(size_t)i * (size_t)k + (size_t)j] = -q[(size_t)i * (size_t)k + (size_t)j];
  }
  sd_free(tau);
  sd_free(r);
  if (info != 0) return sd_error(SD_ERR_NUMERIC, "QR factorization failed (info %d)", (int)info);
  return SD_OK;
}

sd_status sd_solve_gram_right(int rows, int w, double *G, int f_rows, const double *F, double lambda, double *K,
                              long *fallbacks) {
  double extra = 0.0;
  for (int attempt = 0; attempt < 8; attempt++) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, w, f_rows, 1.0, F, w, 0.0, K, w);
    double tr = 0;
    for (int i = 0; i < w; i++) tr += K[(size_t)i * w + i];
    for (int i = 0; i < w; i++) K[(size_t)i * w + i] += lambda + extra;
    /* K is symmetric: its row-major upper triangle is the column-major lower one */
    lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', w, K, w);
    if (info == 0) {
      /* G (row-major rows × w) is Gᵀ column-major: solve K·Y = Gᵀ; Y read row-major is G·K⁻¹ */
      info = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', w, rows, K, w, G, w);
      return info == 0 ? SD_OK : sd_error(SD_ERR_NUMERIC, "dpotrs failed (info %d)", (int)info);
    }
    if (info < 0) return sd_error(SD_ERR_NUMERIC, "dpotrf: bad argument %d", (int)-info);
    extra = extra == 0.0 ? 1e-12 * (tr > 0 ? tr / w : 1.0) : extra * 100.0;
    if (fallbacks) (*fallbacks)++;
  }
  return sd_error(SD_ERR_NUMERIC, "FᵀF + λI is singular even with damping %g", extra);
}

double sd_frobenius(size_t len, const double *x) { return cblas_dnrm2((int)len, x, 1); }

int sd_all_finite(size_t len, const double *x) {
  /* x - x is 0 for finite x and NaN otherwise; one pass, vectorizable */
  double acc = 0.0;
  for (size_t i = 0; i < len; i++) acc += x[i] - x[i];
  return acc == 0.0;
}

/* ---------------------------------------------------------------- LAPACK's error handler */

/* LAPACK reports an illegal argument through xerbla_, whose default (OpenBLAS's) prints to stdout, mixing
 * "On entry to DLASCL ..." into saddle's output; it happens when an observation meets a NaN or Inf. This
 * definition replaces it: the first message goes to stderr, and all are counted for summary.json. */
static char lapack_first[96];
static long lapack_count;

void xerbla_(const char *name, const int *info, int len);
void xerbla_(const char *name, const int *info, int len) {
  int n = len;
  while (n > 0 && name[n - 1] == ' ') n--;
  if (lapack_count++ == 0) {
    snprintf(lapack_first, sizeof lapack_first, "%.*s: parameter %d had an illegal value", n > 32 ? 32 : n, name, info ? *info : 0);
    fprintf(stderr, "saddle: LAPACK %s (a NaN or Inf in its input?); further such messages are only counted\n", lapack_first);
  }
}

long sd_lapack_errors(const char **first) {
  if (first) *first = lapack_first;
  return lapack_count;
}
