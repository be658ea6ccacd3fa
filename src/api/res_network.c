/* PUT/PATCH /network-interfaces/{iface_id}, "network-interfaces" in the
 * config file (Firecracker's NetworkInterface): a TAP device on the host
 * (struct vm_net, VM_NET_TAP). */
#include <stdio.h>
#include <string.h>

#include "fc.h"

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;
	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (s[i * 3 + 2] != ':' && i < 5)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

int fc_res_net(struct fc_vmm *fc, json_t *obj, bool put, const char *path_id, const char *ptr,
	       char *err, size_t n)
{
	static const char *const fields[] = { "iface_id", "host_dev_name", "guest_mac",
		"rx_rate_limiter", "tx_rate_limiter", NULL };
	struct fc_net d = { 0 };
	char mac[24];
	bool has_mac;

	if (fc_json_object(obj, ptr, err, n) < 0 ||
	    fc_json_known(obj, ptr, put ? fields : (const char *const[]){ "iface_id",
		"rx_rate_limiter", "tx_rate_limiter", NULL }, err, n) < 0 ||
	    fc_json_str(obj, ptr, "iface_id", true, d.id, sizeof(d.id), NULL, err, n) < 0 ||
	    fc_json_id(d.id, ptr, "iface_id", err, n) < 0 ||
	    fc_json_no_rate_limiter(obj, ptr, "rx_rate_limiter", err, n) < 0 ||
	    fc_json_no_rate_limiter(obj, ptr, "tx_rate_limiter", err, n) < 0)
		return -1;
	if (path_id && strcmp(path_id, d.id))
		return fc_json_fail(err, n, "%s/iface_id: '%s' differs from the interface id in the path",
				    ptr, d.id);
	struct fc_net *old = NULL;
	for (unsigned i = 0; i < fc->nr_nets; i++)
		if (!strcmp(fc->nets[i].id, d.id))
			old = &fc->nets[i];
	if (!put) {
		/* PATCH changes only rate limiters, which are not supported. */
		if (!old)
			return fc_json_fail(err, n, "%s/iface_id: no network interface '%s' to update", ptr, d.id);
		return 0;
	}
	if (fc_json_str(obj, ptr, "host_dev_name", true, d.host_dev_name, sizeof(d.host_dev_name),
			NULL, err, n) < 0 ||
	    fc_json_str(obj, ptr, "guest_mac", false, mac, sizeof(mac), &has_mac, err, n) < 0)
		return -1;
	if (!d.host_dev_name[0] || strchr(d.host_dev_name, '/'))
		return fc_json_fail(err, n, "%s/host_dev_name: expected a TAP interface name", ptr);
	if (has_mac) {
		if (parse_mac(mac, d.mac) < 0)
			return fc_json_fail(err, n, "%s/guest_mac: expected a MAC address like 06:00:ac:10:00:02", ptr);
		if (d.mac[0] & 1)
			return fc_json_fail(err, n, "%s/guest_mac: a multicast address cannot be a guest's MAC", ptr);
		d.has_mac = true;
	}
	for (unsigned i = 0; i < fc->nr_nets; i++)
		if (&fc->nets[i] != old && !strcmp(fc->nets[i].host_dev_name, d.host_dev_name))
			return fc_json_fail(err, n, "%s/host_dev_name: '%s' is already used by '%s'", ptr,
					    d.host_dev_name, fc->nets[i].id);
	if (old) {
		*old = d;
		return 0;
	}
	if (fc->nr_nets >= VM_MAX_NETS)
		return fc_json_fail(err, n, "%s: at most %d network interfaces are supported", ptr, VM_MAX_NETS);
	fc->nets[fc->nr_nets++] = d;
	return 0;
}
