/*
 * jpeg_decode.c: libjpeg(-turbo) decoding with an error manager that turns
 * every fatal error into a return value (setjmp here, longjmp from the error
 * handler, only C frames in between).
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "imaging_codecs.h"

typedef struct {
    struct jpeg_error_mgr pub;   /* must come first: libjpeg sees this part */
    jmp_buf escape;
    int data_ran_out;            /* libjpeg asked for bytes past the end of the data */
} ic_jpeg_error;

static void ic_jpeg_error_exit(j_common_ptr cinfo) {
    ic_jpeg_error *error = (ic_jpeg_error *)cinfo->err;
    longjmp(error->escape, 1);
}

/* Warnings are ignored, as Pillow ignores them, except that running out of data
 * is remembered: jpeg_mem_src then pads with a fake EOI and warns JWRN_JPEG_EOF. */
static void ic_jpeg_emit_message(j_common_ptr cinfo, int msg_level) {
    ic_jpeg_error *error = (ic_jpeg_error *)cinfo->err;
    if (msg_level < 0) {
        cinfo->err->num_warnings++;
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
            error->data_ran_out = 1;
        }
    }
}

static void ic_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static int decode_jpeg(const unsigned char *data, size_t size, long long max_pixels, int header_only, int fancy_upsampling,
                       unsigned char *destination, size_t destination_size, ic_decoded_image *out, char *message, size_t message_size) {
    struct jpeg_decompress_struct cinfo;
    ic_jpeg_error error;
    unsigned char *volatile pixels = NULL;

    memset(out, 0, sizeof *out);
    if (message_size > 0) {
        message[0] = '\0';
    }
    cinfo.err = jpeg_std_error(&error.pub);
    error.pub.error_exit = ic_jpeg_error_exit;
    error.pub.emit_message = ic_jpeg_emit_message;
    error.pub.output_message = ic_jpeg_output_message;
    error.data_ran_out = 0;

    if (setjmp(error.escape)) {
        char text[JMSG_LENGTH_MAX];
        (*cinfo.err->format_message)((j_common_ptr)&cinfo, text);
        snprintf(message, message_size, "%s", text);
        jpeg_destroy_decompress(&cinfo);
        if (destination == NULL) {
            free(pixels);
        }
        return IC_ERROR;
    }

    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    (void)jpeg_read_header(&cinfo, TRUE);
    if ((long long)cinfo.image_width * cinfo.image_height > max_pixels) {
        out->width = (int)cinfo.image_width;
        out->height = (int)cinfo.image_height;
        snprintf(message, message_size,
                 "image of %ux%u pixels exceeds the limit of %lld pixels",
                 cinfo.image_width, cinfo.image_height, max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return IC_TOO_MANY_PIXELS;
    }

    switch (cinfo.num_components) {
    case 1:
        /* libjpeg replicates gray to R = G = B, as PIL's convert("RGB") does. */
        cinfo.out_color_space = JCS_RGB;
        out->layout = IC_LAYOUT_RGB;
        break;
    case 3:
        cinfo.out_color_space = JCS_RGB;
        out->layout = IC_LAYOUT_RGB;
        break;
    case 4:
        /* libjpeg turns YCCK (Adobe transform 2) into CMYK itself. */
        cinfo.out_color_space = JCS_CMYK;
        out->layout = IC_LAYOUT_CMYK;
        break;
    default:
        snprintf(message, message_size,
                 "JPEG with %d components is not supported (1, 3 or 4 expected)",
                 cinfo.num_components);
        jpeg_destroy_decompress(&cinfo);
        return IC_ERROR;
    }
    if (header_only) {
        out->width = (int)cinfo.image_width;
        out->height = (int)cinfo.image_height;
        out->channels = out->layout == IC_LAYOUT_CMYK ? 4 : 3;
        out->bit_depth = 8;
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }

    cinfo.do_fancy_upsampling = fancy_upsampling ? TRUE : FALSE;
    (void)jpeg_start_decompress(&cinfo);
    {
        size_t row_bytes = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
        if (destination != NULL) {
            if (destination_size != row_bytes * cinfo.output_height) {
                snprintf(message, message_size, "destination buffer of the wrong size");
                jpeg_destroy_decompress(&cinfo);
                return IC_ERROR;
            }
            pixels = destination;
        } else {
            pixels = malloc(row_bytes * cinfo.output_height);
        }
        if (pixels == NULL) {
            ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 0);
        }
        while (cinfo.output_scanline < cinfo.output_height) {
            JSAMPROW row = pixels + row_bytes * cinfo.output_scanline;
            (void)jpeg_read_scanlines(&cinfo, &row, 1);
        }
    }
    (void)jpeg_finish_decompress(&cinfo);
    if (error.data_ran_out) {
        /* PIL: "image file is truncated", even when only the EOI marker is missing */
        snprintf(message, message_size,
                 "JPEG data ends before the end-of-image marker (file truncated)");
        jpeg_destroy_decompress(&cinfo);
        if (destination == NULL) {
            free(pixels);
        }
        return IC_ERROR;
    }

    out->width = (int)cinfo.output_width;
    out->height = (int)cinfo.output_height;
    out->channels = cinfo.output_components;
    out->bit_depth = 8;
    out->pixels = destination == NULL ? pixels : NULL;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int ic_decode_jpeg(const unsigned char *data, size_t size, long long max_pixels, int header_only,
                   unsigned char *destination, size_t destination_size, ic_decoded_image *out, char *message, size_t message_size) {
    return decode_jpeg(data, size, max_pixels, header_only, 1, destination, destination_size, out, message, message_size);
}

int ic_decode_jpeg_blockwise(const unsigned char *data, size_t size, long long max_pixels,
                             unsigned char *destination, size_t destination_size, ic_decoded_image *out, char *message, size_t message_size) {
    return decode_jpeg(data, size, max_pixels, 0, 0, destination, destination_size, out, message, message_size);
}

void ic_free_pixels(ic_decoded_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
