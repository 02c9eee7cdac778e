/*
 * alloc.c - the program's allocator: mimalloc when the build links it (CMakeLists.txt,
 * KENSA_MIMALLOC), else the system's malloc. libkensa itself only calls malloc and free.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

#ifdef KENSA_HAVE_MIMALLOC
#include <mimalloc.h>
#elif defined(__GLIBC__)
#include <malloc.h>
#endif

void cli_alloc_init(void)
{
#ifdef KENSA_HAVE_MIMALLOC
    /* Freed pages go back to the system at once (mimalloc's default: after 25 ms). The rule
     * compile then peaks lower (Vectorscan's transient memory), and its memory does not stay
     * through the scan: all of signature-base and a 99 MB file peak at 150 MB, as with glibc's
     * malloc, against 176 MB with a 1 ms delay (docs/design.md, seventh round). It costs the
     * compile ~0.1 s of the ~0.4 s mimalloc saves. MIMALLOC_DECOMMIT_DELAY still wins. */
    mi_option_set_default(mi_option_decommit_delay, 0);
#endif
}

void cli_alloc_release(void)
{
#ifdef KENSA_HAVE_MIMALLOC
    mi_collect(true);
#elif defined(__GLIBC__)
    malloc_trim(0);
#endif
}

void cli_alloc_print(FILE *out)
{
#ifdef KENSA_HAVE_MIMALLOC
    int v = mi_version();
    void *p = malloc(16);
    fprintf(out, "allocator: mimalloc %d.%d.%d%s\n", v / 100, v / 10 % 10, v % 10,
            p && mi_is_in_heap_region(p) ? "" : " (linked, but malloc is not its)");
    free(p);
#else
    fprintf(out, "allocator: system malloc\n");
#endif
}
