/* Tests for weft/addr.h: parsing and formatting "HOST:PORT" strings. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "weft/addr.h"
#include "weft/error.h"

/* Parses `text`, formats the result and checks it reads back as `expected`. */
static void expect_round_trip(const char *text, int family, int port, const char *expected)
{
    weft_addr a;
    char buf[WEFT_ADDR_STRLEN];
    assert_int_equal(weft_addr_parse(&a, text), 0);
    assert_int_equal(a.ss.ss_family, family);
    assert_int_equal(weft_addr_port(&a), port);
    int n = weft_addr_format(&a, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(expected));
    assert_string_equal(buf, expected);
}

static void test_ipv4(void **state)
{
    (void)state;
    expect_round_trip("127.0.0.1:8080", AF_INET, 8080, "127.0.0.1:8080");
    expect_round_trip("0.0.0.0:0", AF_INET, 0, "0.0.0.0:0");
    expect_round_trip("255.255.255.255:65535", AF_INET, 65535, "255.255.255.255:65535");
    expect_round_trip("10.1.2.3:00080", AF_INET, 80, "10.1.2.3:80");

    weft_addr a;
    assert_int_equal(weft_addr_parse(&a, "127.0.0.1:8080"), 0);
    assert_int_equal(a.len, sizeof(struct sockaddr_in));
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;
    assert_int_equal(sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    assert_int_equal(sin->sin_port, htons(8080));
}

static void test_ipv6(void **state)
{
    (void)state;
    expect_round_trip("[::1]:8080", AF_INET6, 8080, "[::1]:8080");
    expect_round_trip("[::]:0", AF_INET6, 0, "[::]:0");
    expect_round_trip("[2001:DB8:0:0::1]:443", AF_INET6, 443, "[2001:db8::1]:443");
    expect_round_trip("[::ffff:127.0.0.1]:80", AF_INET6, 80, "[::ffff:127.0.0.1]:80");
    expect_round_trip("[fe80::1%3]:22", AF_INET6, 22, "[fe80::1%3]:22");

    weft_addr a;
    assert_int_equal(weft_addr_parse(&a, "[::1]:9"), 0);
    assert_int_equal(a.len, sizeof(struct sockaddr_in6));
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;
    assert_memory_equal(&sin6->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback);
    assert_int_equal(sin6->sin6_scope_id, 0);
    assert_int_equal(weft_addr_parse(&a, "[fe80::1%4294967295]:1"), 0);
    assert_int_equal(((const struct sockaddr_in6 *)&a.ss)->sin6_scope_id, 4294967295u);
}

static void test_host_names_need_resolver(void **state)
{
    (void)state;
    weft_addr a;
    assert_int_equal(weft_addr_parse(&a, "localhost:8080"), WEFT_EADDR_NAME);
    assert_int_equal(weft_addr_parse(&a, "example.com:80"), WEFT_EADDR_NAME);
    assert_int_equal(weft_addr_parse(&a, "my-host.local:1"), WEFT_EADDR_NAME);
    assert_string_not_equal(weft_strerror(WEFT_EADDR_NAME), "unknown error");
    /* A name is still malformed without a valid port. */
    assert_int_equal(weft_addr_parse(&a, "localhost:"), WEFT_EADDR);
    assert_int_equal(weft_addr_parse(&a, "localhost"), WEFT_EADDR);
    assert_int_equal(weft_addr_parse(&a, "-bad.host:80"), WEFT_EADDR);
    assert_int_equal(weft_addr_parse(&a, "bad_host:80"), WEFT_EADDR);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                       /* nothing */
        "127.0.0.1",              /* missing port */
        "127.0.0.1:",             /* empty port */
        ":8080",                  /* empty host */
        "127.0.0.1:65536",        /* port too large */
        "127.0.0.1:99999",        /* port too large */
        "127.0.0.1:123456",       /* too many digits */
        "127.0.0.1:-1",           /* sign */
        "127.0.0.1:+80",          /* sign */
        "127.0.0.1:8o",           /* not a digit */
        "127.0.0.1: 80",          /* space */
        "127.0.0.1:80 ",          /* trailing space */
        "256.0.0.1:80",           /* octet too large */
        "1.2.3:80",               /* three parts */
        "1.2.3.4.5:80",           /* five parts */
        "01.2.3.4:80",            /* leading zero (octal in some parsers) */
        "::1:8080",               /* unbracketed IPv6 */
        "::1",                    /* unbracketed IPv6, no port */
        "[::1]",                  /* no port */
        "[::1]:",                 /* empty port */
        "[::1]8080",              /* no colon after bracket */
        "[::1:8080",              /* missing ] */
        "::1]:8080",              /* missing [ */
        "[]:80",                  /* empty brackets */
        "[[::1]]:80",             /* doubled brackets */
        "[127.0.0.1]:80",         /* IPv4 in brackets */
        "[::1%]:80",              /* empty scope */
        "[::1%eth0]:80",          /* interface names are not looked up */
        "[::1%4294967296]:80",    /* scope over 32 bits */
        "[gggg::1]:80",           /* bad hex */
        "[1:2:3:4:5:6:7:8:9]:80", /* too many groups */
        "127.0.0.1]:80",          /* stray bracket */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        weft_addr a;
        memset(&a, 0x5a, sizeof a);
        int r = weft_addr_parse(&a, bad[i]);
        if (r != WEFT_EADDR) fail_msg("\"%s\" gave %d, want WEFT_EADDR", bad[i], r);
        /* A failed parse leaves the destination untouched. */
        assert_int_equal(((unsigned char *)&a)[0], 0x5a);
    }
}

static void test_long_input(void **state)
{
    (void)state;
    char text[600];
    memset(text, '1', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    text[300] = ':';
    weft_addr a;
    assert_int_equal(weft_addr_parse(&a, text), WEFT_EADDR);
    text[0] = '[';
    text[298] = ']';
    text[299] = ':';
    assert_int_equal(weft_addr_parse(&a, text), WEFT_EADDR);
}

static void test_null_arguments(void **state)
{
    (void)state;
    weft_addr a;
    char buf[8];
    assert_int_equal(weft_addr_parse(NULL, "127.0.0.1:1"), -EINVAL);
    assert_int_equal(weft_addr_parse(&a, NULL), -EINVAL);
    assert_int_equal(weft_addr_format(NULL, buf, sizeof buf), -EINVAL);
    assert_int_equal(weft_addr_parse(&a, "127.0.0.1:1"), 0);
    assert_int_equal(weft_addr_format(&a, NULL, 0), -EINVAL);
}

static void test_format_limits(void **state)
{
    (void)state;
    weft_addr a;
    char buf[WEFT_ADDR_STRLEN];
    /* The longest possible text fits in WEFT_ADDR_STRLEN exactly. */
    assert_int_equal(
        weft_addr_parse(&a, "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%4294967295]:65535"), 0);
    int n = weft_addr_format(&a, buf, sizeof buf);
    assert_true(n > 0);
    assert_true(n < WEFT_ADDR_STRLEN);

    assert_int_equal(weft_addr_parse(&a, "127.0.0.1:8080"), 0);
    assert_int_equal(weft_addr_format(&a, buf, 14), -ENOSPC); /* needs 15 with the NUL */
    assert_string_equal(buf, "");
    assert_int_equal(weft_addr_format(&a, buf, 15), 14);

    weft_addr unix_addr;
    memset(&unix_addr, 0, sizeof unix_addr);
    unix_addr.ss.ss_family = AF_UNIX;
    assert_int_equal(weft_addr_format(&unix_addr, buf, sizeof buf), -EAFNOSUPPORT);
    assert_int_equal(weft_addr_port(&unix_addr), -EAFNOSUPPORT);
}

static void test_from_sockaddr(void **state)
{
    (void)state;
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(7);
    sin6.sin6_addr = in6addr_loopback;
    weft_addr a;
    assert_int_equal(weft_addr_from_sockaddr(&a, (struct sockaddr *)&sin6, sizeof sin6), 0);
    char buf[WEFT_ADDR_STRLEN];
    assert_int_equal(weft_addr_format(&a, buf, sizeof buf), 7);
    assert_string_equal(buf, "[::1]:7");
    assert_int_equal(weft_addr_from_sockaddr(&a, (struct sockaddr *)&sin6, 8), -EINVAL);
    sin6.sin6_family = AF_UNIX;
    assert_int_equal(weft_addr_from_sockaddr(&a, (struct sockaddr *)&sin6, sizeof sin6),
                     -EAFNOSUPPORT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_host_names_need_resolver),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_long_input),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_format_limits),
        cmocka_unit_test(test_from_sockaddr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
