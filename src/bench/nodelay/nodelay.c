/*
 * LD_PRELOAD shim: turns TCP_NODELAY on for every TCP socket a program connects or accepts.
 *
 * Debian's DCMTK 3.6.7 (storescu, storescp, ...) never sets TCP_NODELAY, so on loopback each
 * C-STORE stalls on Nagle + delayed ACK (see shared STACK_NOTES: 11 vs ~1130 small instances/s).
 * Benchmarks preload this library into the DCMTK peers so they measure the receiver, not Nagle.
 *
 * Build:  gcc -shared -fPIC -O2 -o data/bench/libnodelay.so bench/nodelay/nodelay.c -ldl
 * Use:    LD_PRELOAD=$PWD/data/bench/libnodelay.so storescu ...
 * Debug:  NODELAY_DEBUG=1 prints one line per socket to stderr.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*accept4_fn)(int, struct sockaddr *, socklen_t *, int);

static void set_nodelay(int fd, const char *where) {
    int saved = errno;
    int type = 0;
    socklen_t len = sizeof type;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    if (fd >= 0
        && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM
        && getsockname(fd, (struct sockaddr *) &ss, &sslen) == 0
        && (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
        int one = 1;
        int rc = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (getenv("NODELAY_DEBUG"))
            fprintf(stderr, "nodelay: %s fd=%d TCP_NODELAY=%s\n", where, fd, rc == 0 ? "on" : "failed");
    }
    errno = saved;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    static connect_fn real;
    if (!real) real = (connect_fn) dlsym(RTLD_NEXT, "connect");
    int rc = real(fd, addr, len);
    /* Non-blocking connects return EINPROGRESS: the option may be set before the handshake ends. */
    if (rc == 0 || errno == EINPROGRESS) set_nodelay(fd, "connect");
    return rc;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
    static accept_fn real;
    if (!real) real = (accept_fn) dlsym(RTLD_NEXT, "accept");
    int s = real(fd, addr, len);
    if (s >= 0) set_nodelay(s, "accept");
    return s;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    static accept4_fn real;
    if (!real) real = (accept4_fn) dlsym(RTLD_NEXT, "accept4");
    int s = real(fd, addr, len, flags);
    if (s >= 0) set_nodelay(s, "accept4");
    return s;
}
