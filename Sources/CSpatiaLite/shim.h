#ifndef ONEMAP_CSPATIALITE_SHIM_H
#define ONEMAP_CSPATIALITE_SHIM_H
#include <sqlite3.h>
#include <spatialite.h>

// SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import.
static inline sqlite3_destructor_type onemap_sqlite_transient(void) { return SQLITE_TRANSIENT; }
#endif
