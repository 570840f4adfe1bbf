/*
 * c_consumer.c — the native ceiling seen through the C ABI: the same stream as bench/core.bench.ts
 * (RESP3 message pushes on "bench:events", ~256 KiB per pass, fed in 64 KiB pieces, drained after
 * each piece) read by a C caller with pw_next_batch and with pw_next_message/pw_free_message.
 * Subtracting these numbers from the JS ones in core.bench.ts gives what the FFI layer and the JS
 * Frame construction cost per message. Prints one JSON line per (path, size).
 * Usage: c-consumer [seconds_per_case] [size ...]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pushwire.h"

enum { PIECE_BYTES = 64 * 1024, STREAM_BYTES_TARGET = 256 * 1024, MAX_BATCH = 1024, DATA_BYTES = 256 * 1024 };

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint8_t *encode_stream(uint32_t payload_bytes, size_t *out_length, uint32_t *out_messages) {
    char header[128];
    int header_length = sprintf(header, ">3\r\n$7\r\nmessage\r\n$12\r\nbench:events\r\n$%u\r\n", payload_bytes);
    size_t one = (size_t)header_length + payload_bytes + 2;
    uint32_t messages = STREAM_BYTES_TARGET / one;
    if (messages < 4) messages = 4;
    uint8_t *stream = malloc(one * messages);
    for (uint32_t m = 0; m < messages; m++) {
        uint8_t *at = stream + one * m;
        memcpy(at, header, (size_t)header_length);
        memset(at + header_length, 'x', payload_bytes);
        memcpy(at + header_length + payload_bytes, "\r\n", 2);
    }
    *out_length = one * messages;
    *out_messages = messages;
    return stream;
}

static uint32_t header_words[MAX_BATCH * PW_BATCH_HEADER_WORDS];
static uint8_t *data;
static uint32_t data_capacity = DATA_BYTES;

static uint64_t pass_batch(pw_parser *parser, const uint8_t *stream, size_t length, uint64_t *payload_bytes) {
    uint64_t messages = 0;
    for (size_t offset = 0; offset < length; offset += PIECE_BYTES) {
        uint32_t piece = (uint32_t)(length - offset < PIECE_BYTES ? length - offset : PIECE_BYTES);
        if (pw_feed(parser, stream + offset, piece) != PW_OK) { fprintf(stderr, "pw_feed failed\n"); exit(1); }
        for (;;) {
            uint32_t out[2];
            pw_status status = pw_next_batch(parser, header_words, MAX_BATCH, data, data_capacity, out);
            if (status == PW_PENDING) break;
            if (status == PW_BUFFER_TOO_SMALL) {
                data_capacity = out[1] * 2;
                data = realloc(data, data_capacity);
                continue;
            }
            if (status != PW_OK) { fprintf(stderr, "pw_next_batch: %d\n", status); exit(1); }
            for (uint32_t i = 0; i < out[0]; i++) *payload_bytes += header_words[i * PW_BATCH_HEADER_WORDS + PW_BATCH_PAYLOAD_LENGTH];
            messages += out[0];
        }
    }
    return messages;
}

static uint64_t pass_simple(pw_parser *parser, const uint8_t *stream, size_t length, uint64_t *payload_bytes) {
    uint64_t messages = 0;
    for (size_t offset = 0; offset < length; offset += PIECE_BYTES) {
        uint32_t piece = (uint32_t)(length - offset < PIECE_BYTES ? length - offset : PIECE_BYTES);
        if (pw_feed(parser, stream + offset, piece) != PW_OK) { fprintf(stderr, "pw_feed failed\n"); exit(1); }
        pw_message *message;
        while (pw_next_message(parser, &message) == PW_OK) {
            *payload_bytes += message->payload_length;
            messages++;
            pw_free_message(parser, message);
        }
    }
    return messages;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 0.5;
    uint32_t default_sizes[] = {16, 256, 4096, 65536};
    int size_count = argc > 2 ? argc - 2 : 4;
    data = malloc(data_capacity);
    for (int s = 0; s < size_count; s++) {
        uint32_t size = argc > 2 ? (uint32_t)atol(argv[2 + s]) : default_sizes[s];
        size_t length;
        uint32_t per_pass;
        uint8_t *stream = encode_stream(size, &length, &per_pass);
        for (int path = 0; path < 2; path++) {
            pw_parser *parser = pw_parser_new(NULL);
            uint64_t messages = 0, payload_bytes = 0, passes = 0;
            for (int warm = 0; warm < 20; warm++)
                (path == 0 ? pass_batch : pass_simple)(parser, stream, length, &payload_bytes);
            payload_bytes = 0;
            double started = now_seconds(), elapsed;
            do {
                messages += (path == 0 ? pass_batch : pass_simple)(parser, stream, length, &payload_bytes);
                passes++;
                elapsed = now_seconds() - started;
            } while (elapsed < seconds);
            if (messages != passes * per_pass || payload_bytes != messages * size) {
                fprintf(stderr, "c-consumer: wrong result at %u B: %llu messages\n", size, (unsigned long long)messages);
                return 1;
            }
            printf("{\"reader\":\"%s\",\"payloadBytes\":%u,\"nsPerMessage\":%.1f,\"messagesPerSecond\":%.0f}\n",
                   path == 0 ? "C batch" : "C simple", size, elapsed * 1e9 / (double)messages, (double)messages / elapsed);
            pw_parser_free(parser);
        }
        free(stream);
    }
    return 0;
}
