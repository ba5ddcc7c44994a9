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

#include <stdint.h>
#include <stddef.h>
#if defined(__x86_64__)
#include <immintrin.h>
/// `n` premultiplied ARGB32 pixels at `dst` become `src` OVER them, where `inv` is 255 minus
/// src's alpha: each channel d·inv/255 (rounded as (x + 128 + (x + 128) >> 8) >> 8) plus
/// src's. Eight pixels a step with AVX2, two channels per 16-bit lane multiply.
__attribute__((target("avx2")))
static inline void onemap_over_run_avx2(uint32_t *dst, size_t n, uint32_t src, uint32_t inv) {
    const __m256i lo = _mm256_set1_epi32(0x00FF00FF), hi = _mm256_set1_epi32((int)0xFF00FF00u);
    const __m256i half = _mm256_set1_epi16(0x80), f = _mm256_set1_epi16((short)inv), s = _mm256_set1_epi32((int)src);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i d = _mm256_loadu_si256((const __m256i *)(dst + i));
        __m256i rb = _mm256_add_epi16(_mm256_mullo_epi16(_mm256_and_si256(d, lo), f), half);
        rb = _mm256_and_si256(_mm256_srli_epi16(_mm256_add_epi16(rb, _mm256_srli_epi16(rb, 8)), 8), lo);
        __m256i ag = _mm256_add_epi16(_mm256_mullo_epi16(_mm256_and_si256(_mm256_srli_epi32(d, 8), lo), f), half);
        ag = _mm256_and_si256(_mm256_add_epi16(ag, _mm256_srli_epi16(ag, 8)), hi);
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_add_epi32(s, _mm256_or_si256(rb, ag)));
    }
    for (; i < n; i++) {
        uint32_t p = dst[i];
        uint32_t rb = (p & 0x00FF00FFu) * inv + 0x00800080u; rb = ((rb + ((rb >> 8) & 0x00FF00FFu)) >> 8) & 0x00FF00FFu;
        uint32_t ag = ((p >> 8) & 0x00FF00FFu) * inv + 0x00800080u; ag = (ag + ((ag >> 8) & 0x00FF00FFu)) & 0xFF00FF00u;
        dst[i] = src + (rb | ag);
    }
}
#endif
/// As `onemap_over_run_avx2`, on any CPU; false when the CPU has no AVX2 (the caller blends).
static inline int onemap_over_run(uint32_t *dst, size_t n, uint32_t src, uint32_t inv) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) { onemap_over_run_avx2(dst, n, src, inv); return 1; }
#endif
    (void)dst; (void)n; (void)src; (void)inv;
    return 0;
}
#endif
