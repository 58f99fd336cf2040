// The one translation unit that compiles the stb image libraries (Debian's libstb-dev headers):
// decoding (stb_image, patched: data/stb_image_fixes.patch), resizing (stb_image_resize) and
// writing (stb_image_write, used by the tests to generate PNG and JPEG files). Everything else
// includes the headers without the implementation macros.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif

// Readable failure reasons ("Corrupt PNG") for the IOErrors that report undecodable files.
#define STBI_FAILURE_USERMSG
// Only the formats the data sets use (SPEC: PNG and JPEG): stb_image's other decoders (BMP, GIF,
// PSD, PIC, PNM, HDR, TGA) would otherwise also run on any file that looks like theirs, whatever
// its name, and are code nobody here needs to trust.
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STB_IMAGE_IMPLEMENTATION
// Debian's stb/stb_image.h with data/stb_image_fixes.patch applied (data/stb_image.cmake writes
// it into the build directory): fixes of bugs that fuzzing found.
#include "stb_image_fixed.h"

#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
