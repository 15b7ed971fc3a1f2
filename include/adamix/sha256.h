/* SHA-256 (FIPS 180-4), written from the specification and tested against its
 * published test vectors. Used for run ids, cache keys and data checksums. */
#ifndef ADAMIX_SHA256_H
#define ADAMIX_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct amx_sha256 {
    uint32_t h[8];
    uint64_t length; /* bytes hashed so far */
    uint8_t block[64];
    size_t used;
};

void amx_sha256_init(struct amx_sha256 *s);
void amx_sha256_update(struct amx_sha256 *s, const void *data, size_t len);
void amx_sha256_final(struct amx_sha256 *s, uint8_t digest[32]);
/* digest of data as 64 lower-case hex digits plus NUL */
void amx_sha256_hex(const void *data, size_t len, char hex[65]);
void amx_sha256_to_hex(const uint8_t digest[32], char hex[65]);

#endif
