/* linalg.h: thin wrappers over CBLAS and LAPACKE for row-major matrices, with workspaces allocated once.
 *
 * LAPACKE's row-major entry points transpose into temporary buffers (allocating on every call). These
 * wrappers call the column-major routines on the transposed view instead, so a step or an observation
 * allocates nothing. */
#ifndef SADDLE_LINALG_H
#define SADDLE_LINALG_H

#include <stddef.h>
#include "saddle/error.h"

/* Singular value decomposition of row-major m×n matrices, k = min(m, n). */
typedef struct {
  int m, n, k;
  int want_u, want_vt;
  double *a;      /* m*n scratch copy of the input */
  double *s;      /* k singular values, descending */
  double *u;      /* want_u: left singular vectors, row-major m×k */
  double *vt;     /* want_vt: right singular vectors as rows, row-major k×n */
  double *work;
  int lwork;
} sd_svd;

sd_status sd_svd_create(sd_svd *svd, int m, int n, int want_u, int want_vt);
/* Decomposes a (row-major m×n, not modified). */
sd_status sd_svd_run(sd_svd *svd, const double *a);
void sd_svd_free(sd_svd *svd);

/* Eigenvalues (ascending) and eigenvectors of a symmetric row-major n×n matrix. vecs (n×n, may alias a)
 * receives the eigenvectors as ROWS: row j is the eigenvector of w[j]. Allocates: for setup code only. */
sd_status sd_sym_eig(int n, const double *a, double *w, double *vecs);

/* Orthonormal basis of the column space of row-major n×k a (n ≥ k, full rank) by Householder QR with the
 * signs fixed so that R has a positive diagonal; q is row-major n×k. Allocates: for setup code only. */
sd_status sd_orth(int n, int k, const double *a, double *q);

/* G ← G(FᵀF + λI)⁻¹ for row-major G (rows × w) and F (f_rows × w), by Cholesky of the w × w matrix K (a
 * caller's workspace of w² doubles). The ScaledGD preconditioner of the low-rank families. When the matrix is
 * numerically singular (λ = 0 from a tiny init), a damping δ = 1e-12·tr(FᵀF)/w, then ×100, is added;
 * *fallbacks (may be NULL) counts those. No allocation. */
sd_status sd_solve_gram_right(int rows, int w, double *G, int f_rows, const double *F, double lambda, double *K,
                              long *fallbacks);

double sd_frobenius(size_t len, const double *x);
/* 1 if every entry is finite. */
int sd_all_finite(size_t len, const double *x);

/* LAPACK's illegal-argument reports (xerbla) in this process: how many, and the first one's text (static).
 * saddle replaces LAPACK's handler, which would print them to stdout. */
long sd_lapack_errors(const char **first);

#endif
