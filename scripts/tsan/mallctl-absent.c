// Linked in place of libjemalloc in the ThreadSanitizer build only (scripts/test.sh, stage
// tsan). TSan must own malloc/free to see every access; with jemalloc interposing them the test
// process crashes in TSan's free() on memory jemalloc allocated (libstdc++ strings in the Swift
// runtime's demangler). This library provides the one jemalloc symbol the broker calls and
// answers "jemalloc is not the allocator", which Allocator.swift handles (it returns nil).
#include <errno.h>
#include <stddef.h>

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) {
    (void)name; (void)oldp; (void)oldlenp; (void)newp; (void)newlen;
    return ENOENT;
}
