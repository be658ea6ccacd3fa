/* Typed access to the members of a Firecracker JSON object, each error
 * naming the member as a JSON pointer (RFC 6901).  Every byte of the input
 * is hostile: keys are escaped before they are printed. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fc.h"

/* Every error is one printable line: what it quotes from the input (a
 * path, jansson's excerpt near a parse error) may hold any byte, so control
 * characters become '?' here, once for every message. */
int fc_json_fail(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	for (unsigned char *c = (unsigned char *)err; n && *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -1;
}

int fc_json_parse_fail(char *err, size_t n, const json_error_t *je)
{
	return fc_json_fail(err, n, "invalid JSON at line %d, column %d: %s", je->line, je->column, je->text);
}

void fc_json_ptr(char *dst, size_t n, const char *ptr, const char *key)
{
	size_t o = (size_t)snprintf(dst, n, "%s/", ptr);
	if (o >= n)
		return;
	for (const unsigned char *k = (const unsigned char *)key; *k && o + 3 < n; k++) {
		if (k - (const unsigned char *)key >= 64) {
			dst[o++] = '.'; dst[o++] = '.'; dst[o++] = '.';
			break;
		}
		if (*k == '~' || *k == '/') {
			dst[o++] = '~';
			dst[o++] = *k == '~' ? '0' : '1';
		} else {
			dst[o++] = (*k < 0x20 || *k >= 0x7f || *k == '"' || *k == '\\') ? '?' : (char)*k;
		}
	}
	dst[o] = 0;
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

int fc_json_object(json_t *obj, const char *ptr, char *err, size_t n)
{
	if (!json_is_object(obj))
		return fc_json_fail(err, n, "%s: expected an object, got %s", ptr[0] ? ptr : "/",
				    json_type_name(obj));
	return 0;
}

int fc_json_known(json_t *obj, const char *ptr, const char *const *allowed, char *err, size_t n)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(*a, key);
		if (!ok) {
			char p[256];
			fc_json_ptr(p, sizeof(p), ptr, key);
			return fc_json_fail(err, n, "%s: unknown field", p);
		}
	}
	return 0;
}

/* The member, or NULL if absent (or null and optional). */
static int member(json_t *obj, const char *ptr, const char *key, bool required, json_t **out,
		  char *err, size_t n)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || (json_is_null(v) && !required)) {
		if (required)
			return fc_json_fail(err, n, "%s/%s: missing (required)", ptr, key);
		return 0;
	}
	*out = v;
	return 0;
}

int fc_json_str(json_t *obj, const char *ptr, const char *key, bool required, char *dst,
		size_t dstlen, bool *present, char *err, size_t n)
{
	json_t *v;
	if (present)
		*present = false;
	if (member(obj, ptr, key, required, &v, err, n) < 0)
		return -1;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return fc_json_fail(err, n, "%s/%s: expected a string, got %s", ptr, key,
				    json_type_name(v));
	size_t len = json_string_length(v);
	const char *s = json_string_value(v);
	if (memchr(s, 0, len))
		return fc_json_fail(err, n, "%s/%s: the string contains a NUL character", ptr, key);
	if (len >= dstlen)
		return fc_json_fail(err, n, "%s/%s: longer than %zu characters", ptr, key, dstlen - 1);
	memcpy(dst, s, len + 1);
	if (present)
		*present = true;
	return 0;
}

int fc_json_bool(json_t *obj, const char *ptr, const char *key, bool required, bool *out,
		 bool *present, char *err, size_t n)
{
	json_t *v;
	if (present)
		*present = false;
	if (member(obj, ptr, key, required, &v, err, n) < 0)
		return -1;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fc_json_fail(err, n, "%s/%s: expected a boolean, got %s", ptr, key,
				    json_type_name(v));
	*out = json_is_true(v);
	if (present)
		*present = true;
	return 0;
}

int fc_json_uint(json_t *obj, const char *ptr, const char *key, bool required, uint64_t min,
		 uint64_t max, uint64_t *out, bool *present, char *err, size_t n)
{
	json_t *v;
	if (present)
		*present = false;
	if (member(obj, ptr, key, required, &v, err, n) < 0)
		return -1;
	if (!v)
		return 0;
	/* jansson's integers are json_int_t (long long): larger literals
	 * are refused by the parser itself. */
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < min || (uint64_t)json_integer_value(v) > max)
		return fc_json_fail(err, n, "%s/%s: expected an integer from %llu to %llu", ptr, key,
				    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	if (present)
		*present = true;
	return 0;
}

int fc_json_no_rate_limiter(json_t *obj, const char *ptr, const char *key, char *err, size_t n)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fc_json_fail(err, n, "%s/%s: expected an object, got %s", ptr, key,
				    json_type_name(v));
	const char *k;
	json_t *m;
	json_object_foreach(v, k, m) {
		if (json_is_null(m))
			continue;
		char p[256];
		fc_json_ptr(p, sizeof(p), ptr, key);
		if (strcmp(k, "bandwidth") && strcmp(k, "ops")) {
			char q[320];
			fc_json_ptr(q, sizeof(q), p, k);
			return fc_json_fail(err, n, "%s: unknown field", q);
		}
		return fc_json_fail(err, n, "%s/%s: rate limiting is not supported by ringvm", p, k);
	}
	return 0;
}

int fc_json_file(const char *path, const char *ptr, const char *key, char *err, size_t n)
{
	struct stat st;
	if (!path[0])
		return fc_json_fail(err, n, "%s/%s: empty path", ptr, key);
	if (stat(path, &st) < 0 || access(path, R_OK) < 0)
		return fc_json_fail(err, n, "%s/%s: cannot read '%s': %s", ptr, key, path,
				    strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return fc_json_fail(err, n, "%s/%s: '%s' is not a regular file", ptr, key, path);
	return 0;
}

int fc_json_id(const char *id, const char *ptr, const char *key, char *err, size_t n)
{
	size_t len = strlen(id);
	if (len == 0 || len >= FC_ID_LEN)
		return fc_json_fail(err, n, "%s/%s: expected 1 to %d characters", ptr, key,
				    FC_ID_LEN - 1);
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return fc_json_fail(err, n,
					    "%s/%s: only letters, digits, '_' and '-' are allowed", ptr,
					    key);
	}
	return 0;
}
