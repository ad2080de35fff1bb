/* checkpoint_files: snapshot and delta files of one partition. */
#include "sensord/checkpoint/checkpoint_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/alloc.h"
#include "lib/base/file_io.h"
#include "lib/base/log.h"

struct CheckpointFiles {
        char *dir;   /* state.directory/<topic>-<partition> */
        int dirfd;
        int delta_fd; /* delta.<gen>, appended */
        uint64_t gen;
        uint64_t delta_bytes;
        uint64_t header_bytes; /* of delta.<gen>, before its records */
        CheckpointHeader header;
        CheckpointBuf buf;
        uint64_t last_bytes;
        uint32_t last_crc;
        bool force_snapshot;
        uint32_t log_version; /* the format of the delta log last read or created: delta.<gen> once open */
        CheckpointWrittenFn written;
        void *written_userdata;
        char problem[512]; /* what is damaged, where */
};

/* Loading: the records go into the partition's state. */
typedef struct Loading {
        CheckpointFiles *f;
        WindowState *state;
        CheckpointMark mark;
        uint32_t crc;
        bool loaded;
} Loading;

static void on_entry(const WindowEntry *e, void *userdata) {
        window_state_restore_entry(((Loading *)userdata)->state, e);
}

static void on_evicted(int64_t start, void *userdata) {
        window_state_restore_evicted(((Loading *)userdata)->state, start);
}

static int fsync_dir(CheckpointFiles *f) {
        return fsync(f->dirfd) < 0 ? -errno : 0;
}

/* Notes what is damaged; the caller decides whether a fallback saves it. */
static int damaged(CheckpointFiles *f, const char *name, size_t offset, const char *what) {
        snprintf(f->problem, sizeof(f->problem), "%s/%s is damaged at byte %zu (%s)", f->dir, name, offset, what);
        return -EBADMSG;
}

/* The header of a file against the running configuration; *version is
 * the format of the file's records. */
static int check_header(CheckpointFiles *f, const char *name, const uint8_t *data, size_t len, size_t *used,
                        uint32_t *version) {
        CheckpointHeader h;
        const CheckpointHeader *want = &f->header;
        int r = checkpoint_decode_header(data, len, &h, used);
        if (r == 0)
                *version = h.version;
        if (r == -EPROTONOSUPPORT) {
                log_error("checkpoint %s/%s has a format version this sensord does not read; move the directory "
                          "away to start afresh: mv %s %s.old",
                          f->dir, name, f->dir, f->dir);
                return -EINVAL;
        }
        if (r < 0)
                return damaged(f, name, 0, "bad header");
        if (h.partition != want->partition)
                return damaged(f, name, 0, "the header names another partition");
        char diff[1024];
        if (checkpoint_header_mismatch(&h, want, diff, sizeof(diff)) == 0)
                return 0;
        log_error("checkpoint %s was written under another configuration: %s. Its state cannot be used with these "
                  "settings. To start afresh (and lose the open windows), move the directory away: mv %s %s.old",
                  f->dir, diff, f->dir, f->dir);
        return -EINVAL;
}

/* Replays the records of a file. With allow_torn, a record that is cut
 * short or damaged ends the file: the tail is truncated with a notice. */
static int replay(CheckpointFiles *f, Loading *l, const char *name, bool snapshot, bool allow_torn) {
        uint8_t *data = NULL;
        size_t len = 0, pos = 0;
        int r = file_read_at(f->dirfd, name, &data, &len);
        if (r < 0)
                return r;
        uint32_t version = 0;
        r = check_header(f, name, data, len, &pos, &version);
        CheckpointVisitor v = { l, on_evicted, on_entry };
        if (r == 0 && !snapshot)
                f->log_version = version;
        for (unsigned records = 0; r == 0 && pos < len; records++) {
                CheckpointKind kind;
                CheckpointMark mark;
                size_t used;
                int d = checkpoint_decode_record(data + pos, len - pos, version, &v, &kind, &mark, &used);
                if (d == 0 && (kind == CHECKPOINT_SNAPSHOT) != snapshot)
                        d = -EBADMSG;
                if (d < 0 && allow_torn) {
                        log_notice("checkpoint %s/%s: %s record at byte %zu (%zu bytes to the end), the tail of an "
                                   "interrupted write; truncating it there",
                                   f->dir, name, d == -ENODATA ? "an incomplete" : "a damaged", pos, len - pos);
                        r = file_truncate_at(f->dirfd, name, pos);
                        break;
                }
                if (d < 0) {
                        r = damaged(f, name, pos, d == -ENODATA ? "incomplete record" : "checksum or structure");
                        break;
                }
                l->mark = mark;
                l->crc = checkpoint_record_crc(data + pos);
                l->loaded = true;
                pos += used;
                if (snapshot && pos != len)
                        r = damaged(f, name, pos, "data after the snapshot");
        }
        if (r == 0 && snapshot && !l->loaded)
                r = damaged(f, name, pos, "no snapshot record");
        free(data);
        return r;
}

/* The newest generation among snapshot.<G> and delta.<G>; -1 if none. */
static int64_t newest_generation(CheckpointFiles *f) {
        int fd = dup(f->dirfd);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        int64_t newest = -1;
        if (!d) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        for (struct dirent *e; (e = readdir(d));) {
                unsigned long long g;
                char tail;
                if ((sscanf(e->d_name, "snapshot.%llu%c", &g, &tail) == 1 ||
                     sscanf(e->d_name, "delta.%llu%c", &g, &tail) == 1) &&
                    (int64_t)g > newest)
                        newest = (int64_t)g;
        }
        closedir(d);
        return newest;
}

static void file_name(char *buf, size_t size, const char *kind, uint64_t gen) {
        snprintf(buf, size, "%s.%" PRIu64, kind, gen);
}

/* Creates delta.<gen> holding only the header, durably. */
static int create_delta(CheckpointFiles *f, uint64_t gen) {
        char name[64];
        file_name(name, sizeof(name), "delta", gen);
        f->buf.len = 0;
        checkpoint_encode_header(&f->buf, &f->header);
        int r = file_create_at(f->dirfd, name, f->buf.data, f->buf.len);
        f->log_version = CHECKPOINT_FORMAT_VERSION;
        return r < 0 ? r : fsync_dir(f);
}

/* Opens delta.<gen> for appending. */
static int open_delta(CheckpointFiles *f, uint64_t gen) {
        char name[64];
        struct stat st;
        file_name(name, sizeof(name), "delta", gen);
        if (f->delta_fd >= 0)
                close(f->delta_fd);
        f->delta_fd = openat(f->dirfd, name, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (f->delta_fd < 0 || fstat(f->delta_fd, &st) < 0)
                return -errno;
        f->gen = gen;
        f->delta_bytes = (uint64_t)st.st_size;
        f->buf.len = 0;
        checkpoint_encode_header(&f->buf, &f->header);
        f->header_bytes = f->buf.len;
        return 0;
}

/* Creates dir and its parent (state.directory, then the group's). */
static int mkdir_parent(const char *dir) {
        char *parent = xstrdup(dir), *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = '\0';
                if (mkdir(parent, 0700) < 0 && errno != EEXIST) {
                        free(parent);
                        return -1;
                }
        }
        free(parent);
        return mkdir(dir, 0700);
}

/* Loads generation g: its snapshot (none for 0) and its deltas. */
static int load_generation(CheckpointFiles *f, Loading *l, uint64_t g, bool allow_torn) {
        char name[64];
        int r = 0;
        if (g > 0) {
                file_name(name, sizeof(name), "snapshot", g);
                r = replay(f, l, name, true, false);
                if (r < 0)
                        return r;
        }
        file_name(name, sizeof(name), "delta", g);
        r = replay(f, l, name, false, allow_torn);
        if (r == -ENOENT && g > 0) /* the compaction that made snapshot.<g> stopped before its delta */
                r = create_delta(f, g);
        return r;
}

static int compact(CheckpointFiles *f, WindowState *state, const CheckpointMark *mark);

/* A log of an older format (sensord was upgraded) takes no record of
 * this one. The state as loaded becomes generation gen + 1 in this format,
 * at the mark it was loaded with, so that generation gen, readable as it
 * was, still reaches every later state through the new log should the new
 * snapshot be damaged. */
static int upgrade(CheckpointFiles *f, WindowState *state, const Loading *l) {
        log_info("checkpoint %s: rewriting the state in format version %d (its log is of version %" PRIu32 ")", f->dir,
                 CHECKPOINT_FORMAT_VERSION, f->log_version);
        if (l->loaded)
                return compact(f, state, &l->mark);
        int r = create_delta(f, f->gen); /* nothing in the log but its header */
        return r < 0 ? r : open_delta(f, f->gen);
}

int checkpoint_files_open(CheckpointFiles **out, const char *state_dir, const CheckpointHeader *expect,
                          WindowState *state, CheckpointMark *mark) {
        CheckpointFiles *f = xcalloc(1, sizeof(*f));
        Loading l = { .f = f, .state = state };
        int r;

        f->header = *expect;
        f->dirfd = f->delta_fd = -1;
        if (asprintf(&f->dir, "%s/%s-%" PRId32, state_dir, expect->topic, expect->partition) < 0)
                oom();
        if ((mkdir_parent(state_dir) < 0 && errno != EEXIST) || (mkdir(f->dir, 0700) < 0 && errno != EEXIST) ||
            (f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
                r = -errno;
                log_error("cannot open the checkpoint directory %s: %s", f->dir, strerror(-r));
                goto fail;
        }
        int64_t newest = newest_generation(f);
        if (newest < 0) {
                r = create_delta(f, 0);
                if (r == 0)
                        r = open_delta(f, 0);
                if (r < 0) {
                        log_error("cannot create a checkpoint in %s: %s", f->dir, strerror(-r));
                        goto fail;
                }
                *out = f;
                return 0;
        }
        uint64_t g = (uint64_t)newest;
        r = load_generation(f, &l, g, true);
        if (r == -EBADMSG && g > 0) {
                /* snapshot.<g> damaged: generation g-1 and both logs get to the same state */
                char name[64];
                log_warning("checkpoint %s; falling back to the previous generation, %" PRIu64, f->problem, g - 1);
                window_state_discard(state);
                l.loaded = false;
                r = load_generation(f, &l, g - 1, false);
                if (r == 0) {
                        file_name(name, sizeof(name), "delta", g);
                        r = replay(f, &l, name, false, true);
                }
        }
        if (r == 0)
                r = open_delta(f, g);
        if (r == 0 && f->log_version != CHECKPOINT_FORMAT_VERSION)
                r = upgrade(f, state, &l);
        if (r == -EBADMSG)
                log_error("checkpoint %s, and it cannot be recovered. Nothing was loaded or deleted. To start "
                          "partition %" PRId32 " afresh from Kafka's committed offset, move the directory away: "
                          "mv %s %s.damaged",
                          f->problem, f->header.partition, f->dir, f->dir);
        else if (r < 0 && r != -EINVAL)
                log_error("cannot read the checkpoint in %s: %s", f->dir, strerror(-r));
        if (r < 0)
                goto fail;
        if (l.loaded) {
                *mark = l.mark;
                f->last_crc = l.crc;
        }
        *out = f;
        return l.loaded ? 1 : 0;
fail:
        checkpoint_files_free(f);
        return r;
}

CheckpointFiles *checkpoint_files_free(CheckpointFiles *f) {
        if (!f)
                return NULL;
        if (f->delta_fd >= 0)
                close(f->delta_fd);
        if (f->dirfd >= 0)
                close(f->dirfd);
        checkpoint_buf_free(&f->buf);
        free(f->dir);
        free(f);
        return NULL;
}

static void encode_evicted(int64_t start, void *userdata) {
        checkpoint_record_evicted(userdata, start);
}

static void encode_entry(const WindowEntry *e, void *userdata) {
        checkpoint_record_entry(userdata, e);
}

/* Writes the whole state as snapshot.<gen+1> and starts its log; then the
 * generation before gen is no longer needed as a fallback. */
static int compact(CheckpointFiles *f, WindowState *state, const CheckpointMark *mark) {
        uint64_t next = f->gen + 1;
        char name[64], tmp[80];
        file_name(name, sizeof(name), "snapshot", next);
        snprintf(tmp, sizeof(tmp), "%s.tmp", name);

        f->buf.len = 0;
        checkpoint_encode_header(&f->buf, &f->header);
        checkpoint_record_begin(&f->buf, CHECKPOINT_SNAPSHOT, mark);
        window_state_each_entry(state, encode_entry, &f->buf);
        checkpoint_record_end(&f->buf);
        f->last_bytes += f->buf.len;

        size_t header = 0;
        CheckpointHeader h;
        checkpoint_decode_header(f->buf.data, f->buf.len, &h, &header);
        int r = file_create_at(f->dirfd, tmp, f->buf.data, f->buf.len);
        if (r == 0 && renameat(f->dirfd, tmp, f->dirfd, name) < 0)
                r = -errno;
        if (r == 0)
                r = fsync_dir(f);
        if (r < 0)
                return r;
        f->last_crc = checkpoint_record_crc(f->buf.data + header);
        if (f->written)
                f->written(f->written_userdata, CHECKPOINT_SNAPSHOT, f->buf.data, f->buf.len);
        r = create_delta(f, next);
        if (r == 0)
                r = open_delta(f, next);
        if (r < 0)
                return r;
        if (next >= 2) {
                file_name(name, sizeof(name), "snapshot", next - 2);
                unlinkat(f->dirfd, name, 0);
                file_name(name, sizeof(name), "delta", next - 2);
                unlinkat(f->dirfd, name, 0);
        }
        return 0;
}

int checkpoint_files_save(CheckpointFiles *f, WindowState *state, const CheckpointMark *mark) {
        uint64_t entries, sensors, key_bytes;
        f->buf.len = 0;
        checkpoint_record_begin(&f->buf, CHECKPOINT_DELTA, mark);
        window_state_take_changes(state, encode_entry, encode_evicted, &f->buf);
        checkpoint_record_end(&f->buf);

        window_state_size(state, &entries, &sensors, &key_bytes);
        /* The record goes into the log even when a snapshot follows, so that
         * the previous generation and both logs still reach this state if
         * the new snapshot is damaged. */
        int r = file_write_all(f->delta_fd, f->buf.data, f->buf.len);
        if (r == 0 && fdatasync(f->delta_fd) < 0)
                r = -errno;
        if (r < 0)
                return r;
        f->delta_bytes += f->buf.len;
        f->last_bytes = f->buf.len;
        f->last_crc = checkpoint_record_crc(f->buf.data);
        if (f->written)
                f->written(f->written_userdata, CHECKPOINT_DELTA, f->buf.data, f->buf.len);

        /* the log's records (after its header) against a snapshot record */
        uint64_t snapshot_bytes = 64 + sensors * CHECKPOINT_SENSOR_BYTES(0) + entries * CHECKPOINT_ENTRY_BYTES + key_bytes;
        if (f->force_snapshot || f->delta_bytes - f->header_bytes > snapshot_bytes) {
                f->force_snapshot = false;
                return compact(f, state, mark);
        }
        return 0;
}

void checkpoint_files_on_written(CheckpointFiles *f, CheckpointWrittenFn fn, void *userdata) {
        f->written = fn;
        f->written_userdata = userdata;
}

void checkpoint_files_force_snapshot(CheckpointFiles *f) {
        f->force_snapshot = true;
}

int checkpoint_files_reset(CheckpointFiles *f, WindowState *state, const CheckpointMark *mark) {
        int fd = dup(f->dirfd);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        int r = 0;
        if (!d) {
                r = -errno;
                if (fd >= 0)
                        close(fd);
                return r;
        }
        for (struct dirent *e; (e = readdir(d));)
                if ((strncmp(e->d_name, "snapshot.", 9) == 0 || strncmp(e->d_name, "delta.", 6) == 0) &&
                    unlinkat(f->dirfd, e->d_name, 0) < 0 && r == 0)
                        r = -errno;
        closedir(d);
        if (r < 0)
                return r;
        /* generation 1 from the state alone, with no older one to fall
         * back to: its logs belonged to another history */
        CheckpointWrittenFn written = f->written;
        f->gen = 0;
        f->written = NULL;
        r = compact(f, state, mark);
        f->written = written;
        return r;
}

uint32_t checkpoint_files_last_crc(const CheckpointFiles *f) {
        return f->last_crc;
}

uint64_t checkpoint_files_last_bytes(const CheckpointFiles *f) {
        return f->last_bytes;
}
