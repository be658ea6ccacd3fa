/* The runtime directory of VMs (src/cli/fleet_registry.c): registration,
 * look-up, a name held by a live process, stale entries, hostile entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fleet_registry.h"

static char tmpdir[64], rundir[128];

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/ringvm-test-fleet-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	setenv("XDG_RUNTIME_DIR", tmpdir, 1);
	snprintf(rundir, sizeof(rundir), "%s/ringvm", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void write_entry(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.json", rundir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_register_lookup(void **state)
{
	char entry[FLEET_PATH_LEN + 80], err[512], dir[FLEET_PATH_LEN];
	struct fleet_entry e;
	(void)state;
	assert_int_equal(fleet_dir(dir, sizeof(dir), err, sizeof(err)), 0);
	assert_string_equal(dir, rundir);
	struct stat st;
	assert_int_equal(stat(rundir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(fleet_register("alpha", "rel.sock", entry, err, sizeof(err)), 0);
	assert_int_equal(fleet_lookup("alpha", &e), 0);
	assert_int_equal(e.pid, getpid());
	assert_true(e.api_sock[0] == '/');                 /* made absolute */
	assert_non_null(strstr(e.api_sock, "/rel.sock"));
	/* Registering again from the same process replaces the entry. */
	assert_int_equal(fleet_register("alpha", "/x.sock", entry, err, sizeof(err)), 0);
	assert_int_equal(fleet_lookup("alpha", &e), 0);
	assert_string_equal(e.api_sock, "/x.sock");
	struct fleet_entry *v;
	assert_int_equal(fleet_list(&v, err, sizeof(err)), 1);
	assert_string_equal(v[0].name, "alpha");
	free(v);
	fleet_unregister(entry);
	assert_int_equal(fleet_lookup("alpha", &e), -1);
	/* Names are file names: anything but [A-Za-z0-9_-] is refused. */
	assert_int_equal(fleet_register("../x", "/s", entry, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "A-Za-z0-9_-"));
	assert_int_equal(fleet_lookup("a/b", &e), -1);
}

static void test_taken_and_stale(void **state)
{
	char entry[FLEET_PATH_LEN + 80], err[512], text[256];
	struct fleet_entry e;
	(void)state;
	assert_int_equal(fleet_dir(text, sizeof(text), err, sizeof(err)), 0);
	/* A live process (our parent) holds "busy". */
	snprintf(text, sizeof(text), "{\"name\":\"busy\",\"pid\":%d,\"api_sock\":\"/s\",\"started_ms\":1}",
		 (int)getppid());
	write_entry("busy", text);
	assert_int_equal(fleet_register("busy", "/t", entry, err, sizeof(err)), FLEET_NAME_TAKEN);
	assert_non_null(strstr(err, "running already"));
	/* A dead process's entry is stale: ignored, removed, the name free. */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	assert_true(child > 0);
	waitpid(child, NULL, 0);
	snprintf(text, sizeof(text), "{\"name\":\"gone\",\"pid\":%d,\"api_sock\":\"/s\",\"started_ms\":1}",
		 (int)child);
	write_entry("gone", text);
	write_entry("junk", "{\"name\": 5}");
	write_entry("huge", "{\"name\":\"huge\",\"pid\":99999999999,\"api_sock\":\"/s\",\"started_ms\":1}");
	struct fleet_entry *v;
	assert_int_equal(fleet_list(&v, err, sizeof(err)), 1);   /* busy only */
	assert_string_equal(v[0].name, "busy");
	free(v);
	char path[256];
	snprintf(path, sizeof(path), "%s/gone.json", rundir);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(fleet_lookup("gone", &e), -1);
	assert_int_equal(fleet_register("gone", "/t", entry, err, sizeof(err)), 0);
	fleet_unregister(entry);
}

static void test_entry_parse(void **state)
{
	struct fleet_entry e;
	(void)state;
	assert_int_equal(fleet_entry_parse("{\"name\":\"a\",\"pid\":7,\"api_sock\":\"/s\",\"started_ms\":3}", &e), 0);
	assert_int_equal(e.pid, 7);
	assert_int_equal(e.started_ms, 3);
	assert_int_equal(fleet_entry_parse("{\"name\":\"a b\",\"pid\":7,\"api_sock\":\"/s\",\"started_ms\":3}", &e), -1);
	assert_int_equal(fleet_entry_parse("{\"name\":\"a\",\"pid\":0,\"api_sock\":\"/s\",\"started_ms\":3}", &e), -1);
	assert_int_equal(fleet_entry_parse("{\"name\":\"a\",\"pid\":7,\"api_sock\":\"rel\",\"started_ms\":3}", &e), -1);
	assert_int_equal(fleet_entry_parse("not json", &e), -1);
}

/* A directory others can enter is refused. */
static void test_dir_mode(void **state)
{
	char dir[FLEET_PATH_LEN], err[512];
	(void)state;
	assert_int_equal(fleet_dir(dir, sizeof(dir), err, sizeof(err)), 0);
	assert_int_equal(chmod(rundir, 0755), 0);
	assert_int_equal(fleet_dir(dir, sizeof(dir), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mode 0700"));
	assert_int_equal(chmod(rundir, 0700), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_taken_and_stale, setup, teardown),
		cmocka_unit_test(test_entry_parse),
		cmocka_unit_test_setup_teardown(test_dir_mode, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
