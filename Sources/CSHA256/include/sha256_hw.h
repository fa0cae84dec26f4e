#ifndef SEMCOM_SHA256_HW_H
#define SEMCOM_SHA256_HW_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256's round constants K0..K63 (FIPS 180-4, 4.2.2). */
extern const uint32_t semcom_sha256_k[64];

/* Whether this CPU has the x86 SHA extensions (and the SSSE3 and SSE4.1
 * that the block function also uses); 0 elsewhere. */
int semcom_sha256_hw_available(void);

/* SHA-256's compression function (FIPS 180-4, 6.2.2) on `blocks` 64-byte
 * blocks at `data`, updating `state` (H0..H7) in place, with the SHA
 * extensions. Call only where semcom_sha256_hw_available() is 1. */
void semcom_sha256_hw_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
