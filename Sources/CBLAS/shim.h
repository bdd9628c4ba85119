#ifndef AMALGAM_CBLAS_SHIM_H
#define AMALGAM_CBLAS_SHIM_H

// OpenBLAS's CBLAS interface plus its threading control (process-wide: set it once, before
// any worker starts). pkg-config's openblas entry puts the header's folder on the include path.
#include <cblas.h>

// LAPACK's symmetric eigensolver, shipped inside libopenblas without a lapacke.h; Fortran calling
// convention, column-major. CMA-ES decomposes its covariance matrix with it.
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
             double *w, double *work, const int *lwork, int *iwork, const int *liwork, int *info);

#endif
