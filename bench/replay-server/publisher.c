/*
 * publisher.c — a pipelining PUBLISH load generator for the real-server benchmark (bench/README.md).
 *
 * Writes `--count` PUBLISH commands for one channel, `--pipeline` commands per write (or, with
 * `--rate N`, N per second paced in 1 ms steps, for the SSE fan-out bench), on one
 * connection, while a second thread reads (and counts) the integer replies so the server never
 * blocks on our socket. Written in C so the publisher is cheap and its CPU cost is known: at exit it
 * prints one JSON line {published, replies, wall_ms, cpu_us} so the runner can tell which process
 * (publisher, redis-server, subscriber) was the bottleneck. Not a client library; no error recovery.
 * `--stamp`: each payload carries its send time after the '#', as 16 decimal digits of wall-clock
 * microseconds (CLOCK_REALTIME), so readers on this machine can measure publish → receive latency.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fd;
static long long count = 100000;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Each reply to PUBLISH is ":<n>\r\n": exactly one '\n' per reply. */
static void *read_replies(void *argument) {
    long long *replies = argument;
    char buffer[65536];
    while (*replies < count) {
        ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        for (ssize_t i = 0; i < got; i++) *replies += buffer[i] == '\n';
    }
    return NULL;
}

int main(int argc, char **argv) {
    int port = 6379, pipeline = 256;
    double rate = 0; /* messages per second; 0 = as fast as the socket takes them */
    uint32_t payload_bytes = 16;
    int stamp = 0;
    const char *channel = "bench:events";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) count = atoll(argv[++i]);
        else if (strcmp(argv[i], "--payload-bytes") == 0 && i + 1 < argc) payload_bytes = (uint32_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--pipeline") == 0 && i + 1 < argc) pipeline = atoi(argv[++i]);
        else if (strcmp(argv[i], "--channel") == 0 && i + 1 < argc) channel = argv[++i];
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) rate = atof(argv[++i]);
        else if (strcmp(argv[i], "--stamp") == 0) stamp = 1;
        else {
            fprintf(stderr, "usage: publisher [--port N] [--count N] [--payload-bytes N] [--pipeline N] [--channel C] [--rate N] [--stamp]\n");
            return 2;
        }
    }
    if (pipeline < 1) pipeline = 1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        perror("publisher: connect");
        return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    size_t channel_length = strlen(channel);
    char *command = malloc(96 + channel_length + payload_bytes);
    size_t n = (size_t)sprintf(command, "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%u\r\n", channel_length, channel, payload_bytes);
    size_t stamp_offset = n + 1; /* just after the '#' */
    if (stamp && payload_bytes < 17) stamp = 0;
    /* '#' first: readers of the SSE bench count events by counting '#' bytes, whatever the framing. */
    for (uint32_t i = 0; i < payload_bytes; i++) command[n++] = i == 0 ? '#' : (char)('a' + i % 26);
    command[n++] = '\r';
    command[n++] = '\n';
    char *batch = malloc(n * (size_t)pipeline);
    for (int i = 0; i < pipeline; i++) memcpy(batch + (size_t)i * n, command, n);

    long long replies = 0;
    pthread_t reader;
    pthread_create(&reader, NULL, read_replies, &replies);
    double started = now_ms();
    for (long long left = count; left > 0;) {
        long long now = left < pipeline ? left : pipeline;
        if (rate > 0) { /* paced: send what is due by now, then sleep 1 ms */
            long long due = (long long)((now_ms() - started) / 1000.0 * rate) - (count - left);
            if (due <= 0) {
                struct timespec pause = {0, 1000000};
                nanosleep(&pause, NULL);
                continue;
            }
            if (now > due) now = due;
        }
        if (stamp) {
            struct timespec wall;
            clock_gettime(CLOCK_REALTIME, &wall);
            char digits[24];
            snprintf(digits, sizeof digits, "%016lld", (long long)wall.tv_sec * 1000000LL + wall.tv_nsec / 1000);
            for (long long i = 0; i < now; i++) memcpy(batch + (size_t)i * n + stamp_offset, digits, 16);
        }
        const char *bytes = batch;
        size_t length = (size_t)now * n;
        while (length > 0) {
            ssize_t written = send(fd, bytes, length, MSG_NOSIGNAL);
            if (written < 0) {
                if (errno == EINTR) continue;
                perror("publisher: send");
                return 1;
            }
            bytes += written;
            length -= (size_t)written;
        }
        left -= now;
    }
    pthread_join(reader, NULL);
    double wall_ms = now_ms() - started;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu_us = (double)usage.ru_utime.tv_sec * 1e6 + (double)usage.ru_utime.tv_usec +
                    (double)usage.ru_stime.tv_sec * 1e6 + (double)usage.ru_stime.tv_usec;
    printf("{\"published\":%lld,\"replies\":%lld,\"wall_ms\":%.3f,\"cpu_us\":%.0f}\n", count, replies, wall_ms, cpu_us);
    close(fd);
    return replies == count ? 0 : 1;
}
