#!/usr/bin/python3
"""What the changelog tests look at and break, with kafka-python, written
from the format's description (changelog_format.h), not from sensord's code.

  pointer BROKER GROUP TOPIC PARTITION
      the committed offset and its metadata, as "OFFSET METADATA"
  count BROKER TOPIC PARTITION
      how many messages the partition holds
  damage BROKER GROUP TOPIC CHANGELOG PARTITION [--no-previous]
      appends a copy of the partition's latest changelog snapshot with one
      payload byte flipped, as the first checkpoint of a new writer, and
      commits (as a member of GROUP, at the same offset) a pointer to it
      whose previous generation is the real chain (or none); prints the
      damaged message's offset
"""
import os
import struct
import subprocess
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

FRAME = struct.Struct("<8sBBQQII")  # magic, version, kind, writer, seq, part, parts


def committed(broker, group, topic, partition):
    c = KafkaConsumer(bootstrap_servers=broker, group_id=group, enable_auto_commit=False)
    tp = TopicPartition(topic, partition)
    om = c._coordinator.fetch_committed_offsets([tp]).get(tp)
    c.close(autocommit=False)
    return om


def parse_pointer(metadata):
    words = metadata.split()
    assert words[:2] == ["sensord-changelog", "1"], metadata
    first_seq, first_off = map(int, words[3].split("@"))
    last_seq, last_off = map(int, words[4].split("@"))
    return {"writer": words[2], "first_seq": first_seq, "first_offset": first_off,
            "last_seq": last_seq, "last_offset": last_off, "crc": words[5]}


def read_at(broker, topic, partition, offset):
    # kcat: the changelog is lz4-compressed, which kafka-python reads only
    # with python3-lz4
    value = subprocess.run(["kcat", "-C", "-b", broker, "-t", topic, "-p", str(partition), "-o", str(offset),
                            "-c", "1", "-e", "-q", "-f", "%s"], check=True, capture_output=True, timeout=30).stdout
    if not value:
        sys.exit(f"no message at {topic}/{partition}@{offset}")
    return value


def count(broker, topic, partition):
    c = KafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False)
    tp = TopicPartition(topic, partition)
    begin = c.beginning_offsets([tp])[tp]
    end = c.end_offsets([tp])[tp]
    c.close()
    return end - begin


def commit_as_member(broker, group, topic, partition, offset, metadata):
    # A session no longer than the hosts' (3 s): when this member leaves,
    # librdkafka 2.0.2's mock waits its session less 1 s for others to join,
    # and drops a joiner whose own session ends first without ever answering
    # its JoinGroup (which waits max.poll.interval.ms, 5 minutes).
    c = KafkaConsumer(topic, bootstrap_servers=broker, group_id=group, enable_auto_commit=False,
                      session_timeout_ms=3000, heartbeat_interval_ms=300, max_poll_interval_ms=6000)
    deadline = time.time() + 30
    tp = TopicPartition(topic, partition)
    while tp not in c.assignment() and time.time() < deadline:
        c.poll(timeout_ms=200)
    if tp not in c.assignment():
        sys.exit("kafka-python did not get the partition assigned")
    c.commit({tp: OffsetAndMetadata(offset, metadata)})
    c.close(autocommit=False)


def damage(broker, group, topic, changelog, partition, keep_previous):
    om = committed(broker, group, topic, partition)
    p = parse_pointer(om.metadata)
    value = read_at(broker, changelog, partition, p["first_offset"])
    magic, version, kind, writer, seq, part, parts = FRAME.unpack_from(value)
    assert magic == b"SNSDCLOG" and kind == 1 and parts == 1, (magic, kind, parts)
    bad = bytearray(value)
    bad[-3] ^= 0x10  # inside the last entry: the record's CRC no longer holds
    new_writer = int.from_bytes(os.urandom(8), "little") | 1
    FRAME.pack_into(bad, 0, magic, version, kind, new_writer, 1, 0, 1)
    producer = KafkaProducer(bootstrap_servers=broker)
    md = producer.send(changelog, value=bytes(bad), partition=partition).get(timeout=10)
    producer.flush()
    producer.close()
    n = md.offset
    # the pointer names the CRC of its last checkpoint: here the snapshot's
    # record, after the checkpoint header (u32 length of its rest at byte 12)
    payload = bytes(bad[FRAME.size:])
    record = 16 + struct.unpack_from("<I", payload, 12)[0]
    crc = struct.unpack_from("<I", payload, record + 4)[0]
    metadata = f"sensord-changelog 1 {new_writer:016x} 1@{n} 1@{n} {crc:08x}"
    if keep_previous:
        metadata += f" {p['writer']} {p['first_seq']}@{p['first_offset']} {p['last_seq']}"
    commit_as_member(broker, group, topic, partition, om.offset, metadata)
    print(n)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "pointer":
        om = committed(args[0], args[1], args[2], int(args[3]))
        print(om.offset, om.metadata)
    elif cmd == "count":
        print(count(args[0], args[1], int(args[2])))
    elif cmd == "damage":
        damage(args[0], args[1], args[2], args[3], int(args[4]), "--no-previous" not in args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
