/*
 * unit.h - checks shared by the table-driven cmocka unit tests.
 *
 * cmocka's assert_* macros stop a test at the first failure, which in a table
 * hides every later row. These checks instead print the failing row's name,
 * the expression and both values, count the failure and go on; UNIT_END()
 * then fails the test if any check failed. So one run lists every failing
 * case by name, as curl's unit tests do.
 */
#ifndef HG_TEST_UNIT_H
#define HG_TEST_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define UNIT_UNUSED __attribute__((unused))
#define UNIT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int unit_failures;

/* Prints `len` bytes, escaping everything that is not printable ASCII. */
UNIT_UNUSED static void
unit_print_bytes(const char *bytes, size_t len)
{
    if (bytes == NULL) {
        print_error("(null)");
        return;
    }
    print_error("\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)bytes[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            print_error("%c", c);
        else
            print_error("\\x%02x", c);
    }
    print_error("\"");
}

UNIT_UNUSED static int
unit_check(int ok, const char *file, int line, const char *name, const char *expr)
{
    if (!ok) {
        print_error("%s:%d: [%s] check failed: %s\n", file, line, name, expr);
        unit_failures++;
    }
    return ok;
}

UNIT_UNUSED static int
unit_check_int(const char *file, int line, const char *name, const char *expr, long long actual,
               long long expected)
{
    if (actual == expected)
        return 1;
    print_error("%s:%d: [%s] %s is %lld, expected %lld\n", file, line, name, expr, actual,
                expected);
    unit_failures++;
    return 0;
}

UNIT_UNUSED static int
unit_check_mem(const char *file, int line, const char *name, const char *expr, const char *actual,
               size_t actual_len, const char *expected, size_t expected_len)
{
    if (actual != NULL && expected != NULL && actual_len == expected_len &&
        memcmp(actual, expected, actual_len) == 0)
        return 1;
    if (actual == NULL && expected == NULL)
        return 1;
    print_error("%s:%d: [%s] %s is\n    ", file, line, name, expr);
    unit_print_bytes(actual, actual_len);
    print_error("\n  expected\n    ");
    unit_print_bytes(expected, expected_len);
    print_error("\n");
    unit_failures++;
    return 0;
}

UNIT_UNUSED static int
unit_check_str(const char *file, int line, const char *name, const char *expr, const char *actual,
               const char *expected)
{
    return unit_check_mem(file, line, name, expr, actual, actual ? strlen(actual) : 0, expected,
                          expected ? strlen(expected) : 0);
}

UNIT_UNUSED static int
unit_check_contains(const char *file, int line, const char *name, const char *expr,
                    const char *haystack, const char *needle, int want)
{
    int found = haystack != NULL && strstr(haystack, needle) != NULL;
    if (found == want)
        return 1;
    print_error("%s:%d: [%s] %s %s \"%s\": ", file, line, name, expr,
                want ? "does not contain" : "contains", needle);
    unit_print_bytes(haystack, haystack ? strlen(haystack) : 0);
    print_error("\n");
    unit_failures++;
    return 0;
}

#define CHECK(name, cond) unit_check((cond) != 0, __FILE__, __LINE__, (name), #cond)
#define CHECK_INT(name, actual, expected)                                                          \
    unit_check_int(__FILE__, __LINE__, (name), #actual, (long long)(actual), (long long)(expected))
#define CHECK_STR(name, actual, expected)                                                          \
    unit_check_str(__FILE__, __LINE__, (name), #actual, (actual), (expected))
#define CHECK_MEM(name, actual, actual_len, expected, expected_len)                                \
    unit_check_mem(__FILE__, __LINE__, (name), #actual, (actual), (actual_len), (expected),        \
                   (expected_len))
#define CHECK_CONTAINS(name, haystack, needle)                                                     \
    unit_check_contains(__FILE__, __LINE__, (name), #haystack, (haystack), (needle), 1)
#define CHECK_NOT_CONTAINS(name, haystack, needle)                                                 \
    unit_check_contains(__FILE__, __LINE__, (name), #haystack, (haystack), (needle), 0)

/* Ends a test: fails it when any check above failed. */
#define UNIT_END()                                                                                 \
    do {                                                                                           \
        int unit_failed_ = unit_failures;                                                          \
        unit_failures = 0;                                                                         \
        if (unit_failed_ != 0)                                                                     \
            fail_msg("%d check(s) failed", unit_failed_);                                          \
    } while (0)

#endif
