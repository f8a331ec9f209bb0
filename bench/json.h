/* SPDX-License-Identifier: MIT */
/*
 * bench/json.h - the one JSON writer of the ipckit command: strings quoted
 * and escaped for the documents of `ipckit bench --json`
 * (docs/bench-schema.json) and `ipckit ls/stat/gc --json`
 * (docs/ls-schema.json). It lives in the bench library because that is the
 * one the command links; numbers, keys and brackets stay with each writer.
 */
#ifndef IPCKIT_BENCH_JSON_H
#define IPCKIT_BENCH_JSON_H

#include <stdio.h>

/* @s as a JSON string on @f: '"' and '\\' escaped with a backslash, bytes
 * below 0x20 as \u00XX, every other byte (UTF-8 included) as it is. */
void json_str(FILE *f, const char *s);

/* json_str(), or null for a NULL @s. */
void json_str_or_null(FILE *f, const char *s);

#endif /* IPCKIT_BENCH_JSON_H */
