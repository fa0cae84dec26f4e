/*
 * png_decode.c: libpng decoding with an error callback that records the
 * message and longjmps back here (setjmp here, only C frames in between).
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "imaging_codecs.h"

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t offset;
    jmp_buf escape;
    char *message;
    size_t message_size;
    int ran_out;                 /* libpng asked for bytes past the end of the data */
} ic_png_reader;

static void ic_png_error(png_structp png, png_const_charp text) {
    ic_png_reader *reader = (ic_png_reader *)png_get_error_ptr(png);
    snprintf(reader->message, reader->message_size, "%s", text);
    longjmp(reader->escape, 1);
}

/* Warnings (bad ancillary CRC, palette index out of range...) are ignored. */
static void ic_png_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void ic_png_read(png_structp png, png_bytep destination, size_t length) {
    ic_png_reader *reader = (ic_png_reader *)png_get_io_ptr(png);
    if (length > reader->size - reader->offset) {
        reader->ran_out = 1;
        png_error(png, "PNG data ends before the image is complete (file truncated)");
    }
    memcpy(destination, reader->data + reader->offset, length);
    reader->offset += length;
}

/* Whether every row has been decoded: libpng is past the last row of the last
 * pass (it then only reads the rest of the zlib stream and the IDAT CRC). */
static int ic_png_rows_complete(png_structp png, png_uint_32 height, int interlaced) {
    if (interlaced) {
        return png_get_current_pass_number(png) >= 7;
    }
    return png_get_current_row_number(png) >= height;
}

int ic_decode_png(const unsigned char *data, size_t size, long long max_pixels, int header_only,
                  unsigned char *destination, size_t destination_size,
                  ic_decoded_image *out, char *message, size_t message_size) {
    ic_png_reader reader;
    png_structp volatile png = NULL;
    png_infop volatile info = NULL;
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    volatile int reading_rows = 0;
    volatile int interlaced = 0;
    volatile int status = IC_ERROR;

    memset(out, 0, sizeof *out);
    if (message_size > 0) {
        message[0] = '\0';
    }
    reader.data = data;
    reader.size = size;
    reader.offset = 0;
    reader.message = message;
    reader.message_size = message_size;
    reader.ran_out = 0;

    if (setjmp(reader.escape)) {
        png_structp p = png;
        png_infop i = info;
        /* Like PIL, accept data that ends once every row is decoded (only the
         * IDAT CRC or IEND missing). */
        int complete = reading_rows && reader.ran_out
                       && ic_png_rows_complete(p, (png_uint_32)out->height, interlaced);
        png_destroy_read_struct(p ? &p : NULL, i ? &i : NULL, NULL);
        free(rows);
        if (complete) {
            out->pixels = destination == NULL ? pixels : NULL;
            if (message_size > 0) {
                message[0] = '\0';
            }
            return 0;
        }
        if (destination == NULL) {
            free(pixels);
        }
        return status;
    }

    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, ic_png_error, ic_png_warning);
    if (png == NULL) {
        snprintf(message, message_size, "libpng could not be initialised");
        return IC_ERROR;
    }
    info = png_create_info_struct(png);
    if (info == NULL) {
        png_error(png, "out of memory");
    }
    png_set_read_fn(png, &reader, ic_png_read);
    /* PIL checks the CRC of every chunk before the image data (ancillary ones
     * too) and of none after: error before IDAT, ignore from IDAT on. */
    png_set_crc_action(png, PNG_CRC_DEFAULT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, info);
    png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);

    {
        png_uint_32 width = png_get_image_width(png, info);
        png_uint_32 height = png_get_image_height(png, info);
        int color_type = png_get_color_type(png, info);
        int bit_depth = png_get_bit_depth(png, info);
        size_t row_bytes;
        png_uint_32 y;

        out->width = (int)width;
        out->height = (int)height;
        if ((long long)width * height > max_pixels) {
            snprintf(message, message_size,
                     "image of %ux%u pixels exceeds the limit of %lld pixels",
                     (unsigned)width, (unsigned)height, max_pixels);
            status = IC_TOO_MANY_PIXELS;
            longjmp(reader.escape, 1);
        }
        /* PIL's convert("RGB") done by libpng while it reads the rows, so that
         * the only image-sized buffer is the final one (rules as PIL's
         * unpackers and Convert.c):
         * - palette indices -> palette colours (tRNS alpha then dropped);
         * - 1, 2, 4-bit gray -> 8 bits by replication (x255, x85, x17);
         * - 16-bit samples -> their high byte (v >> 8), except 16-bit gray
         *   (PIL mode I;16, clipped to min(v, 255)), which is kept for Swift;
         * - gray -> R = G = B; alpha dropped, never composited. */
        if (color_type == PNG_COLOR_TYPE_PALETTE) {
            png_set_palette_to_rgb(png);
        }
        if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
            png_set_expand_gray_1_2_4_to_8(png);
        }
        if (!(color_type == PNG_COLOR_TYPE_GRAY && bit_depth == 16)) {
            if (bit_depth == 16) {
                png_set_strip_16(png);
            }
            if (color_type & PNG_COLOR_MASK_ALPHA || color_type == PNG_COLOR_TYPE_PALETTE) {
                png_set_strip_alpha(png);
            }
            if (!(color_type & PNG_COLOR_MASK_COLOR)) {
                png_set_gray_to_rgb(png);
            }
        }
        interlaced = png_set_interlace_handling(png) > 1;
        png_read_update_info(png, info);

        out->channels = png_get_channels(png, info);
        out->bit_depth = png_get_bit_depth(png, info);
        switch (out->channels) {
        case 1: out->layout = IC_LAYOUT_GRAY; break;
        case 2: out->layout = IC_LAYOUT_GRAY_ALPHA; break;
        case 3: out->layout = IC_LAYOUT_RGB; break;
        case 4: out->layout = IC_LAYOUT_RGBA; break;
        default: png_error(png, "unexpected number of channels");
        }
        row_bytes = png_get_rowbytes(png, info);
        if (row_bytes != (size_t)width * out->channels * (out->bit_depth / 8)) {
            png_error(png, "unexpected row size after transformations");
        }
        if (header_only) {
            png_structp p = png;
            png_infop i = info;
            png_destroy_read_struct(&p, &i, NULL);
            return 0;
        }
        if (destination != NULL) {
            if (destination_size != row_bytes * height) {
                png_error(png, "destination buffer of the wrong size");
            }
            pixels = destination;
        } else {
            pixels = malloc(row_bytes * height);
        }
        rows = malloc(sizeof(png_bytep) * height);
        if (pixels == NULL || rows == NULL) {
            png_error(png, "out of memory");
        }
        for (y = 0; y < height; y++) {
            rows[y] = pixels + row_bytes * y;
        }
        reading_rows = 1;
        png_read_image(png, rows);
        /* Chunks after the image data (and a missing IEND) are not read, as in PIL. */
    }

    {
        png_structp p = png;
        png_infop i = info;
        png_destroy_read_struct(&p, &i, NULL);
    }
    free(rows);
    out->pixels = destination == NULL ? pixels : NULL;
    return 0;
}
