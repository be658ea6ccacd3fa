/* vsockping: vsock round trip from the guest to the host (bench/iobench.py).
 *
 *   vsockping [--port P] [--seconds S]
 *
 * Connects to CID 2 (the host) port P (default 5000) over AF_VSOCK, then
 * writes one byte and waits for it to come back, again and again for S
 * seconds (default 2), and prints
 *   vsock_rtt <median us> us
 *   vsock_rtt_min <us> us
 *   vsock_rounds <n> rounds
 * The host side is a Unix socket that echoes (Firecracker's convention: a
 * guest connecting to the host's port P reaches the Unix socket <uds>_P).
 * Built static by bench/build so that it runs in any guest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define MAX_ROUNDS 200000

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    unsigned port = 5000;
    double seconds = 2.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = strtod(argv[++i], NULL);
        else {
            fprintf(stderr, "usage: vsockping [--port P] [--seconds S]\n");
            return 2;
        }
    }
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0) {
        printf("vsockping: socket(AF_VSOCK): %s\n", strerror(errno));
        return 1;
    }
    struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port };
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        printf("vsockping: connect to CID 2 port %u: %s\n", port, strerror(errno));
        return 1;
    }
    static double rtt[MAX_ROUNDS];
    int n = 0;
    double start = now_us();
    while (n < MAX_ROUNDS && now_us() - start < seconds * 1e6) {
        char c = (char)n, back;
        double t0 = now_us();
        if (write(fd, &c, 1) != 1 || read(fd, &back, 1) != 1 || back != c) {
            printf("vsockping: round %d failed: %s\n", n, strerror(errno));
            return 1;
        }
        rtt[n++] = now_us() - t0;
    }
    close(fd);
    if (n == 0)
        return 1;
    qsort(rtt, (size_t)n, sizeof(rtt[0]), cmp_double);
    printf("vsock_rtt %.1f us\nvsock_rtt_min %.1f us\nvsock_rounds %d rounds\n", rtt[n / 2], rtt[0], n);
    return 0;
}
