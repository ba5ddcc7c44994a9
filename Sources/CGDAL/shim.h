// GDAL's C API (OGR vector access, spatial references, CPL configuration and errors),
// loaded at run time.
//
// libgdal is not linked: it pulls in about 110 more shared libraries (HDF5, NetCDF, Poppler,
// libheif…), and resolving their symbols cost every onemap process about 0.1 s at start
// (`perf` of `onemap --help`: 65% in ld.so's do_lookup_x; 0.14 s → see the README's cold-tile
// row), although only imports use GDAL. The headers give the types; `onemap_gdal_load` opens
// the library once and fills `onemap_gdal_api` with the functions onemap calls.
#include <dlfcn.h>
#include <stdio.h>
#include <gdal/gdal.h>
#include <gdal/ogr_api.h>
#include <gdal/ogr_srs_api.h>
#include <gdal/cpl_conv.h>
#include <gdal/cpl_error.h>
#include <gdal/cpl_string.h>
#include <gdal/cpl_vsi.h>

// Every GDAL function onemap calls (add one here before calling it from Swift).
#define ONEMAP_GDAL_FUNCTIONS(X) \
    X(CPLErrorReset) \
    X(CSLAddString) \
    X(CSLDestroy) \
    X(CPLGetLastErrorMsg) \
    X(CPLGetLastErrorType) \
    X(CPLSetErrorHandler) \
    X(CPLQuietErrorHandler) \
    X(GDALAllRegister) \
    X(GDALClose) \
    X(GDALDatasetGetLayer) \
    X(GDALDatasetGetLayerCount) \
    X(GDALDatasetGetNextFeature) \
    X(GDALGetDatasetDriver) \
    X(GDALGetDriverShortName) \
    X(GDALGetMetadataItem) \
    X(GDALOpenEx) \
    X(OCTDestroyCoordinateTransformation) \
    X(OCTNewCoordinateTransformation) \
    X(OCTTransform) \
    X(OGRGeometryTypeToName) \
    X(OGR_FD_GetFieldCount) \
    X(OGR_FD_GetFieldDefn) \
    X(OGR_F_Destroy) \
    X(OGR_F_GetFID) \
    X(OGR_F_GetFieldAsDateTimeEx) \
    X(OGR_F_GetFieldAsDouble) \
    X(OGR_F_GetFieldAsInteger64) \
    X(OGR_F_GetFieldAsString) \
    X(OGR_F_GetGeometryRef) \
    X(OGR_F_IsFieldSetAndNotNull) \
    X(OGR_Fld_GetNameRef) \
    X(OGR_Fld_GetType) \
    X(OGR_GT_IsNonLinear) \
    X(OGR_G_CreateFromWkbEx) \
    X(OGR_G_DestroyGeometry) \
    X(OGR_G_ExportToIsoWkb) \
    X(OGR_G_FlattenTo2D) \
    X(OGR_G_GetGeometryType) \
    X(OGR_G_GetLinearGeometry) \
    X(OGR_G_GetX) \
    X(OGR_G_GetY) \
    X(OGR_G_IsEmpty) \
    X(OGR_G_PointOnSurface) \
    X(OGR_G_Transform) \
    X(OGR_G_WkbSize) \
    X(OGR_GetFieldTypeName) \
    X(OGR_L_GetExtent) \
    X(OGR_L_GetFeatureCount) \
    X(OGR_L_GetGeomType) \
    X(OGR_L_GetLayerDefn) \
    X(OGR_L_GetName) \
    X(OGR_L_GetNextFeature) \
    X(OGR_L_GetSpatialRef) \
    X(OGR_L_ResetReading) \
    X(OGR_L_TestCapability) \
    X(OSRClone) \
    X(OSRDestroySpatialReference) \
    X(OSRFindMatches) \
    X(OSRFreeSRSArray) \
    X(OSRGetAuthorityCode) \
    X(OSRGetAuthorityName) \
    X(OSRGetName) \
    X(OSRIsGeographic) \
    X(OSRIsSame) \
    X(OSRNewSpatialReference) \
    X(OSRSetAxisMappingStrategy) \
    X(OSRSetFromUserInput) \
    X(VSIFree)

typedef struct onemap_gdal_api {
#define ONEMAP_GDAL_FIELD(name) __typeof__(name) * _Nonnull name;
    ONEMAP_GDAL_FUNCTIONS(ONEMAP_GDAL_FIELD)
#undef ONEMAP_GDAL_FIELD
} onemap_gdal_api;

// Opens libgdal (the development link, else sonames 20–40) and fills `api`. Returns NULL, or
// a sentence saying what is missing (valid until the next call).
static inline const char * _Nullable onemap_gdal_load(onemap_gdal_api * _Nonnull api) {
    static char why[512];
    void *h = dlopen("libgdal.so", RTLD_NOW | RTLD_LOCAL);
    // The reason for the development link, the name a user would look for (not the last
    // soname tried).
    char first[256];
    snprintf(first, sizeof first, "%s", h == NULL ? dlerror() : "");
    for (int v = 40; h == NULL && v >= 20; v--) {
        char name[32];
        snprintf(name, sizeof name, "libgdal.so.%d", v);
        h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    }
    if (h == NULL) {
        snprintf(why, sizeof why, "GDAL is not installed (%s, nor libgdal.so.20 to .40); install it (Debian: apt install libgdal32, or run scripts/bootstrap in a source checkout)", first);
        return why;
    }
#define ONEMAP_GDAL_SYMBOL(name) \
    { void *f = dlsym(h, #name); \
      if (f == NULL) { snprintf(why, sizeof why, "the installed GDAL lacks %s; onemap needs GDAL 3.6 or later", #name); return why; } \
      api->name = (__typeof__(name) *)f; }
    ONEMAP_GDAL_FUNCTIONS(ONEMAP_GDAL_SYMBOL)
#undef ONEMAP_GDAL_SYMBOL
    return NULL;
}
