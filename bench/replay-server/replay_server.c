/*
 * replay_server.c — a fake Redis for the client-bound benchmark (bench/README.md, "Client, replay").
 *
 * Its one job: make the SUBSCRIBER the only thing that costs. It answers the handshake every client
 * library sends (HELLO, AUTH, CLIENT SETNAME/SETINFO, SELECT, INFO, PING), confirms SUBSCRIBE, then
 * writes `--count` pre-encoded message pushes for the first subscribed channel as fast as the socket
 * takes them (one write of many messages at a time, no per-message work), then keeps reading commands
 * until the client leaves (or closes first with --close-after).
 *
 *   RESP3 (default): HELLO 3 gets a map, pushes are  >3 $7 message $<n> <channel> $<n> <payload>
 *   --resp2        : HELLO gets an error (like Redis 5), pushes are *3 arrays
 *
 * Channels whose name starts with "warmup" get --warmup-count messages instead (JIT warm-up runs).
 * Prints "PORT <n>" on stdout once listening (use --port 0 for an ephemeral port).
 * One thread per connection; no limits beyond what a benchmark needs. Not a Redis: never use it as one.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

enum { COMMAND_ARGUMENTS_MAX = 64, INPUT_BYTES_MAX = 1 << 20, CHUNK_BYTES_TARGET = 256 * 1024 };

static struct {
    long long count;
    long long warmup_count;
    uint32_t payload_bytes;
    int resp2_only;
    int close_after;
} config = {100000, 10000, 16, 0, 0};

typedef struct {
    int fd;
    int protocol; /* 2 until HELLO 3 succeeds */
    int subscriptions;
    int streamed;
    char input[INPUT_BYTES_MAX];
    size_t input_length;
} connection;

static int write_all(int fd, const char *bytes, size_t length) {
    while (length > 0) {
        ssize_t written = send(fd, bytes, length, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        bytes += written;
        length -= (size_t)written;
    }
    return 0;
}

static int write_text(connection *c, const char *text) { return write_all(c->fd, text, strlen(text)); }

static size_t encode_bulk(char *out, const char *bytes, size_t length) {
    size_t n = (size_t)sprintf(out, "$%zu\r\n", length);
    memcpy(out + n, bytes, length);
    n += length;
    out[n++] = '\r';
    out[n++] = '\n';
    return n;
}

/* Encodes one message push, `count` times back to back, and writes the whole stream. */
static int stream_messages(connection *c, const char *channel, size_t channel_length) {
    long long count = (channel_length >= 6 && memcmp(channel, "warmup", 6) == 0) ? config.warmup_count : config.count;
    size_t one_capacity = 64 + channel_length + config.payload_bytes;
    char *one = malloc(one_capacity);
    char *payload = malloc(config.payload_bytes ? config.payload_bytes : 1);
    if (!one || !payload) return -1;
    for (uint32_t i = 0; i < config.payload_bytes; i++) payload[i] = (char)('a' + i % 26);
    size_t n = (size_t)sprintf(one, "%c3\r\n$7\r\nmessage\r\n", c->protocol == 3 ? '>' : '*');
    n += encode_bulk(one + n, channel, channel_length);
    n += encode_bulk(one + n, payload, config.payload_bytes);
    size_t per_chunk = CHUNK_BYTES_TARGET / n;
    if (per_chunk < 1) per_chunk = 1;
    char *chunk = malloc(per_chunk * n);
    if (!chunk) return -1;
    for (size_t i = 0; i < per_chunk; i++) memcpy(chunk + i * n, one, n);
    int status = 0;
    for (long long left = count; left > 0 && status == 0;) {
        long long now = left < (long long)per_chunk ? left : (long long)per_chunk;
        status = write_all(c->fd, chunk, (size_t)now * n);
        left -= now;
    }
    free(chunk);
    free(payload);
    free(one);
    return status;
}

static int reply_subscribe_family(connection *c, const char *kind, char **args, size_t *lengths, int argc) {
    char out[512];
    for (int i = 1; i < argc; i++) {
        if (lengths[i] > 256) return -1;
        if (strcmp(kind, "subscribe") == 0 || strcmp(kind, "psubscribe") == 0 || strcmp(kind, "ssubscribe") == 0)
            c->subscriptions++;
        else if (c->subscriptions > 0)
            c->subscriptions--;
        size_t n = (size_t)sprintf(out, "%c3\r\n", c->protocol == 3 ? '>' : '*');
        n += encode_bulk(out + n, kind, strlen(kind));
        n += encode_bulk(out + n, args[i], lengths[i]);
        n += (size_t)sprintf(out + n, ":%d\r\n", c->subscriptions);
        if (write_all(c->fd, out, n) != 0) return -1;
    }
    if (argc == 1 && kind[0] != 's' && kind[0] != 'p') { /* UNSUBSCRIBE with no names and nothing left */
        size_t n = (size_t)sprintf(out, "%c3\r\n", c->protocol == 3 ? '>' : '*');
        n += encode_bulk(out + n, kind, strlen(kind));
        n += (size_t)sprintf(out + n, "%s:0\r\n", c->protocol == 3 ? "_\r\n" : "$-1\r\n");
        if (write_all(c->fd, out, n) != 0) return -1;
    }
    return 0;
}

static int reply_hello(connection *c, char **args, size_t *lengths, int argc) {
    if (config.resp2_only) return write_text(c, "-ERR unknown command 'HELLO', with args beginning with: '3'\r\n");
    int wanted = (argc >= 2 && lengths[1] == 1) ? args[1][0] - '0' : c->protocol;
    if (wanted != 2 && wanted != 3) return write_text(c, "-NOPROTO unsupported protocol version\r\n");
    c->protocol = wanted;
    const char *fields = "$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.0\r\n$5\r\nproto\r\n:%d\r\n"
                         "$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
                         "$7\r\nmodules\r\n*0\r\n";
    char out[512];
    size_t n = (size_t)sprintf(out, wanted == 3 ? "%%7\r\n" : "*14\r\n");
    n += (size_t)sprintf(out + n, fields, wanted);
    return write_all(c->fd, out, n);
}

static int dispatch(connection *c, char **args, size_t *lengths, int argc) {
    if (argc == 0) return 0;
    char name[32] = {0};
    size_t name_length = lengths[0] < sizeof(name) - 1 ? lengths[0] : sizeof(name) - 1;
    for (size_t i = 0; i < name_length; i++) name[i] = (char)((args[0][i] >= 'A' && args[0][i] <= 'Z') ? args[0][i] + 32 : args[0][i]);
    if (strcmp(name, "hello") == 0) return reply_hello(c, args, lengths, argc);
    if (strcmp(name, "subscribe") == 0 || strcmp(name, "psubscribe") == 0 || strcmp(name, "ssubscribe") == 0) {
        if (reply_subscribe_family(c, name, args, lengths, argc) != 0) return -1;
        if (strcmp(name, "subscribe") == 0 && !c->streamed && argc >= 2) {
            c->streamed = 1;
            if (stream_messages(c, args[1], lengths[1]) != 0) return -1;
            if (config.close_after) return -1;
        }
        return 0;
    }
    if (strcmp(name, "unsubscribe") == 0 || strcmp(name, "punsubscribe") == 0 || strcmp(name, "sunsubscribe") == 0)
        return reply_subscribe_family(c, name, args, lengths, argc);
    if (strcmp(name, "ping") == 0) {
        if (c->subscriptions > 0 && c->protocol == 2) return write_text(c, "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        return write_text(c, "+PONG\r\n");
    }
    if (strcmp(name, "info") == 0) {
        const char *info = "# Server\r\nredis_version:7.2.0\r\nredis_mode:standalone\r\nloading:0\r\n";
        char out[256];
        size_t n = encode_bulk(out, info, strlen(info));
        return write_all(c->fd, out, n);
    }
    if (strcmp(name, "quit") == 0) {
        write_text(c, "+OK\r\n");
        return -1;
    }
    if (strcmp(name, "client") == 0 && argc >= 2 && lengths[1] == 2 && strncasecmp(args[1], "id", 2) == 0)
        return write_text(c, ":1\r\n");
    return write_text(c, "+OK\r\n"); /* AUTH, SELECT, CLIENT SETNAME/SETINFO, READONLY, ... */
}

/* Parses complete RESP arrays of bulk strings from the input; returns bytes consumed or -1. */
static long parse_commands(connection *c) {
    size_t offset = 0;
    for (;;) {
        char *args[COMMAND_ARGUMENTS_MAX];
        size_t lengths[COMMAND_ARGUMENTS_MAX];
        size_t cursor = offset;
        if (cursor >= c->input_length) break;
        if (c->input[cursor] != '*') return -1; /* inline commands: not needed by any client */
        char *line_end = memmem(c->input + cursor, c->input_length - cursor, "\r\n", 2);
        if (!line_end) break;
        long argc = strtol(c->input + cursor + 1, NULL, 10);
        if (argc < 0 || argc > COMMAND_ARGUMENTS_MAX) return -1;
        cursor = (size_t)(line_end - c->input) + 2;
        int complete = 1;
        for (long i = 0; i < argc; i++) {
            if (cursor >= c->input_length) { complete = 0; break; }
            if (c->input[cursor] != '$') return -1;
            char *end = memmem(c->input + cursor, c->input_length - cursor, "\r\n", 2);
            if (!end) { complete = 0; break; }
            long length = strtol(c->input + cursor + 1, NULL, 10);
            if (length < 0) return -1;
            cursor = (size_t)(end - c->input) + 2;
            if (cursor + (size_t)length + 2 > c->input_length) { complete = 0; break; }
            args[i] = c->input + cursor;
            lengths[i] = (size_t)length;
            cursor += (size_t)length + 2;
        }
        if (!complete) break;
        offset = cursor;
        if (dispatch(c, args, lengths, (int)argc) != 0) return -1;
    }
    return (long)offset;
}

static void *serve(void *argument) {
    connection *c = argument;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (;;) {
        if (c->input_length == INPUT_BYTES_MAX) break;
        ssize_t got = recv(c->fd, c->input + c->input_length, INPUT_BYTES_MAX - c->input_length, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        c->input_length += (size_t)got;
        long consumed = parse_commands(c);
        if (consumed < 0) break;
        memmove(c->input, c->input + consumed, c->input_length - (size_t)consumed);
        c->input_length -= (size_t)consumed;
    }
    close(c->fd);
    free(c);
    return NULL;
}

static void usage(void) {
    fprintf(stderr, "usage: replay-server [--port N] [--count N] [--warmup-count N] [--payload-bytes N] "
                    "[--resp2] [--close-after]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) config.count = atoll(argv[++i]);
        else if (strcmp(argv[i], "--warmup-count") == 0 && i + 1 < argc) config.warmup_count = atoll(argv[++i]);
        else if (strcmp(argv[i], "--payload-bytes") == 0 && i + 1 < argc) config.payload_bytes = (uint32_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--resp2") == 0) config.resp2_only = 1;
        else if (strcmp(argv[i], "--close-after") == 0) config.close_after = 1;
        else usage();
    }
    signal(SIGPIPE, SIG_IGN);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof(address)) != 0 || listen(listener, 128) != 0) {
        perror("replay-server: bind/listen");
        return 1;
    }
    socklen_t address_length = sizeof(address);
    getsockname(listener, (struct sockaddr *)&address, &address_length);
    printf("PORT %d\n", ntohs(address.sin_port));
    fflush(stdout);
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            perror("replay-server: accept");
            return 1;
        }
        connection *c = calloc(1, sizeof(connection));
        if (!c) { close(fd); continue; }
        c->fd = fd;
        c->protocol = 2;
        pthread_t thread;
        if (pthread_create(&thread, NULL, serve, c) != 0) { close(fd); free(c); continue; }
        pthread_detach(thread);
    }
}
