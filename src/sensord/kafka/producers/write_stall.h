/* write_stall: whether a producer's writes are being acknowledged. A topic
 * whose partitions have fewer in-sync replicas than min.insync.replicas, or
 * no leader, takes no acks=all write: librdkafka retries such writes for
 * ever and says why only in its "msg" debug log. This notes that reason
 * (from any librdkafka thread), and tells, on the loop's thread, when no
 * write has been acknowledged for WRITE_STALL_AFTER_US while some wait:
 * once in the log with the topic and the broker's error, and again when
 * writes are acknowledged once more. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WRITE_STALL_AFTER_US (5 * 1000000ull)

typedef struct WriteStall {
        const char *what; /* "changelog topic sensor-state", for the log */
        uint64_t outstanding; /* writes produced and not yet reported */
        uint64_t progress_us; /* the last acknowledgement, or when the first write began waiting */
        uint64_t told_us;     /* when the stall was logged; 0: not logged */
        uint64_t began_us;    /* the logged stall's last acknowledgement before it */
        pthread_mutex_t lock; /* for reason, written by librdkafka's threads */
        char reason[384];
} WriteStall;

void write_stall_init(WriteStall *w, const char *what);
void write_stall_free(WriteStall *w);

/* The "debug" property that makes librdkafka log why a write is retried:
 * value (the operator's own, or "") with "msg" added. */
void write_stall_debug_property(const char *value, char *out, size_t size);

/* From the log callback: notes a write's error ("... encountered error:
 * Broker: Not enough in-sync replicas ..."). Thread-safe. */
void write_stall_note_log(WriteStall *w, const char *facility, const char *message);

void write_stall_produced(WriteStall *w, uint64_t now_us);
/* A delivery report: acknowledged (ok) or failed for good. */
void write_stall_delivered(WriteStall *w, bool ok, uint64_t now_us);

/* How long writes have waited with none acknowledged; 0 when none waits. */
uint64_t write_stall_age_us(const WriteStall *w, uint64_t now_us);
bool write_stall_stalled(const WriteStall *w, uint64_t now_us);
/* How long a stall has lasted, in whole seconds; 0 while writes flow. */
uint64_t write_stall_seconds(const WriteStall *w, uint64_t now_us);

/* Logs a stall that began, once, and its end. Returns whether stalled. */
bool write_stall_check(WriteStall *w, uint64_t now_us);

/* The broker's last error, for STATUS= ("" if none noted). */
void write_stall_reason(WriteStall *w, char *buf, size_t size);
