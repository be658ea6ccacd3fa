/* QEMU's host-forward rule syntax for the user-mode network:
 *   [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
 * e.g. "tcp:127.0.0.1:8080-:80" (QEMU's docs, -netdev user,hostfwd=). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringvm/net.h"

static int parse_port(const char *s, size_t n, uint16_t *port)
{
	if (n == 0 || n > 5)
		return -1;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int parse_addr(const char *s, size_t n, uint32_t *addr)
{
	char buf[INET_ADDRSTRLEN];
	if (n == 0) {
		*addr = 0;
		return 0;
	}
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	struct in_addr a;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*addr = a.s_addr;
	return 0;
}

/* "ADDR:PORT" with ADDR possibly empty, from s[0..n). */
static int parse_endpoint(const char *s, size_t n, uint32_t *addr, uint16_t *port,
			  const char *which, char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', n);
	if (!colon) {
		snprintf(err, errlen, "%s side needs ADDR:PORT (the address may be empty)", which);
		return -1;
	}
	if (parse_addr(s, (size_t)(colon - s), addr) < 0) {
		snprintf(err, errlen, "%s address '%.*s' is not an IPv4 address", which,
			 (int)(colon - s), s);
		return -1;
	}
	size_t plen = n - (size_t)(colon + 1 - s);
	if (parse_port(colon + 1, plen, port) < 0) {
		snprintf(err, errlen, "%s port '%.*s' is not a port number from 1 to 65535", which,
			 (int)plen, colon + 1);
		return -1;
	}
	return 0;
}

int net_hostfwd_parse(const char *s, struct net_hostfwd *fwd, char *err, size_t errlen)
{
	memset(fwd, 0, sizeof(*fwd));
	if (!strncmp(s, "tcp:", 4)) {
		s += 4;
	} else if (!strncmp(s, "udp:", 4)) {
		fwd->udp = true;
		s += 4;
	} else if (s[0] == ':') {
		s += 1; /* protocol omitted: tcp, as in QEMU */
	} else {
		snprintf(err, errlen, "expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT");
		return -1;
	}
	const char *dash = strchr(s, '-');
	if (!dash) {
		snprintf(err, errlen, "no '-' between the host and guest sides");
		return -1;
	}
	if (parse_endpoint(s, (size_t)(dash - s), &fwd->host_addr, &fwd->host_port, "host",
			   err, errlen) < 0)
		return -1;
	if (parse_endpoint(dash + 1, strlen(dash + 1), &fwd->guest_addr, &fwd->guest_port,
			   "guest", err, errlen) < 0)
		return -1;
	return 0;
}
