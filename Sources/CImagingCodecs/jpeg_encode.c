/*
 * jpeg_encode.c: libjpeg(-turbo) encoding into memory, with the same error
 * discipline as jpeg_decode.c (setjmp here, longjmp from the handler, only C
 * frames in between).
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "imaging_codecs.h"

typedef struct {
    struct jpeg_error_mgr pub; /* must come first */
    jmp_buf escape;
} ic_encode_error;

static void ic_encode_error_exit(j_common_ptr cinfo) {
    longjmp(((ic_encode_error *)cinfo->err)->escape, 1);
}

static void ic_encode_output_message(j_common_ptr cinfo) { (void)cinfo; }

/* Where jpeg_mem_dest keeps its buffer: on the heap, so that after a longjmp
 * the buffer (which libjpeg may have reallocated) is still known and freed. */
typedef struct {
    unsigned char *data;
    unsigned long size;
} ic_encode_destination;

int ic_encode_jpeg(const unsigned char *rgb, int width, int height, int quality, int chroma_factor,
                   unsigned char **out, size_t *out_size, char *message, size_t message_size) {
    struct jpeg_compress_struct cinfo;
    ic_encode_error error;
    ic_encode_destination *destination;

    *out = NULL;
    *out_size = 0;
    if (message_size > 0) {
        message[0] = '\0';
    }
    if (width <= 0 || height <= 0 || quality < 1 || quality > 100 || (chroma_factor != 1 && chroma_factor != 2)) {
        snprintf(message, message_size, "cannot encode a %dx%d image at quality %d with chroma factor %d",
                 width, height, quality, chroma_factor);
        return IC_ERROR;
    }
    destination = calloc(1, sizeof *destination);
    if (destination == NULL) {
        snprintf(message, message_size, "out of memory");
        return IC_ERROR;
    }
    cinfo.err = jpeg_std_error(&error.pub);
    error.pub.error_exit = ic_encode_error_exit;
    error.pub.output_message = ic_encode_output_message;
    if (setjmp(error.escape)) {
        char text[JMSG_LENGTH_MAX];
        (*cinfo.err->format_message)((j_common_ptr)&cinfo, text);
        snprintf(message, message_size, "%s", text);
        jpeg_destroy_compress(&cinfo);
        free(destination->data);
        free(destination);
        return IC_ERROR;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &destination->data, &destination->size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.optimize_coding = FALSE;
    cinfo.comp_info[0].h_samp_factor = chroma_factor;
    cinfo.comp_info[0].v_samp_factor = chroma_factor;
    cinfo.comp_info[1].h_samp_factor = cinfo.comp_info[1].v_samp_factor = 1;
    cinfo.comp_info[2].h_samp_factor = cinfo.comp_info[2].v_samp_factor = 1;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)width * 3);
        (void)jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = destination->data;
    *out_size = destination->size;
    free(destination);
    return 0;
}
