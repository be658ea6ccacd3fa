/* `ringvm run` option parsing: good input accepted, bad input named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

static enum cli_result parse(struct vm_config *cfg, char *err, const char **args)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)"run";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	vm_config_defaults(cfg);
	return cli_parse_run(argc, argv, cfg, err, 256);
}

#define PARSE(...) parse(&cfg, err, (const char *[]){ __VA_ARGS__, NULL })

static void test_sizes(void **state)
{
	(void)state;
	uint64_t b;
	assert_int_equal(cli_parse_size("512M", &b), 0);
	assert_int_equal(b, 512ULL << 20);
	assert_int_equal(cli_parse_size("2G", &b), 0);
	assert_int_equal(b, 2ULL << 30);
	assert_int_equal(cli_parse_size("2GiB", &b), 0);
	assert_int_equal(b, 2ULL << 30);
	assert_int_equal(cli_parse_size("256", &b), 0);
	assert_int_equal(b, 256ULL << 20);
	assert_int_equal(cli_parse_size("1048576K", &b), 0);
	assert_int_equal(b, 1ULL << 30);
	assert_int_equal(cli_parse_size("", &b), -1);
	assert_int_equal(cli_parse_size("-1G", &b), -1);
	assert_int_equal(cli_parse_size("12x", &b), -1);
	assert_int_equal(cli_parse_size("1.5G", &b), -1);
	assert_int_equal(cli_parse_size("99999999999999999999G", &b), -1);
	assert_int_equal(cli_parse_size("17179869184T", &b), -1); /* overflows 64 bits */
}

static void test_good_command_line(void **state)
{
	(void)state;
	struct vm_config cfg;
	char err[256];
	assert_int_equal(PARSE("--kernel", "/etc/hostname", "--initrd", "/etc/hostname",
			       "-m", "1G", "--cpus", "2", "--engine", "kvm", "--serial",
			       "file:/tmp/x", "--cmdline", "console=ttyS0", "--stats", "-v",
			       "--debug-exit", "0x501,2", "--on-reset", "exit", "--testdev"),
			 CLI_OK);
	assert_string_equal(cfg.kernel, "/etc/hostname");
	assert_int_equal(cfg.memory, 1ULL << 30);
	assert_int_equal(cfg.cpus, 2);
	assert_string_equal(cfg.engine, "kvm");
	assert_int_equal(cfg.serial, SERIAL_FILE);
	assert_string_equal(cfg.serial_path, "/tmp/x");
	assert_string_equal(cfg.cmdline, "console=ttyS0");
	assert_true(cfg.stats && cfg.verbose && cfg.testdev && cfg.debug_exit);
	assert_int_equal(cfg.debug_exit_port, 0x501);
	assert_int_equal(cfg.debug_exit_size, 2);
	assert_int_equal(cfg.on_reset, ON_RESET_EXIT);
}

static void test_defaults(void **state)
{
	(void)state;
	struct vm_config cfg;
	char err[256];
	assert_int_equal(PARSE("-k", "/etc/hostname"), CLI_OK);
	assert_int_equal(cfg.memory, 512ULL << 20);
	assert_int_equal(cfg.cpus, 1);
	assert_string_equal(cfg.engine, "auto");
	assert_int_equal(cfg.serial, SERIAL_STDIO);
	assert_true(cfg.debug_exit);
	assert_int_equal(cfg.debug_exit_port, 0xf4);
	assert_int_equal(cfg.debug_exit_size, 4);
	assert_int_equal(cfg.on_reset, ON_RESET_RESTART);
	assert_false(cfg.triple_fault_resets);
	assert_false(cfg.strict_mmio);
	assert_int_equal(PARSE("-k", "/etc/hostname", "--on-triple-fault", "reset"), CLI_OK);
	assert_true(cfg.triple_fault_resets);
	assert_int_equal(PARSE("-k", "/etc/hostname", "--strict-mmio"), CLI_OK);
	assert_true(cfg.strict_mmio);
	assert_false(cfg.no_seccomp);
	assert_int_equal(cfg.seccomp_selftest, -1);
	assert_int_equal(PARSE("-k", "/etc/hostname", "--no-seccomp"), CLI_OK);
	assert_true(cfg.no_seccomp);
	assert_int_equal(cfg.cpu_weight, 0);
	assert_int_equal(PARSE("-k", "/etc/hostname", "--cpu-weight", "10000", "--cpu-weight-strict"), CLI_OK);
	assert_int_equal(cfg.cpu_weight, 10000);
	assert_true(cfg.cpu_weight_strict);
	assert_false(cfg.memory_memfd);  /* anonymous RAM by default */
	assert_int_equal(PARSE("-k", "/etc/hostname", "--memory-backend", "memfd"), CLI_OK);
	assert_true(cfg.memory_memfd);
	assert_int_equal(PARSE("-k", "/etc/hostname", "--memory-backend", "anon"), CLI_OK);
	assert_false(cfg.memory_memfd);
}

static void expect_error(struct vm_config *cfg, char *err, const char **args, const char *needle)
{
	assert_int_equal(parse(cfg, err, args), CLI_ERROR);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

#define EXPECT_ERROR(needle, ...) \
	expect_error(&cfg, err, (const char *[]){ __VA_ARGS__, NULL }, needle)

static void test_bad_command_lines(void **state)
{
	(void)state;
	struct vm_config cfg;
	char err[256];
	EXPECT_ERROR("--kernel is required", "-m", "1G");
	EXPECT_ERROR("No such file", "--kernel", "/nonexistent/vmlinuz");
	EXPECT_ERROR("is a directory", "--kernel", "/etc");
	EXPECT_ERROR("--initrd", "--kernel", "/etc/hostname", "--initrd", "/nope");
	EXPECT_ERROR("--memory 12x", "--kernel", "/etc/hostname", "--memory", "12x");
	EXPECT_ERROR("--memory", "--kernel", "/etc/hostname", "--memory", "8M");
	EXPECT_ERROR("--cpus 0", "--kernel", "/etc/hostname", "--cpus", "0");
	EXPECT_ERROR("at most 64", "--kernel", "/etc/hostname", "--cpus", "65");
	EXPECT_ERROR("--cpus two", "--kernel", "/etc/hostname", "--cpus", "two");
	EXPECT_ERROR("--engine fast", "--kernel", "/etc/hostname", "--engine", "fast");
	EXPECT_ERROR("--serial tty", "--kernel", "/etc/hostname", "--serial", "tty");
	EXPECT_ERROR("--serial file:", "--kernel", "/etc/hostname", "--serial", "file:");
	EXPECT_ERROR("size must be", "--kernel", "/etc/hostname", "--debug-exit", "0xf4,3");
	EXPECT_ERROR("port must be", "--kernel", "/etc/hostname", "--debug-exit", "0x10000");
	EXPECT_ERROR("past port", "--kernel", "/etc/hostname", "--debug-exit", "0xfffe,4");
	EXPECT_ERROR("--on-reset", "--kernel", "/etc/hostname", "--on-reset", "maybe");
	EXPECT_ERROR("--cpu-weight 0: expected a whole number from 1 to 10000", "--kernel", "/etc/hostname", "--cpu-weight", "0");
	EXPECT_ERROR("--cpu-weight 10001", "--kernel", "/etc/hostname", "--cpu-weight", "10001");
	EXPECT_ERROR("--cpu-weight -5", "--kernel", "/etc/hostname", "--cpu-weight", "-5");
	EXPECT_ERROR("--on-triple-fault halt", "--kernel", "/etc/hostname", "--on-triple-fault", "halt");
	EXPECT_ERROR("--strict-mmio", "--kernel", "/etc/hostname", "--strict-mmio=yes");
	EXPECT_ERROR("--memory-backend file: expected anon or memfd", "--kernel", "/etc/hostname",
		     "--memory-backend", "file");
	EXPECT_ERROR("unknown option --frobnicate", "--kernel", "/etc/hostname", "--frobnicate");
	EXPECT_ERROR("needs a value", "--kernel");
	EXPECT_ERROR("unexpected argument", "--kernel", "/etc/hostname", "extra");
}

/* --drive edits its argument in place (the names stored in cfg point into
 * it), so these arguments are writable copies. */
static enum cli_result parse_drive(struct vm_config *cfg, char *err, const char *img,
				   const char *spec1, const char *spec2)
{
	static char a1[256], a2[256];
	snprintf(a1, sizeof(a1), spec1, img);
	snprintf(a2, sizeof(a2), spec2 ? spec2 : "", img);
	const char *args[] = { "--kernel", "/etc/hostname", "--drive", a1,
			       spec2 ? "--drive" : NULL, a2, NULL };
	return parse(cfg, err, args);
}

static void test_drive_and_rng(void **state)
{
	(void)state;
	struct vm_config cfg;
	char err[256] = "";
	char img[] = "/tmp/ringvm-test-drive-XXXXXX";
	int fd = mkstemp(img);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);

	assert_int_equal(parse_drive(&cfg, err, img, "path=%s,ro=on,id=root,serial=SER-1",
				     "file=%s"), CLI_OK);
	assert_int_equal(cfg.nr_drives, 2);
	assert_string_equal(cfg.drives[0].path, img);
	assert_true(cfg.drives[0].read_only);
	assert_string_equal(cfg.drives[0].id, "root");
	assert_string_equal(cfg.drives[0].serial, "SER-1");
	assert_false(cfg.drives[1].read_only);
	assert_null(cfg.drives[1].id);
	assert_false(cfg.rng);
	assert_int_equal(PARSE("--kernel", "/etc/hostname", "--rng"), CLI_OK);
	assert_true(cfg.rng);
	assert_int_equal(cfg.nr_drives, 0);

	static const struct { const char *spec, *needle; } bad[] = {
		{ "ro=on", "--drive ro=on: path=IMAGE is required" },
		{ "path=%s,ro=maybe", "ro=maybe: expected on or off" },
		{ "path=%s,cache=none", "unknown key 'cache'" },
		{ "path=%s,serial=123456789012345678901", "serial=123456789012345678901: 1-20" },
		{ "path=%s,id=", "id=: 1-64 printable" },
		{ "path=%s,bogus", "'bogus' is not KEY=VALUE" },
		{ "path=", "path is empty" },
		{ "path=/nonexistent/disk.img", "--drive path=/nonexistent/disk.img: No such file" },
		{ "path=/etc", "--drive path=/etc: not a regular file" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(parse_drive(&cfg, err, img, bad[i].spec, NULL), CLI_ERROR);
		if (!strstr(err, bad[i].needle))
			fail_msg("--drive %s: '%s' lacks '%s'", bad[i].spec, err, bad[i].needle);
	}
	err[0] = 0;
	assert_int_equal(parse_drive(&cfg, err, img, "path=%s,id=a", "path=%s,id=a"), CLI_ERROR);
	assert_non_null(strstr(err, "id a is used twice"));
	/* At most VM_MAX_DRIVES. */
	char specs[VM_MAX_DRIVES + 1][300];
	const char *args[2 * (VM_MAX_DRIVES + 1) + 3] = { "--kernel", "/etc/hostname" };
	unsigned n = 2;
	for (unsigned i = 0; i <= VM_MAX_DRIVES; i++) {
		snprintf(specs[i], sizeof(specs[i]), "path=%s", img);
		args[n++] = "--drive";
		args[n++] = specs[i];
	}
	args[n] = NULL;
	err[0] = 0;
	assert_int_equal(parse(&cfg, err, args), CLI_ERROR);
	assert_non_null(strstr(err, "at most 8 drives"));
	unlink(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_good_command_line),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_command_lines),
		cmocka_unit_test(test_drive_and_rng),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
