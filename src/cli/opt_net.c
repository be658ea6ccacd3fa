/* `ringvm run` options for the network, vsock and console devices, in the
 * habits of QEMU and Firecracker users:
 *   --net user[,hostfwd=[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT]...[,mac=MAC][,id=ID]
 *   --net tap,ifname=NAME[,mac=MAC][,id=ID]
 *   --vsock cid=N,uds=PATH
 *   --console serial|virtio
 * Values are split at commas in place (like getsubopt(3)): the config keeps
 * pointers into argv, which lives as long as the VM. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "opt_net.h"
#include "ringvm/net.h"

#define IFNAME_MAX 15   /* IFNAMSIZ - 1 */

static enum cli_result fail(char *err, size_t len, const char *fmt, ...) PRINTF_FMT(3, 4);
static enum cli_result fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return CLI_ERROR;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "52:54:00:12:34:56" */
int cli_parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Next "key=value" or "word" item of a comma-separated list; NULL at the end. */
static char *next_item(char **p)
{
	if (!*p)
		return NULL;
	char *item = *p;
	char *comma = strchr(item, ',');
	if (comma) {
		*comma = 0;
		*p = comma + 1;
	} else {
		*p = NULL;
	}
	return item;
}

enum cli_result cli_parse_net(char *s, struct vm_config *cfg, char *err, size_t len)
{
	char shown[160];
	snprintf(shown, sizeof(shown), "%s", s);
	if (cfg->nr_nets >= VM_MAX_NETS)
		return fail(err, len, "--net %s: at most %d network interfaces", shown, VM_MAX_NETS);
	struct vm_net n = { 0 };
	char *p = s;
	char *kind = next_item(&p);
	if (!strcmp(kind, "user"))
		n.kind = VM_NET_USER;
	else if (!strcmp(kind, "tap"))
		n.kind = VM_NET_TAP;
	else
		return fail(err, len, "--net %s: expected user[,hostfwd=...][,mac=...][,id=...] "
			    "or tap,ifname=NAME[,mac=...][,id=...]", shown);
	char *item;
	while ((item = next_item(&p))) {
		char *eq = strchr(item, '=');
		if (!eq || eq == item)
			return fail(err, len, "--net %s: '%s' is not KEY=VALUE", shown, item);
		*eq = 0;
		const char *key = item, *val = eq + 1;
		if (!strcmp(key, "hostfwd")) {
			struct net_hostfwd f;
			char why[128];
			if (n.kind != VM_NET_USER)
				return fail(err, len, "--net %s: hostfwd= is for the user network", shown);
			if (n.nr_hostfwd >= VM_MAX_HOSTFWD)
				return fail(err, len, "--net %s: at most %d hostfwd= rules", shown,
					    VM_MAX_HOSTFWD);
			if (net_hostfwd_parse(val, &f, why, sizeof(why)) < 0)
				return fail(err, len, "--net hostfwd=%s: %s", val, why);
			n.hostfwd[n.nr_hostfwd++] = val;
		} else if (!strcmp(key, "mac")) {
			if (n.has_mac)
				return fail(err, len, "--net %s: mac= given twice", shown);
			if (cli_parse_mac(val, n.mac) < 0)
				return fail(err, len, "--net mac=%s: expected six hex bytes like 52:54:00:12:34:56",
					    val);
			if (n.mac[0] & 1)
				return fail(err, len, "--net mac=%s: a multicast address (the first byte is odd)",
					    val);
			n.has_mac = true;
		} else if (!strcmp(key, "id")) {
			if (!*val || strlen(val) > 64)
				return fail(err, len, "--net id=%s: an id of 1 to 64 bytes is needed", val);
			n.id = val;
		} else if (!strcmp(key, "ifname")) {
			if (n.kind != VM_NET_TAP)
				return fail(err, len, "--net %s: ifname= is for tap", shown);
			if (!*val || strlen(val) > IFNAME_MAX || strchr(val, '/'))
				return fail(err, len, "--net ifname=%s: an interface name of 1 to %d bytes "
					    "without '/' is needed", val, IFNAME_MAX);
			n.ifname = val;
		} else {
			return fail(err, len, "--net %s: unknown key '%s' (hostfwd, mac, id, ifname)",
				    shown, key);
		}
	}
	if (n.kind == VM_NET_TAP && !n.ifname)
		return fail(err, len, "--net %s: tap needs ifname=NAME", shown);
	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		if (n.id && cfg->nets[i].id && !strcmp(n.id, cfg->nets[i].id))
			return fail(err, len, "--net %s: id %s is used twice", shown, n.id);
		if (n.has_mac && cfg->nets[i].has_mac && !memcmp(n.mac, cfg->nets[i].mac, 6))
			return fail(err, len, "--net %s: the MAC address is used twice", shown);
	}
	cfg->nets[cfg->nr_nets++] = n;
	return CLI_OK;
}

enum cli_result cli_parse_vsock(char *s, struct vm_config *cfg, char *err, size_t len)
{
	char shown[160];
	snprintf(shown, sizeof(shown), "%s", s);
	if (cfg->vsock.enabled)
		return fail(err, len, "--vsock %s: only one vsock device", shown);
	struct vm_vsock v = { .enabled = true };
	bool have_cid = false;
	char *p = s, *item;
	while ((item = next_item(&p))) {
		char *eq = strchr(item, '=');
		if (!eq)
			return fail(err, len, "--vsock %s: '%s' is not KEY=VALUE (cid=N,uds=PATH)",
				    shown, item);
		*eq = 0;
		const char *val = eq + 1;
		if (!strcmp(item, "cid")) {
			char *end;
			if (*val < '0' || *val > '9')
				return fail(err, len, "--vsock cid=%s: a number from 3 to 4294967294", val);
			unsigned long long c = strtoull(val, &end, 10);
			/* 0-2 are the hypervisor, local and host; -1 is VMADDR_CID_ANY. */
			if (*end || c < 3 || c >= 0xffffffffULL)
				return fail(err, len, "--vsock cid=%s: a number from 3 to 4294967294", val);
			v.guest_cid = (uint32_t)c;
			have_cid = true;
		} else if (!strcmp(item, "uds")) {
			/* Room for "_<port>" (up to 10 digits) in sun_path. */
			size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1 - 11;
			if (!*val || strlen(val) > max)
				return fail(err, len, "--vsock uds=%s: a socket path of 1 to %zu bytes is needed",
					    val, max);
			v.uds_path = val;
		} else {
			return fail(err, len, "--vsock %s: unknown key '%s' (cid, uds)", shown, item);
		}
	}
	if (!have_cid || !v.uds_path)
		return fail(err, len, "--vsock %s: both cid=N and uds=PATH are needed", shown);
	cfg->vsock = v;
	return CLI_OK;
}

enum cli_result cli_parse_console(const char *s, struct vm_config *cfg, char *err, size_t len)
{
	if (!strcmp(s, "serial"))
		cfg->console = VM_CONSOLE_SERIAL;
	else if (!strcmp(s, "virtio"))
		cfg->console = VM_CONSOLE_VIRTIO;
	else
		return fail(err, len, "--console %s: expected serial or virtio", s);
	return CLI_OK;
}
