// libdeflate: one-shot DEFLATE/zlib compression and CRC-32, for PNG tiles.
//
// Chosen over zlib for speed with the same format: on 256×256 true-colour tiles of the
// 100-county store, libdeflate level 1 took 0.99 ms and 31.2 KB a tile against zlib level 1's
// 1.64 ms and 32.3 KB (PNG encoding was a third of a seeded metatile's time).
#include <libdeflate.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <tmmintrin.h>
/// Cairo ARGB32 pixels (bytes B G R A) of an opaque image to PNG rows: a filter byte 0, then
/// R G B per pixel. 16 pixels per step with SSSE3's byte shuffle (four 16-byte stores, each
/// overlapping the next by 4 bytes, so `dst` needs 4 bytes of room after the last row).
__attribute__((target("ssse3")))
static inline void onemap_rgb_rows_ssse3(const uint8_t *src, size_t stride, int w, int h, uint8_t *dst) {
    const __m128i m = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    size_t rowBytes = (size_t)w * 3 + 1;
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)y * stride;
        uint8_t *o = dst + (size_t)y * rowBytes;
        *o++ = 0;
        int x = 0;
        for (; x + 16 <= w; x += 16) {
            __m128i a = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(s + 4 * x)), m);
            __m128i b = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(s + 4 * x + 16)), m);
            __m128i c = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(s + 4 * x + 32)), m);
            __m128i d = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(s + 4 * x + 48)), m);
            _mm_storeu_si128((__m128i *)(o + 3 * x), a);
            _mm_storeu_si128((__m128i *)(o + 3 * x + 12), b);
            _mm_storeu_si128((__m128i *)(o + 3 * x + 24), c);
            _mm_storeu_si128((__m128i *)(o + 3 * x + 36), d);
        }
        for (; x < w; x++) { o[3 * x] = s[4 * x + 2]; o[3 * x + 1] = s[4 * x + 1]; o[3 * x + 2] = s[4 * x]; }
    }
}
#endif
/// As `onemap_rgb_rows_ssse3`, on any CPU (the byte shuffle where there is one).
static inline void onemap_rgb_rows(const uint8_t *src, size_t stride, int w, int h, uint8_t *dst) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("ssse3")) { onemap_rgb_rows_ssse3(src, stride, w, h, dst); return; }
#endif
    size_t rowBytes = (size_t)w * 3 + 1;
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)y * stride;
        uint8_t *o = dst + (size_t)y * rowBytes;
        *o++ = 0;
        for (int x = 0; x < w; x++) { o[3 * x] = s[4 * x + 2]; o[3 * x + 1] = s[4 * x + 1]; o[3 * x + 2] = s[4 * x]; }
    }
}
