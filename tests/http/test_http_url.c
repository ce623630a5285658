/* weft_url_parse and weft_url_decode, table-driven. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "weft/error.h"
#include "weft/http.h"

typedef struct url_case {
    const char *url;
    const char *host;
    bool ipv6;
    uint16_t port;
    const char *path;
    const char *query;
} url_case;

static const url_case valid_urls[] = {
    {"http://example.com", "example.com", false, 80, "/", ""},
    {"http://example.com/", "example.com", false, 80, "/", ""},
    {"HTTP://Example.COM:8080/a/b?c=d&e#frag", "Example.COM", false, 8080, "/a/b", "?c=d&e"},
    {"hTtP://h?x=1/2?3", "h", false, 80, "/", "?x=1/2?3"},
    {"http://h#f", "h", false, 80, "/", ""},
    {"http://h?", "h", false, 80, "/", "?"},
    {"http://127.0.0.1:1/", "127.0.0.1", false, 1, "/", ""},
    {"http://h:65535/x", "h", false, 65535, "/x", ""},
    {"http://h:00080/x", "h", false, 80, "/x", ""},
    {"http://h:/x", "h", false, 80, "/x", ""},
    {"http://a-b.c_d~e.f/", "a-b.c_d~e.f", false, 80, "/", ""},
    {"http://[::1]:8080/x", "::1", true, 8080, "/x", ""},
    {"http://[2001:db8::7]", "2001:db8::7", true, 80, "/", ""},
    {"http://[::ffff:192.0.2.1]/", "::ffff:192.0.2.1", true, 80, "/", ""},
    {"http://[::1]:/", "::1", true, 80, "/", ""},
    {"http://h/%41%2f%2F/x", "h", false, 80, "/%41%2f%2F/x", ""},
    {"http://h/a:b@c!$&'()*+,;=-._~/", "h", false, 80, "/a:b@c!$&'()*+,;=-._~/", ""},
    {"http://h//x//", "h", false, 80, "//x//", ""},
    {"http://h/x?a#b?c/d", "h", false, 80, "/x", "?a"},
    {"http://h/2000/Hello%20World", "h", false, 80, "/2000/Hello%20World", ""},
};

static void test_valid_urls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid_urls / sizeof valid_urls[0]; i++) {
        const url_case *c = &valid_urls[i];
        size_t len = strlen(c->url);
        char *copy = malloc(len); /* not NUL-terminated: the parser must respect len */
        assert_non_null(copy);
        memcpy(copy, c->url, len);
        weft_url u;
        int rc = weft_url_parse(&u, copy, len);
        if (rc != 0) print_error("url \"%s\"\n", c->url);
        assert_int_equal(rc, 0);
        assert_string_equal(u.host, c->host);
        assert_int_equal(u.host_is_ipv6, c->ipv6);
        assert_int_equal(u.port, c->port);
        assert_int_equal(u.path_len, strlen(c->path));
        assert_memory_equal(u.path, c->path, u.path_len);
        assert_int_equal(u.query_len, strlen(c->query));
        assert_memory_equal(u.query, c->query, u.query_len);
        /* Path and query point into the input, except the "/" of an empty path. */
        assert_true((u.path >= copy && u.path + u.path_len <= copy + len) ||
                    strcmp(c->path, "/") == 0);
        assert_true(u.query_len == 0 || (u.query >= copy && u.query + u.query_len <= copy + len));
        free(copy);
    }
}

typedef struct bad_url {
    const char *url;
    int rc;
} bad_url;

static const bad_url invalid_urls[] = {
    {"https://example.com/", WEFT_EHTTP_UNSUPPORTED},
    {"HTTPS://example.com", WEFT_EHTTP_UNSUPPORTED},
    {"https://", WEFT_EHTTP_UNSUPPORTED},
    {"", WEFT_EHTTP_URL},
    {"http", WEFT_EHTTP_URL},
    {"http:", WEFT_EHTTP_URL},
    {"http:/h/", WEFT_EHTTP_URL},
    {"http//h/", WEFT_EHTTP_URL},
    {"h/x", WEFT_EHTTP_URL},
    {"//h/x", WEFT_EHTTP_URL},
    {"ftp://h/", WEFT_EHTTP_URL},
    {"https:h", WEFT_EHTTP_URL},
    {" http://h/", WEFT_EHTTP_URL},
    {"http://", WEFT_EHTTP_URL},
    {"http:///x", WEFT_EHTTP_URL},
    {"http://?x", WEFT_EHTTP_URL},
    {"http://:80/", WEFT_EHTTP_URL},
    {"http://h:0/", WEFT_EHTTP_URL},
    {"http://h:65536/", WEFT_EHTTP_URL},
    {"http://h:123456/", WEFT_EHTTP_URL},
    {"http://h:8a/", WEFT_EHTTP_URL},
    {"http://h:-1/", WEFT_EHTTP_URL},
    {"http://h:80:80/", WEFT_EHTTP_URL},
    {"http://user@h/", WEFT_EHTTP_URL},
    {"http://user:pw@h:80/", WEFT_EHTTP_URL},
    {"http://[::1/", WEFT_EHTTP_URL},
    {"http://[::1]x/", WEFT_EHTTP_URL},
    {"http://[]/", WEFT_EHTTP_URL},
    {"http://[fe80::1%25eth0]/", WEFT_EHTTP_URL},
    {"http://[v1.fe]/", WEFT_EHTTP_URL},
    {"http://[1.2.3.4]/", WEFT_EHTTP_URL},
    {"http://[::1]]/", WEFT_EHTTP_URL},
    {"http://::1/", WEFT_EHTTP_URL},
    {"http://h h/", WEFT_EHTTP_URL},
    {"http://h%41/", WEFT_EHTTP_URL},
    {"http://h!/", WEFT_EHTTP_URL},
    {"http://h/a b", WEFT_EHTTP_URL},
    {"http://h/%", WEFT_EHTTP_URL},
    {"http://h/%4", WEFT_EHTTP_URL},
    {"http://h/%zz", WEFT_EHTTP_URL},
    {"http://h/?%g0", WEFT_EHTTP_URL},
    {"http://h/\x01", WEFT_EHTTP_URL},
    {"http://h/\x7f", WEFT_EHTTP_URL},
    {"http://h/\xc3\xa9", WEFT_EHTTP_URL},
    {"http://h/a\"b", WEFT_EHTTP_URL},
    {"http://h/<x>", WEFT_EHTTP_URL},
    {"http://h/a\\b", WEFT_EHTTP_URL},
    {"http://h/[x]", WEFT_EHTTP_URL},
    {"http://h/#a#b", WEFT_EHTTP_URL},
    {"http://h/#a b", WEFT_EHTTP_URL},
    {"http://h/\r\nX: y", WEFT_EHTTP_URL},
};

static void test_invalid_urls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof invalid_urls / sizeof invalid_urls[0]; i++) {
        const bad_url *c = &invalid_urls[i];
        weft_url u;
        int rc = weft_url_parse(&u, c->url, strlen(c->url));
        if (rc != c->rc) print_error("url \"%s\"\n", c->url);
        assert_int_equal(rc, c->rc);
    }
}

static void test_url_embedded_nul(void **state)
{
    (void)state;
    weft_url u;
    assert_int_equal(weft_url_parse(&u, "http://h/a\0b", 12), WEFT_EHTTP_URL);
    assert_int_equal(weft_url_parse(&u, "http://h\0/", 10), WEFT_EHTTP_URL);
    assert_int_equal(weft_url_parse(&u, "http://h/", 8), 0); /* len stops before the '/' */
    assert_string_equal(u.host, "h");
}

static void test_url_host_length(void **state)
{
    (void)state;
    char url[7 + WEFT_URL_HOST_MAX + 2 + 1];
    strcpy(url, "http://");
    memset(url + 7, 'a', WEFT_URL_HOST_MAX);
    strcpy(url + 7 + WEFT_URL_HOST_MAX, "/");
    weft_url u;
    assert_int_equal(weft_url_parse(&u, url, strlen(url)), 0);
    assert_int_equal(strlen(u.host), WEFT_URL_HOST_MAX);
    memset(url + 7, 'a', WEFT_URL_HOST_MAX + 1);
    strcpy(url + 7 + WEFT_URL_HOST_MAX + 1, "/");
    assert_int_equal(weft_url_parse(&u, url, strlen(url)), WEFT_EHTTP_URL);
}

/* ---------------------------------------------------------------------------------------------
 * Percent-decoding
 * ------------------------------------------------------------------------------------------- */

typedef struct decode_case {
    const char *in;
    const char *out; /* NULL: expect rc */
    size_t out_len;
    int rc;
} decode_case;

static const decode_case decode_cases[] = {
    {"", "", 0, 0},
    {"plain", "plain", 5, 0},
    {"a%41b%20c", "aAb c", 5, 0},
    {"%2F%2f", "//", 2, 0},
    {"a+b", "a+b", 3, 0},
    {"%e2%9c%93", "\xe2\x9c\x93", 3, 0},
    {"x%00y", "x\0y", 3, 0},
    {"%25%32%35", "%25", 3, 0},
    {"%", NULL, 0, WEFT_EHTTP_URL},
    {"abc%", NULL, 0, WEFT_EHTTP_URL},
    {"%4", NULL, 0, WEFT_EHTTP_URL},
    {"%4g", NULL, 0, WEFT_EHTTP_URL},
    {"%g4", NULL, 0, WEFT_EHTTP_URL},
    {"%%41", NULL, 0, WEFT_EHTTP_URL},
    {"ok%2", NULL, 0, WEFT_EHTTP_URL},
};

static void test_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof decode_cases / sizeof decode_cases[0]; i++) {
        const decode_case *c = &decode_cases[i];
        size_t len = strlen(c->in);
        char out[64], inplace[64];
        memcpy(inplace, c->in, len);
        int rc = weft_url_decode(out, sizeof out, c->in, len);
        int rc2 = weft_url_decode(inplace, sizeof inplace, inplace, len);
        if (!c->out) {
            assert_int_equal(rc, c->rc);
            assert_int_equal(rc2, c->rc);
            continue;
        }
        assert_int_equal(rc, (int)c->out_len);
        assert_int_equal(rc2, (int)c->out_len);
        assert_memory_equal(out, c->out, c->out_len);
        assert_memory_equal(inplace, c->out, c->out_len);
    }
}

static void test_decode_buffer_size(void **state)
{
    (void)state;
    static const char in[] = "ab%43d";
    for (size_t size = 0; size < 4; size++) {
        char *out = malloc(size ? size : 1);
        assert_non_null(out);
        assert_int_equal(weft_url_decode(out, size, in, sizeof in - 1), -ENOBUFS);
        free(out);
    }
    char out[4];
    assert_int_equal(weft_url_decode(out, sizeof out, in, sizeof in - 1), 4);
    assert_memory_equal(out, "abCd", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_urls),       cmocka_unit_test(test_invalid_urls),
        cmocka_unit_test(test_url_embedded_nul), cmocka_unit_test(test_url_host_length),
        cmocka_unit_test(test_decode),           cmocka_unit_test(test_decode_buffer_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
