#include <cblas.h>
/* OpenBLAS extension: number of threads its BLAS calls use. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* OpenBLAS extension: the name of the kernel set in use ("Haswell", "Cooperlake", ...). */
char *openblas_get_corename(void);
