#ifndef ONEMAP_CZLIB_SHIM_H
#define ONEMAP_CZLIB_SHIM_H
#include <zlib.h>
#include <string.h>

/// One-shot zlib-format deflate with a chosen level and strategy (deflateInit2 is a macro Swift
/// cannot call). Returns the compressed size, or -1 when `cap` is too small or zlib fails.
static inline long onemap_deflate(const unsigned char *src, unsigned long n, unsigned char *dst, unsigned long cap, int level, int strategy) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, level, Z_DEFLATED, 15, 8, strategy) != Z_OK) return -1;
    s.next_in = (unsigned char *)src;
    s.avail_in = (uInt)n;
    s.next_out = dst;
    s.avail_out = (uInt)cap;
    int rc = deflate(&s, Z_FINISH);
    long out = (long)s.total_out;
    deflateEnd(&s);
    return rc == Z_STREAM_END ? out : -1;
}
#endif
