/* Unit tests of src/util: SHA-256 against the published FIPS 180-4 example
 * vectors (NIST "Examples with intermediate values" and the FIPS 180-2
 * appendix), against coreutils' sha256sum at the padding boundaries, and
 * incremental updates split at odd places. */
#include "adamix/sha256.h"
#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static void hash_pieces(const char *data, size_t len, size_t piece, char hex[65])
{
    struct amx_sha256 s;
    uint8_t digest[32];
    amx_sha256_init(&s);
    for (size_t i = 0; i < len; i += piece)
        amx_sha256_update(&s, data + i, len - i < piece ? len - i : piece);
    amx_sha256_final(&s, digest);
    amx_sha256_to_hex(digest, hex);
}

START_TEST(test_sha256_abc)
{
    char hex[65];
    amx_sha256_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(test_sha256_empty)
{
    char hex[65];
    amx_sha256_hex("", 0, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_sha256_448_bits)
{
    /* 56 bytes: the padding needs a second block. */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[65];
    ck_assert_uint_eq(strlen(m), 56);
    amx_sha256_hex(m, strlen(m), hex);
    ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(test_sha256_896_bits)
{
    const char *m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    char hex[65];
    ck_assert_uint_eq(strlen(m), 112);
    amx_sha256_hex(m, strlen(m), hex);
    ck_assert_str_eq(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}
END_TEST

START_TEST(test_sha256_million_a)
{
    size_t n = 1000000;
    char *m = malloc(n);
    ck_assert_ptr_nonnull(m);
    memset(m, 'a', n);
    char hex[65];
    amx_sha256_hex(m, n, hex);
    ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(m);
}
END_TEST

START_TEST(test_sha256_split_updates)
{
    /* The same million 'a' fed in pieces that straddle block boundaries in
     * every way must give the published digest. */
    size_t n = 1000000;
    char *m = malloc(n);
    ck_assert_ptr_nonnull(m);
    memset(m, 'a', n);
    static const size_t pieces[] = {1, 3, 7, 55, 56, 63, 64, 65, 127, 1000, 99991};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        char hex[65];
        hash_pieces(m, n, pieces[i], hex);
        ck_assert_msg(
            strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
            "pieces of %zu bytes gave %s", pieces[i], hex);
    }
    /* A mixed split of the 448-bit vector: 1 + 0 + 30 + 25 bytes. */
    const char *v = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    struct amx_sha256 s;
    uint8_t digest[32];
    char hex[65];
    amx_sha256_init(&s);
    amx_sha256_update(&s, v, 1);
    amx_sha256_update(&s, v + 1, 0);
    amx_sha256_update(&s, v + 1, 30);
    amx_sha256_update(&s, v + 31, 25);
    amx_sha256_final(&s, digest);
    amx_sha256_to_hex(digest, hex);
    ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    free(m);
}
END_TEST

START_TEST(test_sha256_padding_boundaries)
{
    /* Lengths around the 55/56/64-byte padding boundaries, compared with the
     * independent implementation in coreutils. */
    static const size_t lens[] = {1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000};
    char *dir = tu_tmpdir("sha256");
    ck_assert_ptr_nonnull(dir);
    char *path = tu_fmt("%s/msg", dir);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i];
        char *m = malloc(n);
        ck_assert_ptr_nonnull(m);
        for (size_t j = 0; j < n; j++)
            m[j] = (char)(j * 37 + 11);
        ck_assert_int_eq(tu_write_file(path, m, n), 0);
        char *cmd = tu_fmt("sha256sum '%s'", path);
        char *out = NULL;
        int rc = tu_run(cmd, &out, NULL);
        ck_assert_int_eq(rc, 0);
        ck_assert_ptr_nonnull(out);
        ck_assert_uint_ge(strlen(out), 64);
        out[64] = '\0';
        char hex[65];
        amx_sha256_hex(m, n, hex);
        ck_assert_msg(strcmp(hex, out) == 0, "length %zu: %s, sha256sum says %s", n, hex, out);
        /* and split in two at every tenth position */
        for (size_t cut = 0; cut <= n; cut += 10) {
            struct amx_sha256 s;
            uint8_t digest[32];
            char hex2[65];
            amx_sha256_init(&s);
            amx_sha256_update(&s, m, cut);
            amx_sha256_update(&s, m + cut, n - cut);
            amx_sha256_final(&s, digest);
            amx_sha256_to_hex(digest, hex2);
            ck_assert_str_eq(hex2, out);
        }
        free(out);
        free(cmd);
        free(m);
    }
    tu_rmtree(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_sha256_to_hex)
{
    uint8_t d[32];
    for (int i = 0; i < 32; i++)
        d[i] = (uint8_t)(i * 8 + 7);
    char hex[65];
    amx_sha256_to_hex(d, hex);
    ck_assert_uint_eq(strlen(hex), 64);
    ck_assert(strncmp(hex, "070f171f", 8) == 0);
    ck_assert(strcmp(hex + 56, "e7eff7ff") == 0);
}
END_TEST

static Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("sha256");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sha256_abc);
    tcase_add_test(tc, test_sha256_empty);
    tcase_add_test(tc, test_sha256_448_bits);
    tcase_add_test(tc, test_sha256_896_bits);
    tcase_add_test(tc, test_sha256_million_a);
    tcase_add_test(tc, test_sha256_split_updates);
    tcase_add_test(tc, test_sha256_padding_boundaries);
    tcase_add_test(tc, test_sha256_to_hex);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(util_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
