/* ringbench: the guest benchmark program of ringvm's bench harness (bench/run).
 *
 * Built static (bench/build) so that the same binary runs natively on the host
 * and inside the benchmark initramfs. Prints one "name value unit" line per
 * figure, '#' comment lines, and "RINGBENCH-END ok|fail" last.
 *
 *   ringbench [--quick] [--fixed] [--scale X] [--busybox PATH] [--only NAME[,NAME]]
 *
 * Default: each figure runs for ~0.25 s of wall time (time-based, so a slow VMM
 * does not take forever). --quick: ~0.03 s each (harness self-test).
 * --fixed: a fixed amount of work per figure (for instruction counting), times
 * --scale. --busybox: the busybox used by the mixed workload (default: "busybox"
 * in PATH, else "gzip").
 */
#define _GNU_SOURCE
#include <emmintrin.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

static double g_target = 0.25; /* seconds per figure (time-based mode) */
static int g_fixed;            /* fixed-work mode */
static double g_scale = 1.0;
static const char *g_busybox;
static const char *g_only;
static int g_failed;
static volatile uint64_t g_sink;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int want(const char *name)
{
    if (!g_only)
        return 1;
    size_t n = strlen(name);
    for (const char *p = g_only; (p = strstr(p, name)) != NULL; p += n)
        if ((p == g_only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

static void fig(const char *name, double value, const char *unit)
{
    printf("%s %.6g %s\n", name, value, unit);
    fflush(stdout);
}

static void fail(const char *what)
{
    printf("# error: %s: %s\n", what, strerror(errno));
    fflush(stdout);
    g_failed = 1;
}

/* Fixed mode: run exactly n units. Time mode: run chunks of `chunk` units
 * until g_target seconds have passed. Returns units done; *secs = elapsed. */
#define RUN_LOOP(n_fixed, chunk, secs, body)                                    \
    ({                                                                          \
        uint64_t done_ = 0;                                                     \
        double t0_ = now(), t1_;                                                \
        if (g_fixed) {                                                          \
            uint64_t n_ = (uint64_t)((double)(n_fixed) * g_scale);              \
            if (n_ < 1) n_ = 1;                                                 \
            for (uint64_t i_ = 0; i_ < n_; i_++) { body; }                      \
            done_ = n_;                                                         \
            t1_ = now();                                                        \
        } else {                                                                \
            do {                                                                \
                for (uint64_t i_ = 0; i_ < (uint64_t)(chunk); i_++) { body; }   \
                done_ += (chunk);                                               \
                t1_ = now();                                                    \
            } while (t1_ - t0_ < g_target);                                     \
        }                                                                       \
        *(secs) = t1_ - t0_;                                                    \
        done_;                                                                  \
    })

/* ---- syscall round trip ------------------------------------------------- */
static void bench_syscall(void)
{
    double secs;
    uint64_t c0 = __rdtsc();
    uint64_t n = RUN_LOOP(200000, 1000, &secs, g_sink += (uint64_t)syscall(SYS_getppid));
    uint64_t c1 = __rdtsc();
    fig("syscall_getppid", secs * 1e9 / (double)n, "ns");
    fig("syscall_getppid_tsc", (double)(c1 - c0) / (double)n, "cycles");
}

/* ---- integer kernel: bitwise-table CRC32 (zlib polynomial) -------------- */
static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_buf(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
    uint32_t x = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

static void bench_crc32(void)
{
    enum { SZ = 256 << 10 };
    unsigned char *buf = malloc(SZ);
    if (!buf) return fail("malloc");
    fill(buf, SZ, 42);
    uint32_t crc = 0;
    double secs;
    uint64_t n = RUN_LOOP(64, 1, &secs, crc = crc32_buf(crc, buf, SZ));
    if (crc32_buf(0, (const unsigned char *)"123456789", 9) != 0xcbf43926u) {
        errno = EINVAL;
        fail("crc32 self-check");
    }
    g_sink += crc;
    fig("crc32", (double)n * SZ / secs / 1e6, "MB/s");
    free(buf);
}

/* ---- memory kernels: libc memcpy and an SSE2 triad ---------------------- */
static void bench_memcpy(void)
{
    enum { SZ = 8 << 20 };
    unsigned char *a = malloc(SZ), *b = malloc(SZ);
    if (!a || !b) return fail("malloc");
    memset(a, 1, SZ);
    memset(b, 2, SZ);
    double secs;
    uint64_t n = RUN_LOOP(32, 1, &secs, { memcpy(b, a, SZ); g_sink += b[i_ & (SZ - 1)]; });
    fig("memcpy", (double)n * SZ / secs / 1e9, "GB/s");

    /* a[i] = b[i] + s * c[i] on doubles, 2 per SSE2 op, 3 x 2 MiB arrays */
    enum { N = (2 << 20) / 8 };
    double *x = (double *)(void *)a, *y = (double *)(void *)b, *z = (double *)(void *)(a + SZ / 2);
    for (size_t i = 0; i < N; i++) {
        y[i] = (double)i;
        z[i] = 1.0 / (double)(i + 1);
    }
    __m128d s = _mm_set1_pd(0.5);
    n = RUN_LOOP(96, 1, &secs, {
        for (size_t j = 0; j < N; j += 2) {
            __m128d v = _mm_add_pd(_mm_load_pd(&y[j]), _mm_mul_pd(s, _mm_load_pd(&z[j])));
            _mm_store_pd(&x[j], v);
        }
        g_sink += (uint64_t)x[i_ & (N - 1)];
    });
    fig("sse2_triad", (double)n * 3.0 * N * 8 / secs / 1e9, "GB/s");
    free(a);
    free(b);
}

/* ---- page faults: first touch of fresh anonymous 4 KiB pages ------------ */
static void bench_pagefault(void)
{
    enum { REGION = 16 << 20, PAGES = REGION / 4096 };
    double total = 0, t0;
    uint64_t pages = 0;
    double secs;
    (void)RUN_LOOP(4, 1, &secs, {
        unsigned char *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { fail("mmap"); break; }
#ifdef MADV_NOHUGEPAGE
        madvise(p, REGION, MADV_NOHUGEPAGE);
#endif
        t0 = now();
        for (size_t k = 0; k < PAGES; k++)
            p[k * 4096] = 1;
        total += now() - t0;
        pages += PAGES;
        munmap(p, REGION);
    });
    if (pages)
        fig("pagefault", total * 1e9 / (double)pages, "ns");
}

/* ---- pipe ping-pong between two processes ------------------------------- */
static void bench_pipe(void)
{
    int ab[2], ba[2];
    if (pipe(ab) || pipe(ba)) return fail("pipe");
    pid_t pid = fork();
    if (pid < 0) return fail("fork");
    if (pid == 0) {
        char c;
        close(ab[1]);
        close(ba[0]);
        while (read(ab[0], &c, 1) == 1)
            if (write(ba[1], &c, 1) != 1)
                break;
        _exit(0);
    }
    close(ab[0]);
    close(ba[1]);
    char c = 'x';
    double secs;
    int bad = 0;
    uint64_t n = RUN_LOOP(20000, 100, &secs, {
        if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1) { bad = 1; break; }
    });
    close(ab[1]);
    close(ba[0]);
    waitpid(pid, NULL, 0);
    if (bad) return fail("pipe ping-pong");
    fig("pipe_pingpong", secs * 1e9 / (double)n, "ns");
}

/* ---- fork + _exit + wait -------------------------------------------------- */
static void bench_fork(void)
{
    double secs;
    int bad = 0;
    uint64_t n = RUN_LOOP(300, 10, &secs, {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        if (pid < 0 || waitpid(pid, NULL, 0) != pid) { bad = 1; break; }
    });
    if (bad) return fail("fork");
    fig("fork_exit_wait", secs * 1e6 / (double)n, "us");
}

/* ---- mixed: generate text, gzip it with busybox, checksum the result ----- */
static const char *tmpdir(void)
{
    static const char *const c[] = {"/dev/shm", "/tmp", "."};
    const char *t = getenv("TMPDIR");
    if (t && access(t, W_OK) == 0) return t;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (access(c[i], W_OK) == 0) return c[i];
    return ".";
}

static int mixed_once(const char *dir, size_t sz, uint32_t seed, uint32_t *crc_out)
{
    static const char *const words[] = {"ring", "vm", "guest", "kernel", "page", "fault", "exit",
                                        "serial", "virtio", "queue", "timer", "interrupt", "\n"};
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/ringbench.%d.in", dir, (int)getpid());
    snprintf(out, sizeof out, "%s/ringbench.%d.gz", dir, (int)getpid());
    char *buf = malloc(sz);
    if (!buf) return -1;
    uint32_t x = seed;
    size_t len = 0;
    while (len < sz) {
        x = x * 1103515245u + 12345u;
        const char *w = words[(x >> 16) % (sizeof words / sizeof words[0])];
        size_t wl = strlen(w);
        if (len + wl + 1 > sz) break;
        memcpy(buf + len, w, wl);
        len += wl;
        buf[len++] = ' ';
    }
    int fd = open(in, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, buf, len) != (ssize_t)len) { free(buf); if (fd >= 0) close(fd); return -1; }
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        int i = open(in, O_RDONLY), o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (i < 0 || o < 0) _exit(126);
        dup2(i, 0);
        dup2(o, 1);
        if (strcmp(g_busybox, "gzip") == 0)
            execlp("gzip", "gzip", "-c", "-6", (char *)NULL);
        else
            execlp(g_busybox, "busybox", "gzip", "-c", "-6", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        free(buf);
        errno = ECHILD;
        return -1;
    }
    fd = open(out, O_RDONLY);
    if (fd < 0) { free(buf); return -1; }
    uint32_t crc = 0;
    ssize_t r;
    size_t total = 0;
    while ((r = read(fd, buf, sz)) > 0) {
        crc = crc32_buf(crc, (unsigned char *)buf, (size_t)r);
        total += (size_t)r;
    }
    close(fd);
    unlink(in);
    unlink(out);
    free(buf);
    *crc_out = crc;
    return total > 18 && total < len ? 0 : -1; /* gzip header + smaller than input */
}

static void bench_mixed(void)
{
    const char *dir = tmpdir();
    uint32_t crc = 0;
    uint64_t n = 0, nfixed = (uint64_t)(3 * g_scale) ? (uint64_t)(3 * g_scale) : 1;
    double t0 = now(), secs;
    do {
        if (mixed_once(dir, 1 << 20, 7, &crc) != 0)
            return fail("mixed (gzip)");
        n++;
        secs = now() - t0;
    } while (g_fixed ? n < nfixed : (n < 3 || secs < g_target));
    g_sink += crc;
    fig("mixed_gzip", secs * 1e3 / (double)n, "ms");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) g_target = 0.03;
        else if (!strcmp(argv[i], "--fixed")) g_fixed = 1;
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc) g_scale = atof(argv[++i]);
        else if (!strcmp(argv[i], "--target") && i + 1 < argc) g_target = atof(argv[++i]);
        else if (!strcmp(argv[i], "--busybox") && i + 1 < argc) g_busybox = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) g_only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--quick] [--fixed] [--scale X] [--target SECS] "
                            "[--busybox PATH] [--only a,b]\n", argv[0]);
            return 2;
        }
    }
    if (!g_busybox) {
        g_busybox = "gzip";
        const char *path = getenv("PATH");
        char buf[4096];
        for (const char *p = path ? path : "/bin:/usr/bin"; p && *p;) {
            const char *e = strchr(p, ':');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            snprintf(buf, sizeof buf, "%.*s/busybox", (int)l, p);
            if (access(buf, X_OK) == 0) { g_busybox = "busybox"; break; }
            p = e ? e + 1 : NULL;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("# ringbench mode=%s target=%.3gs scale=%.3g gzip=%s\n", g_fixed ? "fixed" : "time",
           g_target, g_scale, g_busybox);
    crc_init();
    double t0 = now();
    if (want("syscall")) bench_syscall();
    if (want("crc32")) bench_crc32();
    if (want("memcpy")) bench_memcpy();
    if (want("pagefault")) bench_pagefault();
    if (want("pipe")) bench_pipe();
    if (want("fork")) bench_fork();
    if (want("mixed")) bench_mixed();
    fig("ringbench_total", now() - t0, "s");
    printf("RINGBENCH-END %s\n", g_failed ? "fail" : "ok");
    return g_failed ? 1 : 0;
}
