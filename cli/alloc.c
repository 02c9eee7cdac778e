/*
 * alloc.c - the program's allocator: mimalloc when the build links it (CMakeLists.txt,
 * KENSA_MIMALLOC), else the system's malloc. libkensa itself only calls malloc and free.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

#ifdef KENSA_HAVE_MIMALLOC
#include <mimalloc.h>
#elif defined(__GLIBC__)
#include <malloc.h>
#endif

/* With mimalloc, pages the rule compile frees are kept for reuse while it runs (a decommit
 * delay), and given back at once afterwards (delay 0). Vectorscan's compile of a large rule set
 * frees and reallocates its small C++ objects all the time: decommitting each freed page at once
 * cost all of signature-base 68,000 page faults and ~0.2 s of system time, against 25,000 with
 * the delay (docs/design.md, Performance, eleventh round). */
#define COMPILE_DECOMMIT_DELAY_MS 1000
#define COMPILE_STACK ((size_t)8 << 20)

void cli_alloc_init(void)
{
#ifdef KENSA_HAVE_MIMALLOC
    mi_option_set_default(mi_option_decommit_delay, COMPILE_DECOMMIT_DELAY_MS);
#endif
}

#ifdef KENSA_HAVE_MIMALLOC
typedef struct compile_job {
    int (*fn)(void *);
    void *arg;
    int rc;
} compile_job;

static void *compile_job_run(void *p)
{
    compile_job *j = p;
    j->rc = j->fn(j->arg);
    return NULL;
}
#endif

/* With mimalloc the compile runs in a thread of its own while the caller waits. A page freed
 * under a decommit delay stays committed until the allocator next looks at its segment, and
 * mi_collect cannot force that for the segments of a live thread: the pages would stay through
 * the scan (/usr/bin: 190 MB peak against 174 MB). The segments of an ended thread are
 * abandoned, and mi_collect(true) decommits what is free in those. */
int cli_alloc_compile(int (*fn)(void *), void *arg)
{
#ifdef KENSA_HAVE_MIMALLOC
    compile_job j = {fn, arg, 0};
    pthread_attr_t at;
    pthread_t th;
    int threaded = 0;
    if (pthread_attr_init(&at) == 0) {
        size_t ss = 0;
        if (pthread_attr_getstacksize(&at, &ss) != 0 || ss < COMPILE_STACK)
            pthread_attr_setstacksize(&at, COMPILE_STACK);
        threaded = pthread_create(&th, &at, compile_job_run, &j) == 0;
        pthread_attr_destroy(&at);
    }
    if (threaded) pthread_join(th, NULL);
    else j.rc = fn(arg);
    /* from now on freed pages go back at once (MIMALLOC_DECOMMIT_DELAY, when set, still wins) */
    if (!getenv("MIMALLOC_DECOMMIT_DELAY")) mi_option_set(mi_option_decommit_delay, 0);
    mi_collect(true);
    return j.rc;
#else
    int rc = fn(arg);
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    return rc;
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
