#ifndef ONEMAP_CCAIRO_SHIM_H
#define ONEMAP_CCAIRO_SHIM_H
#include <cairo.h>
#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#ifdef __GLIBC__
#include <malloc.h>
/// glibc allocator settings for a process that renders metatiles (see `Allocator.tuneForRendering`).
static inline void onemap_tune_malloc(int mmap_threshold, int arenas) {
    mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    mallopt(M_ARENA_MAX, arenas);
}
#else
static inline void onemap_tune_malloc(int mmap_threshold, int arenas) { (void)mmap_threshold; (void)arenas; }
#endif
#endif
