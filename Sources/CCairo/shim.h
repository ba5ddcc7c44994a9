#ifndef ONEMAP_CCAIRO_SHIM_H
#define ONEMAP_CCAIRO_SHIM_H
#include <cairo.h>
#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#endif
