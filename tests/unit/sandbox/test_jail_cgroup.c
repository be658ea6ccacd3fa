/* The jail's cgroup flags (src/sandbox/jail_cgroup.c): what --cgroup and
 * --parent-cgroup accept before anything is written under /sys/fs/cgroup
 * (a path that climbs out of the hierarchy, a file in another directory, a
 * value with a newline are refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ringvm/jail.h"

static void test_cgroup_spec(void **state)
{
	(void)state;
	static const char *const good[] = {
		"cpu.shares=512", "cpuset.cpus=0-3", "cpuset.mems=0", "memory.limit_in_bytes=1G",
		"cpu.max=50000 100000", "pids.max=max", "memory.memsw.limit_in_bytes=1",
	};
	static const char *const bad[] = {
		"", "cpu", "cpu.shares", "cpu.shares=", "=1", ".shares=1", "cpu.=1", "cpu=1.5",
		"../cpu.shares=1", "cpu/x.shares=1", "cpu.sha/res=1", "CPU.shares=1",
		"cpu.shares=1\n", "cpu.shares=a\tb", "cpu .shares=1",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(jail_cgroup_spec_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (jail_cgroup_spec_valid(bad[i]))
			fail_msg("--cgroup '%s' accepted", bad[i]);
	}
}

static void test_parent_cgroup(void **state)
{
	(void)state;
	static const char *const good[] = { "firecracker", "all_uvms/external_uvms", "a.b-c_d", "x/y/z" };
	static const char *const bad[] = {
		"", "/abs", "a/", "a//b", ".", "..", "a/../b", "a/./b", "../x", "a b", "a\nb",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(jail_parent_cgroup_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (jail_parent_cgroup_valid(bad[i]))
			fail_msg("--parent-cgroup '%s' accepted", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_spec),
		cmocka_unit_test(test_parent_cgroup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
