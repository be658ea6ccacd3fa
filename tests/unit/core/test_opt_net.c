/* --net, --vsock and --console: good values fill struct vm_config, bad ones
 * give one line naming the option and value (and `ringvm run` exits 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "opt_net.h"

/* The parsers split their argument in place, as argv allows: copy each
 * value into writable storage first. */
static char store[16][256];

static enum cli_result parse(struct vm_config *cfg, char *err, const char **args)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)"run";
	argv[argc++] = (char *)"--kernel";
	argv[argc++] = (char *)"/proc/self/exe";
	for (unsigned i = 0; *args; i++, args++) {
		snprintf(store[i], sizeof(store[i]), "%s", *args);
		argv[argc++] = store[i];
	}
	argv[argc] = NULL;
	vm_config_defaults(cfg);
	return cli_parse_run(argc, argv, cfg, err, 256);
}

#define PARSE(...) parse(&cfg, err, (const char *[]){ __VA_ARGS__, NULL })
#define BAD(needle, ...) do {                                   \
	assert_int_equal(PARSE(__VA_ARGS__), CLI_ERROR);        \
	assert_non_null(strstr(err, needle));                   \
	assert_null(strchr(err, '\n'));                         \
} while (0)

static void test_net_good(void **state)
{
	(void)state;
	struct vm_config cfg;
	char err[256];
	assert_int_equal(PARSE("--net", "user"), CLI_OK);
	assert_int_equal(cfg.nr_nets, 1);
	assert_int_equal(cfg.nets[0].kind, VM_NET_USER);
	assert_false(cfg.nets[0].has_mac);

	assert_int_equal(PARSE("--net", "user,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp::5353-:53,"
			       "mac=52:54:00:AB:cd:01,id=eth0",
			       "--net", "tap,ifname=tap0,id=lan"), CLI_OK);
	assert_int_equal(cfg.nr_nets, 2);
	assert_int_equal(cfg.nets[0].nr_hostfwd, 2);
	assert_string_equal(cfg.nets[0].hostfwd[0], "tcp:127.0.0.1:8080-:80");
	assert_string_equal(cfg.nets[0].hostfwd[1], "udp::5353-:53");
	assert_true(cfg.nets[0].has_mac);
	assert_memory_equal(cfg.nets[0].mac, ((uint8_t[]){ 0x52, 0x54, 0, 0xab, 0xcd, 1 }), 6);
	assert_string_equal(cfg.nets[0].id, "eth0");
	assert_int_equal(cfg.nets[1].kind, VM_NET_TAP);
	assert_string_equal(cfg.nets[1].ifname, "tap0");
	assert_string_equal(cfg.nets[1].id, "lan");
}

static void test_net_bad(void **state)
{
	(void)state;
	struct vm_config cfg;
	char err[256];
	BAD("--net bridge", "--net", "bridge");
	BAD("--net hostfwd=tcp::80-80", "--net", "user,hostfwd=tcp::80-80");
	BAD("guest port", "--net", "user,hostfwd=tcp::80-:0");
	BAD("--net mac=52:54:00:12:34", "--net", "user,mac=52:54:00:12:34");
	BAD("multicast", "--net", "user,mac=01:00:5e:00:00:01");
	BAD("mac= given twice", "--net", "user,mac=52:54:00:00:00:01,mac=52:54:00:00:00:02");
	BAD("tap needs ifname", "--net", "tap");
	BAD("--net ifname=a-very-long-name-", "--net", "tap,ifname=a-very-long-name-x");
	BAD("ifname= is for tap", "--net", "user,ifname=tap0");
	BAD("hostfwd= is for the user network", "--net", "tap,ifname=t,hostfwd=tcp::1-:2");
	BAD("unknown key 'foo'", "--net", "user,foo=1");
	BAD("not KEY=VALUE", "--net", "user,hostfwd");
	BAD("id eth0 is used twice", "--net", "user,id=eth0", "--net", "user,id=eth0");
	BAD("MAC address is used twice", "--net", "user,mac=52:54:00:00:00:01",
	    "--net", "user,mac=52:54:00:00:00:01");
	BAD("at most 4", "--net", "user", "--net", "user", "--net", "user", "--net", "user",
	    "--net", "user");
	BAD("at most 8 hostfwd", "--net", "user,hostfwd=::1-:1,hostfwd=::2-:1,hostfwd=::3-:1,"
	    "hostfwd=::4-:1,hostfwd=::5-:1,hostfwd=::6-:1,hostfwd=::7-:1,hostfwd=::8-:1,"
	    "hostfwd=::9-:1");
	BAD("--net needs a value", "--net");
}

static void test_vsock_console(void **state)
{
	(void)state;
	struct vm_config cfg;
	char err[256];
	assert_int_equal(PARSE("--vsock", "cid=3,uds=/tmp/v.sock"), CLI_OK);
	assert_true(cfg.vsock.enabled);
	assert_int_equal(cfg.vsock.guest_cid, 3);
	assert_string_equal(cfg.vsock.uds_path, "/tmp/v.sock");
	assert_int_equal(PARSE("--vsock", "uds=/x,cid=4294967294"), CLI_OK);
	assert_int_equal(cfg.vsock.guest_cid, 4294967294u);
	BAD("--vsock cid=2", "--vsock", "cid=2,uds=/x");
	BAD("--vsock cid=4294967295", "--vsock", "cid=4294967295,uds=/x");
	BAD("--vsock cid=-3", "--vsock", "cid=-3,uds=/x");
	BAD("--vsock cid=3x", "--vsock", "cid=3x,uds=/x");
	BAD("both cid=N and uds=PATH", "--vsock", "cid=3");
	BAD("both cid=N and uds=PATH", "--vsock", "uds=/x");
	BAD("unknown key 'port'", "--vsock", "cid=3,uds=/x,port=1");
	BAD("only one vsock", "--vsock", "cid=3,uds=/x", "--vsock", "cid=4,uds=/y");
	char longpath[120];
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "cid=3,uds=/", 11);
	longpath[119] = 0;
	BAD("a socket path of 1 to 96 bytes", "--vsock", longpath);

	assert_int_equal(PARSE("--console", "virtio"), CLI_OK);
	assert_int_equal(cfg.console, VM_CONSOLE_VIRTIO);
	assert_int_equal(PARSE("--console", "serial"), CLI_OK);
	assert_int_equal(cfg.console, VM_CONSOLE_SERIAL);
	assert_int_equal(PARSE("--kernel", "/proc/self/exe"), CLI_OK);
	assert_int_equal(cfg.console, VM_CONSOLE_SERIAL);
	BAD("--console hvc: expected serial or virtio", "--console", "hvc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_good),
		cmocka_unit_test(test_net_bad),
		cmocka_unit_test(test_vsock_console),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
