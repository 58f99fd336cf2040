// Image resizing for the datasets: bilinear for pixels (stb_image_resize's tent filter, which
// widens with the scale when shrinking, so it averages like PIL's BILINEAR instead of aliasing),
// nearest neighbour for label maps (class ids must never be blended). Plus the HWC -> CHW copy.
#pragma once

#include <cstdint>

namespace sr {

// src: h x w x c interleaved; dst: oh x ow x c. Pixel centres are aligned (a pixel's centre is
// at x + 0.5), so a 2x enlargement of [0, 100] is [0, 25, 75, 100].
void resize_bilinear(const uint8_t* src, int w, int h, int c, uint8_t* dst, int ow, int oh);

// One channel: dst(y, x) = src(floor((y + 0.5) * h / oh), floor((x + 0.5) * w / ow)).
void resize_nearest(const uint8_t* src, int w, int h, uint8_t* dst, int ow, int oh);

// Interleaved h x w x c to planar c x h x w.
void hwc_to_chw(const uint8_t* src, int w, int h, int c, uint8_t* dst);

// A decoded h x w x c image as an item: resized bilinearly to oh x ow (copied when the size is
// already right), then planar c x oh x ow into dst.
void resize_to_chw(const uint8_t* src, int w, int h, int c, uint8_t* dst, int ow, int oh);

}  // namespace sr
