/*
 * imaging_codecs.h: JPEG and PNG decoding for semcom's Imaging module.
 *
 * libjpeg and libpng report fatal errors by calling an error handler that must
 * not return; the only portable way out is longjmp. Swift cannot call setjmp,
 * and a longjmp must never cross Swift frames, so each decoder runs entirely in
 * C: its setjmp, every library call and the error handler live in one C file.
 * A failure comes back as a non-zero return value and a one-line message.
 *
 * The JPEG decoder stops before CMYK to RGB, which the Swift side does as PIL
 * does; the PNG decoder has libpng do PIL's conversion to 8-bit RGB (except
 * 16-bit gray) so that only one image-sized buffer is ever allocated.
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

/* Return values of the decoders besides 0 (success) and 1 (error, message written). */
#define IC_ERROR 1
/* The declared size (out->width x out->height, from the header) is over
 * max_pixels; nothing was decoded. */
#define IC_TOO_MANY_PIXELS 2

/*
 * Every decoder reads the header first and checks the declared width x height
 * against `max_pixels` before any pixel is decoded or any image-sized buffer
 * allocated (returning IC_TOO_MANY_PIXELS with out->width and out->height
 * set). With `header_only` non-zero it stops there and returns 0 with
 * width, height, channels, bit_depth and layout set as a decode would, and
 * pixels NULL. With `destination` non-NULL the rows are written there (it must
 * hold exactly height * width * channels * bit_depth / 8 bytes, as a
 * header_only call reports them) and out->pixels stays NULL; otherwise the
 * decoder mallocs out->pixels once, at its final size.
 *
 * Decodes a JPEG held in memory with libjpeg(-turbo), as Pillow configures it:
 * accurate integer IDCT, fancy upsampling; 1 component -> RGB (gray
 * replicated), 3 -> RGB,
 * 4 (CMYK or YCCK) -> CMYK as stored. Data that ends before the EOI marker is
 * an error ("truncated"), as in PIL; corrupt entropy data is a warning only.
 * Returns 0 on success; otherwise writes a message and returns non-zero.
 */
int ic_decode_jpeg(const unsigned char *data, size_t size, long long max_pixels, int header_only,
                   unsigned char *destination, size_t destination_size, ic_decoded_image *out, char *message, size_t message_size);

/*
 * ic_decode_jpeg without fancy upsampling: subsampled chroma is replicated
 * within its MCU instead of interpolated from the neighbouring MCUs, so every
 * MCU decodes to pixels that depend on its own coded data only (libjpeg's
 * do_fancy_upsampling = FALSE). Used for the wire format's patch mosaics.
 */
int ic_decode_jpeg_blockwise(const unsigned char *data, size_t size, long long max_pixels,
                             unsigned char *destination, size_t destination_size, ic_decoded_image *out, char *message, size_t message_size);

/*
 * Encodes `height` rows of `width` RGB pixels (8 bits, interleaved) as a
 * baseline JPEG with libjpeg(-turbo): quality 1-100 (libjpeg's standard
 * tables scaled, as cjpeg -quality), YCbCr with chroma subsampled
 * `chroma_factor` x `chroma_factor` (1: 4:4:4, 8 x 8 MCUs; 2: 4:2:0,
 * 16 x 16 MCUs), accurate integer DCT, the standard Huffman tables (not
 * optimised, so that a block's coded bits depend on its own coefficients and
 * the DC of the block before it only), no JFIF thumbnail or comment.
 * On success *out holds a malloc'd buffer of *out_size bytes (free it with
 * free()) and 0 is returned; otherwise a message is written and 1 returned.
 */
int ic_encode_jpeg(const unsigned char *rgb, int width, int height, int quality, int chroma_factor,
                   unsigned char **out, size_t *out_size, char *message, size_t message_size);

/*
 * Decodes a PNG held in memory with libpng, to RGB 8 bits per sample as PIL's
 * convert("RGB") gives it (see the rules in png_decode.c) except 16-bit gray,
 * which comes back as 16-bit GRAY (PIL clips it, min(v, 255), in Swift).
 * Palette images are expanded to RGB, gray below 8 bits by bit replication,
 * gray to RGB by replication, alpha dropped (not composited), 16-bit samples
 * cut to their high byte while the rows are read; no gamma or colour handling.
 * Returns 0 on success; otherwise writes a message and returns non-zero.
 */
int ic_decode_png(const unsigned char *data, size_t size, long long max_pixels, int header_only,
                  unsigned char *destination, size_t destination_size, ic_decoded_image *out, char *message, size_t message_size);

/* Frees `image->pixels` (safe on a zeroed or already freed image). */
void ic_free_pixels(ic_decoded_image *image);

#endif
