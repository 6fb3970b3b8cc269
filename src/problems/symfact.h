/* symfact.h: symmetric low-rank factorization ¼‖XXᵀ − M‖² with a possibly indefinite M (Mohammadi et al.). */
#ifndef SADDLE_PROBLEMS_SYMFACT_H
#define SADDLE_PROBLEMS_SYMFACT_H

#include <stddef.h>

#include "saddle/problem.h"

extern const sd_problem_class sd_problem_symfact;

/* Internal (library and tests): the blocks of the cascade (lowrank.md §4). With Z = VᵀX = [Z₁; Z₂], Z₁ the first
 * r₁ rows (V's first r₁ columns span M's positive eigenspace), P = ZZᵀ:
 *   P₁ = Z₁Z₁ᵀ (r₁ × r₁), K = Z₂Z₁ᵀP₁⁻¹ ((n−r₁) × r₁), S = Z₂(I − Z₁ᵀP₁⁻¹Z₁)Z₂ᵀ ((n−r₁) × (n−r₁)),
 * P₁⁻¹ by Cholesky. V n×n, X n×r; outputs row-major into the caller's buffers: P1, Kt = Kᵀ (r₁ × (n−r₁)) and S;
 * work holds sd_symfact_blocks_work(n, r, r1) doubles. No allocation. Returns 1, or 0 when r < r₁ or P₁ is not
 * numerically positive definite (rank Z₁ < r₁: the decomposition does not exist there; outputs unspecified). */
int sd_symfact_blocks(int n, int r, int r1, const double *V, const double *X, double *P1, double *Kt, double *S, double *work);
size_t sd_symfact_blocks_work(int n, int r, int r1);

#endif
