/*
 * imaging_codecs.h: JPEG and PNG decoding for semcom's Imaging module.
 *
 * libjpeg and libpng report fatal errors by calling an error handler that must
 * not return; the only portable way out is longjmp. Swift cannot call setjmp,
 * and a longjmp must never cross Swift frames, so each decoder runs entirely in
 * C: its setjmp, every library call and the error handler live in one C file.
 * A failure comes back as a non-zero return value and a one-line message.
 *
 * The decoders stop before any colour conversion that PIL would do itself
 * (CMYK to RGB, 16 to 8 bits, dropping alpha); the Swift side does those.
 */
#ifndef SEMCOM_IMAGING_CODECS_H
#define SEMCOM_IMAGING_CODECS_H

#include <stddef.h>

/* What the samples in `ic_decoded_image.pixels` mean. */
typedef enum {
    IC_LAYOUT_GRAY = 1,        /* 1 sample per pixel */
    IC_LAYOUT_GRAY_ALPHA = 2,  /* 2 samples: gray, alpha */
    IC_LAYOUT_RGB = 3,         /* 3 samples */
    IC_LAYOUT_RGBA = 4,        /* 4 samples: red, green, blue, alpha */
    IC_LAYOUT_CMYK = 5         /* 4 samples as stored in an Adobe JPEG (inverted C, M, Y, K) */
} ic_layout;

/* Decoded pixels: height rows of width pixels, samples interleaved. */
typedef struct {
    int width;
    int height;
    int channels;          /* samples per pixel: 1 to 4 */
    int bit_depth;         /* 8, or 16 for PNG (16-bit samples big-endian, as PNG stores them) */
    ic_layout layout;
    unsigned char *pixels; /* malloc'd, height * width * channels * bit_depth / 8 bytes */
} ic_decoded_image;

/* The most pixels an image may have: PIL's decompression-bomb limit (2 * 89478485). */
#define IC_MAX_PIXELS 178956970LL

/*
 * Decodes a JPEG held in memory with libjpeg(-turbo), as Pillow configures it:
 * accurate integer IDCT, fancy upsampling; 1 component -> GRAY, 3 -> RGB,
 * 4 (CMYK or YCCK) -> CMYK as stored. Data that ends before the EOI marker is
 * an error ("truncated"), as in PIL; corrupt entropy data is a warning only.
 * Returns 0 on success; otherwise writes a message and returns non-zero.
 */
int ic_decode_jpeg(const unsigned char *data, size_t size, ic_decoded_image *out,
                   char *message, size_t message_size);

/*
 * Decodes a PNG held in memory with libpng. Palette images are expanded to RGB
 * (RGBA when tRNS is present), gray images below 8 bits to 8 bits by bit
 * replication; 16-bit samples are kept; no gamma or other colour handling.
 * Returns 0 on success; otherwise writes a message and returns non-zero.
 */
int ic_decode_png(const unsigned char *data, size_t size, ic_decoded_image *out,
                  char *message, size_t message_size);

/* Frees `image->pixels` (safe on a zeroed or already freed image). */
void ic_free_pixels(ic_decoded_image *image);

#endif
