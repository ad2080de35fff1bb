/* checkpoint_format: encoding and decoding of checkpoint headers and records. */
#include "lib/state/checkpoint_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/state/crc32c.h"

#define MAGIC "SNSDCKPT"
#define MAGIC_LEN 8
#define RECORD_PREFIX 8 /* u32 length, u32 crc */

void checkpoint_buf_free(CheckpointBuf *b) {
        free(b->data);
        *b = (CheckpointBuf){ 0 };
}

static uint8_t *grow(CheckpointBuf *b, size_t n) {
        ARRAY_RESERVE(b->data, b->cap, b->len + n);
        uint8_t *p = b->data + b->len;
        b->len += n;
        return p;
}

static void put_le(uint8_t *p, uint64_t v, int bytes) {
        for (int i = 0; i < bytes; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static void put(CheckpointBuf *b, uint64_t v, int bytes) {
        put_le(grow(b, (size_t)bytes), v, bytes);
}

static void put_double(CheckpointBuf *b, double d) {
        uint64_t bits;
        memcpy(&bits, &d, sizeof(bits));
        put(b, bits, 8);
}

static void put_bytes(CheckpointBuf *b, const void *data, size_t n) {
        memcpy(grow(b, n), data, n);
}

void checkpoint_encode_header(CheckpointBuf *b, const CheckpointHeader *h) {
        size_t start = b->len, topic_len = strnlen(h->topic, CHECKPOINT_TOPIC_MAX);
        put_bytes(b, MAGIC, MAGIC_LEN);
        put(b, CHECKPOINT_FORMAT_VERSION, 4);
        bool partition_scope = h->scope == WATERMARK_PARTITION;
        put(b, 4 + 4 * 8 + 2 + topic_len + (partition_scope ? 1 : 0) + 4, 4);
        put(b, (uint32_t)h->partition, 4);
        put(b, (uint64_t)h->spec.size_ms, 8);
        put(b, (uint64_t)h->spec.slide_ms, 8);
        put(b, (uint64_t)h->spec.offset_ms, 8);
        put(b, (uint64_t)h->spec.watermark_delay_ms, 8);
        put(b, topic_len, 2);
        put_bytes(b, h->topic, topic_len);
        if (partition_scope)
                put(b, 1, 1);
        put(b, crc32c(0, b->data + start, b->len - start), 4);
}

void checkpoint_record_begin(CheckpointBuf *b, CheckpointKind kind, const CheckpointMark *m) {
        b->record = b->len;
        grow(b, RECORD_PREFIX);
        put(b, kind, 1);
        put(b, m->next_batch, 8);
        put(b, (uint64_t)m->next_offset, 8);
        put(b, (m->clock.has_watermark ? 1u : 0u) | (m->clock.has_event_time ? 2u : 0u), 1);
        put(b, (uint64_t)m->clock.watermark_ms, 8);
        put(b, (uint64_t)m->clock.max_event_time_ms, 8);
        b->count_at = b->len;
        grow(b, 4);
        b->count = 0;
        b->in_entries = false;
        b->sensor_at = 0;
}

void checkpoint_record_evicted(CheckpointBuf *b, int64_t start) {
        put(b, (uint64_t)start, 8);
        b->count++;
}

/* Ends the evicted list and opens the entries'. */
static void start_entries(CheckpointBuf *b) {
        put_le(b->data + b->count_at, b->count, 4);
        b->count_at = b->len;
        grow(b, 4);
        b->count = 0;
        b->in_entries = true;
}

static void end_sensor(CheckpointBuf *b) {
        if (b->sensor_at)
                put_le(b->data + b->entries_at, b->entries, 4);
        b->sensor_at = 0;
}

void checkpoint_record_entry(CheckpointBuf *b, const WindowEntry *e) {
        if (!b->in_entries)
                start_entries(b);
        if (!b->sensor_at || b->sensor_len != e->sensor_id_len ||
            memcmp(b->data + b->sensor_at, e->sensor_id, e->sensor_id_len) != 0) {
                end_sensor(b);
                put(b, e->sensor_id_len, 2);
                b->sensor_at = b->len;
                b->sensor_len = (uint16_t)e->sensor_id_len;
                put_bytes(b, e->sensor_id, e->sensor_id_len);
                b->entries_at = b->len;
                grow(b, 4);
                b->entries = 0;
                b->count++;
        }
        put(b, (uint64_t)e->start_ms, 8);
        put(b, e->count, 8);
        put_double(b, e->sum);
        put_double(b, e->min);
        put_double(b, e->max);
        b->entries++;
}

void checkpoint_record_end(CheckpointBuf *b) {
        if (!b->in_entries)
                start_entries(b);
        end_sensor(b);
        put_le(b->data + b->count_at, b->count, 4);
        size_t payload = b->len - b->record - RECORD_PREFIX;
        put_le(b->data + b->record, payload, 4);
        put_le(b->data + b->record + 4, crc32c(0, b->data + b->record + RECORD_PREFIX, payload), 4);
}

unsigned checkpoint_header_mismatch(const CheckpointHeader *found, const CheckpointHeader *want, char *buf,
                                    size_t size) {
        static const struct {
                const char *setting;
                size_t offset;
        } durations[] = {
                { "window.duration", offsetof(WindowSpec, size_ms) },
                { "window.slide", offsetof(WindowSpec, slide_ms) },
                { "window.start_offset", offsetof(WindowSpec, offset_ms) },
                { "window.watermark", offsetof(WindowSpec, watermark_delay_ms) },
        };
        unsigned differ = 0;
        size_t n = 0;
        buf[0] = '\0';
        if (strcmp(found->topic, want->topic) != 0) {
                differ++;
                n += (size_t)snprintf(buf, size, "kafka.topic is \"%s\" in the checkpoint and \"%s\" in the configuration",
                                      found->topic, want->topic);
        }
        if (found->scope != want->scope) {
                static const char *const scopes[] = { "process", "partition" };
                differ++;
                if (n < size)
                        n += (size_t)snprintf(buf + n, size - n,
                                              "%swindow.watermark_scope is \"%s\" in the checkpoint and \"%s\" in "
                                              "the configuration",
                                              n ? "; " : "", scopes[found->scope], scopes[want->scope]);
        }
        for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
                int64_t a, b;
                memcpy(&a, (const char *)&found->spec + durations[i].offset, sizeof(a));
                memcpy(&b, (const char *)&want->spec + durations[i].offset, sizeof(b));
                if (a == b)
                        continue;
                differ++;
                if (n < size)
                        n += (size_t)snprintf(buf + n, size - n,
                                              "%s%s is %" PRId64 " ms in the checkpoint and %" PRId64
                                              " ms in the configuration",
                                              n ? "; " : "", durations[i].setting, a, b);
        }
        return differ;
}

/* --- decoding --- */

typedef struct Reader {
        const uint8_t *p, *end;
        bool bad;
} Reader;

static uint64_t get(Reader *r, int bytes) {
        if (r->bad || r->end - r->p < bytes) {
                r->bad = true;
                return 0;
        }
        uint64_t v = 0;
        for (int i = 0; i < bytes; i++)
                v |= (uint64_t)r->p[i] << (8 * i);
        r->p += bytes;
        return v;
}

static double get_double(Reader *r) {
        uint64_t bits = get(r, 8);
        double d;
        memcpy(&d, &bits, sizeof(d));
        return d;
}

static const uint8_t *get_bytes(Reader *r, size_t n) {
        if (r->bad || (size_t)(r->end - r->p) < n) {
                r->bad = true;
                return NULL;
        }
        const uint8_t *p = r->p;
        r->p += n;
        return p;
}

int checkpoint_decode_header(const uint8_t *data, size_t len, CheckpointHeader *h, size_t *used) {
        Reader r = { data, data + len, false };
        if (len < MAGIC_LEN + 8)
                return -ENODATA;
        if (memcmp(data, MAGIC, MAGIC_LEN) != 0)
                return -EBADMSG;
        r.p += MAGIC_LEN;
        uint32_t version = (uint32_t)get(&r, 4), rest = (uint32_t)get(&r, 4);
        if (version < CHECKPOINT_FORMAT_OLDEST || version > CHECKPOINT_FORMAT_VERSION)
                return -EPROTONOSUPPORT;
        if ((size_t)(r.end - r.p) < rest)
                return -ENODATA;
        size_t crc_at = MAGIC_LEN + 8 + rest - 4;
        if (rest < 4 || crc32c(0, data, crc_at) != (uint32_t)(data[crc_at] | data[crc_at + 1] << 8 |
                                                                data[crc_at + 2] << 16 | (uint32_t)data[crc_at + 3] << 24))
                return -EBADMSG;
        *h = (CheckpointHeader){ .version = version };
        h->partition = (int32_t)get(&r, 4);
        h->spec.size_ms = (int64_t)get(&r, 8);
        h->spec.slide_ms = (int64_t)get(&r, 8);
        h->spec.offset_ms = (int64_t)get(&r, 8);
        h->spec.watermark_delay_ms = (int64_t)get(&r, 8);
        size_t topic_len = (size_t)get(&r, 2);
        const uint8_t *topic = get_bytes(&r, topic_len);
        if (!r.bad && (size_t)(r.p - data) + 1 == crc_at) {
                if (get(&r, 1) != 1)
                        return -EBADMSG;
                h->scope = WATERMARK_PARTITION;
        }
        if (r.bad || topic_len > CHECKPOINT_TOPIC_MAX || (size_t)(r.p - data) != crc_at)
                return -EBADMSG;
        memcpy(h->topic, topic, topic_len);
        h->topic[topic_len] = '\0';
        *used = crc_at + 4;
        return 0;
}

/* One entry's aggregates; false when they cannot be a live entry's (a
 * record cut short is for the caller to find). */
static bool get_aggregates(Reader *r, WindowEntry *e) {
        e->count = get(r, 8);
        e->sum = get_double(r);
        e->min = get_double(r);
        e->max = get_double(r);
        return r->bad || (e->sensor_id_len > 0 && e->count > 0);
}

static void visit_entry(Reader *r, const CheckpointVisitor *v, const WindowEntry *e) {
        if (v && !r->bad)
                v->entry(e, v->userdata);
}

/* Version 1's entries: each with its sensor_id. */
static bool walk_entries_v1(Reader *r, const CheckpointVisitor *v) {
        uint32_t n_entries = (uint32_t)get(r, 4);
        for (uint32_t i = 0; i < n_entries && !r->bad; i++) {
                WindowEntry e = { .start_ms = (int64_t)get(r, 8) };
                e.sensor_id_len = (size_t)get(r, 2);
                e.sensor_id = (const char *)get_bytes(r, e.sensor_id_len);
                if (!get_aggregates(r, &e))
                        return false;
                visit_entry(r, v, &e);
        }
        return true;
}

/* Version 2's entries: sensor by sensor. A sensor repeated right after
 * itself, or with no entries, is refused: the encoder writes neither, so
 * every record accepted encodes back to the same bytes. */
static bool walk_entries_v2(Reader *r, const CheckpointVisitor *v) {
        uint32_t n_sensors = (uint32_t)get(r, 4);
        WindowEntry previous = { .sensor_id = NULL };
        for (uint32_t i = 0; i < n_sensors && !r->bad; i++) {
                WindowEntry e = { .sensor_id_len = (size_t)get(r, 2) };
                e.sensor_id = (const char *)get_bytes(r, e.sensor_id_len);
                uint32_t n_entries = (uint32_t)get(r, 4);
                if (!r->bad && (n_entries == 0 || (previous.sensor_id && previous.sensor_id_len == e.sensor_id_len &&
                                                   memcmp(previous.sensor_id, e.sensor_id, e.sensor_id_len) == 0)))
                        return false;
                previous = e;
                for (uint32_t k = 0; k < n_entries && !r->bad; k++) {
                        e.start_ms = (int64_t)get(r, 8);
                        if (!get_aggregates(r, &e))
                                return false;
                        visit_entry(r, v, &e);
                }
        }
        return true;
}

/* Walks a payload; calls the visitor only when v is not NULL. */
static bool walk_payload(Reader *r, uint32_t version, const CheckpointVisitor *v, CheckpointKind *kind,
                         CheckpointMark *m) {
        uint8_t k = (uint8_t)get(r, 1);
        m->next_batch = get(r, 8);
        m->next_offset = (int64_t)get(r, 8);
        uint8_t flags = (uint8_t)get(r, 1);
        m->clock = (WindowClock){ .has_watermark = flags & 1, .watermark_ms = (int64_t)get(r, 8),
                                  .has_event_time = (flags & 2) != 0, .max_event_time_ms = (int64_t)get(r, 8) };
        /* Undefined flag bits mean a writer this reader does not know: refuse
         * rather than drop them, so that what is accepted is what was meant. */
        if ((k != CHECKPOINT_SNAPSHOT && k != CHECKPOINT_DELTA) || (flags & ~3u))
                return false;
        *kind = (CheckpointKind)k;
        uint32_t n_evicted = (uint32_t)get(r, 4);
        for (uint32_t i = 0; i < n_evicted && !r->bad; i++) {
                int64_t start = (int64_t)get(r, 8);
                if (v && !r->bad)
                        v->evicted(start, v->userdata);
        }
        if (!(version == 1 ? walk_entries_v1(r, v) : walk_entries_v2(r, v)))
                return false;
        return !r->bad && r->p == r->end;
}

int checkpoint_decode_record(const uint8_t *data, size_t len, uint32_t version, const CheckpointVisitor *v,
                             CheckpointKind *kind, CheckpointMark *mark, size_t *used) {
        Reader prefix = { data, data + len, false };
        uint32_t payload = (uint32_t)get(&prefix, 4), crc = (uint32_t)get(&prefix, 4);
        if (prefix.bad || len - RECORD_PREFIX < payload)
                return -ENODATA;
        if (crc32c(0, data + RECORD_PREFIX, payload) != crc)
                return -EBADMSG;
        Reader check = { data + RECORD_PREFIX, data + RECORD_PREFIX + payload, false };
        if (!walk_payload(&check, version, NULL, kind, mark))
                return -EBADMSG;
        Reader visit = { data + RECORD_PREFIX, data + RECORD_PREFIX + payload, false };
        walk_payload(&visit, version, v, kind, mark);
        *used = RECORD_PREFIX + payload;
        return 0;
}

uint32_t checkpoint_record_crc(const uint8_t *record) {
        return (uint32_t)record[4] | (uint32_t)record[5] << 8 | (uint32_t)record[6] << 16 | (uint32_t)record[7] << 24;
}
