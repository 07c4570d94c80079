// jemalloc is the broker's allocator. Only mallctl is declared: including
// <jemalloc/jemalloc.h> would re-declare malloc/free beside Glibc's.
#include <stddef.h>
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
