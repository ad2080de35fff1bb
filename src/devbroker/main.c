/* sensor-devbroker: librdkafka's mock Kafka cluster on loopback, for the
 * demo and the tests. Not a production broker. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "sensord-build.h"

#define MAX_TOPICS 64

typedef struct TopicSpec {
        char name[256];
        int partitions;
} TopicSpec;

static void usage(FILE *f) {
        fprintf(f,
                "Usage: sensor-devbroker [--topic NAME[:PARTITIONS]]... [--brokers N] [--address-file FILE]\n"
                "                        [--control FIFO]\n"
                "Runs librdkafka's mock Kafka cluster on 127.0.0.1 until SIGTERM or SIGINT.\n"
                "\n"
                "  -t, --topic NAME[:N]      create topic NAME with N partitions (default 1)\n"
                "  -n, --brokers N           number of brokers (default 1)\n"
                "  -a, --address-file FILE   also write the bootstrap address to FILE\n"
                "  -c, --control FIFO        create FIFO and read fault-injection commands from it\n"
                "      --version             print the version\n"
                "  -h, --help                print this help\n"
                "\n"
                "Fault injection: SIGUSR1 takes every broker down (connections refused),\n"
                "SIGUSR2 brings them back up. Commands on the control FIFO, one per line:\n"
                "  down | up               every broker down (connections refused) or up\n"
                "  rtt MS                  delay every broker's responses by MS milliseconds\n"
                "  errors API COUNT ERR    fail the next COUNT requests of Kafka API key API\n"
                "                          with error code ERR (e.g. errors 0 5 2: Produce, 5\n"
                "                          times, CORRUPT_MESSAGE)\n");
}

static int parse_topic(const char *arg, TopicSpec *t) {
        const char *colon = strrchr(arg, ':');
        size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
        char *end;
        t->partitions = 1;
        if (colon) {
                errno = 0;
                long n = strtol(colon + 1, &end, 10);
                if (errno || *end || n < 1 || n > 10000)
                        return -EINVAL;
                t->partitions = (int)n;
        }
        if (len == 0 || len >= sizeof(t->name)) /* Kafka's limit is 249 */
                return -EINVAL;
        memcpy(t->name, arg, len);
        t->name[len] = '\0';
        return 0;
}

/* Runs one control command; false if it is not understood. */
static bool run_command(rd_kafka_mock_cluster_t *mc, int brokers, const char *line) {
        int a, b, c;
        if (strcmp(line, "down") == 0) {
                for (int id = 1; id <= brokers; id++)
                        rd_kafka_mock_broker_set_down(mc, id);
        } else if (strcmp(line, "up") == 0) {
                for (int id = 1; id <= brokers; id++)
                        rd_kafka_mock_broker_set_up(mc, id);
        } else if (sscanf(line, "rtt %d", &a) == 1 && a >= 0) {
                for (int id = 1; id <= brokers; id++)
                        rd_kafka_mock_broker_set_rtt(mc, id, a);
        } else if (sscanf(line, "errors %d %d %d", &a, &b, &c) == 3 && a >= 0 && b > 0) {
                for (int i = 0; i < b; i++)
                        rd_kafka_mock_push_request_errors(mc, (int16_t)a, 1, (rd_kafka_resp_err_t)c);
        } else {
                return false;
        }
        return true;
}

/* Reads what arrived on the control FIFO and runs each complete line. */
static void read_commands(int fd, rd_kafka_mock_cluster_t *mc, int brokers, char *buf, size_t *used, size_t size) {
        ssize_t n;
        while ((n = read(fd, buf + *used, size - 1 - *used)) > 0) {
                *used += (size_t)n;
                buf[*used] = '\0';
                char *line = buf, *nl;
                while ((nl = strchr(line, '\n'))) {
                        *nl = '\0';
                        if (*line)
                                fprintf(stderr, "sensor-devbroker: %s: %s\n", line,
                                        run_command(mc, brokers, line) ? "done" : "unknown command");
                        line = nl + 1;
                }
                *used = (size_t)(buf + *used - line);
                memmove(buf, line, *used);
                if (*used == size - 1) /* a line too long to be a command */
                        *used = 0;
        }
}

/* Writes the address via a temporary file and rename, so a reader polling
 * for the file never sees it half written. */
static int write_address_file(const char *path, const char *address) {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        FILE *f = fopen(tmp, "w");
        if (!f)
                return -errno;
        fprintf(f, "%s\n", address);
        if (fclose(f) != 0 || rename(tmp, path) < 0)
                return -errno;
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "topic", required_argument, NULL, 't' },
                { "brokers", required_argument, NULL, 'n' },
                { "address-file", required_argument, NULL, 'a' },
                { "control", required_argument, NULL, 'c' },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        TopicSpec topics[MAX_TOPICS];
        size_t n_topics = 0;
        const char *address_file = NULL, *control = NULL;
        int control_fd = -1;
        int brokers = 1, c, r = EX_OK;

        while ((c = getopt_long(argc, argv, "t:n:a:c:h", options, NULL)) >= 0) {
                switch (c) {
                case 't': {
                        if (n_topics == MAX_TOPICS) {
                                fprintf(stderr, "sensor-devbroker: at most %d topics\n", MAX_TOPICS);
                                return EX_USAGE;
                        }
                        if (parse_topic(optarg, &topics[n_topics]) < 0) {
                                fprintf(stderr, "sensor-devbroker: --topic wants NAME or NAME:PARTITIONS (1-10000), not '%s'\n",
                                        optarg);
                                return EX_USAGE;
                        }
                        n_topics++;
                        break;
                }
                case 'n':
                        brokers = atoi(optarg);
                        if (brokers < 1 || brokers > 16) {
                                fprintf(stderr, "sensor-devbroker: --brokers wants 1-16, not '%s'\n", optarg);
                                return EX_USAGE;
                        }
                        break;
                case 'a':
                        address_file = optarg;
                        break;
                case 'c':
                        control = optarg;
                        break;
                case 'V':
                        printf("sensor-devbroker %s\n", SENSORD_VERSION);
                        return EX_OK;
                case 'h':
                        usage(stdout);
                        return EX_OK;
                default:
                        usage(stderr);
                        return EX_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "sensor-devbroker: unexpected argument '%s'\n", argv[optind]);
                return EX_USAGE;
        }

        /* Block the signals before librdkafka starts threads; sigwait below. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGUSR1);
        sigaddset(&mask, SIGUSR2);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        char errstr[256];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        /* The mock cluster needs a client instance to live in; it never connects. */
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "sensor-devbroker: %s\n", errstr);
                return EX_SOFTWARE;
        }
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
        if (!mc) {
                fprintf(stderr, "sensor-devbroker: cannot start the mock cluster\n");
                rd_kafka_destroy(rk);
                return EX_SOFTWARE;
        }
        for (size_t i = 0; i < n_topics; i++) {
                rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, topics[i].name, topics[i].partitions, 1);
                if (err) {
                        fprintf(stderr, "sensor-devbroker: cannot create topic %s: %s\n", topics[i].name,
                                rd_kafka_err2str(err));
                        r = EX_SOFTWARE;
                        goto out;
                }
        }
        /* Opened read-write, so that the FIFO never reports end-of-file when
         * a writer (echo down > FIFO) closes it. */
        if (control && ((mkfifo(control, 0600) < 0 && errno != EEXIST) ||
                        (control_fd = open(control, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)) {
                fprintf(stderr, "sensor-devbroker: cannot create the control FIFO %s: %s\n", control, strerror(errno));
                r = EX_CANTCREAT;
                goto out;
        }
        const char *address = rd_kafka_mock_cluster_bootstraps(mc);
        printf("%s\n", address);
        fflush(stdout);
        if (address_file && write_address_file(address_file, address) < 0) {
                fprintf(stderr, "sensor-devbroker: cannot write %s: %s\n", address_file, strerror(errno));
                r = EX_CANTCREAT;
                goto out;
        }

        int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        char commands[256];
        size_t used = 0;
        for (bool running = sfd >= 0; running;) {
                struct pollfd fds[2] = { { .fd = sfd, .events = POLLIN }, { .fd = control_fd, .events = POLLIN } };
                if (poll(fds, control_fd >= 0 ? 2 : 1, -1) < 0)
                        continue;
                if (fds[1].revents & POLLIN)
                        read_commands(control_fd, mc, brokers, commands, &used, sizeof(commands));
                struct signalfd_siginfo si;
                if (!(fds[0].revents & POLLIN) || read(sfd, &si, sizeof(si)) != sizeof(si))
                        continue;
                if (si.ssi_signo == SIGUSR1) {
                        run_command(mc, brokers, "down");
                        fprintf(stderr, "sensor-devbroker: brokers down\n");
                } else if (si.ssi_signo == SIGUSR2) {
                        run_command(mc, brokers, "up");
                        fprintf(stderr, "sensor-devbroker: brokers up\n");
                } else {
                        running = false;
                }
        }
        if (sfd >= 0)
                close(sfd);
out:
        if (address_file)
                unlink(address_file);
        if (control_fd >= 0) {
                close(control_fd);
                unlink(control);
        }
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return r;
}
