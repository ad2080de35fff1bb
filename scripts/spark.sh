#!/bin/bash
# Apache Spark for the parity test and the peers benchmark: pyspark from PyPI
# in a venv, and Spark's Kafka connector (pinned in scripts/spark/pom.xml, the
# same version) from Maven Central, both fetched once into .cache/spark/VERSION
# (ignored by git).
#
#   scripts/spark.sh fetch                 the venv and the jars, if not cached yet
#   scripts/spark.sh run SCRIPT [ARGS...]  run a PySpark script with the venv's
#                                          python; SPARK_KAFKA_JARS holds the
#                                          connector's jars, comma-separated,
#                                          for the session's spark.jars
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
POM=$ROOT/scripts/spark/pom.xml
VERSION=$(sed -n 's:.*<spark.version>\(.*\)</spark.version>.*:\1:p' "$POM")
CACHE=$ROOT/.cache/spark/$VERSION

die() {
        echo "scripts/spark.sh: $*" >&2
        exit 1
}

fetch() {
        [ -f "$CACHE/.complete" ] && return 0
        command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch Spark's Kafka connector: scripts/install-deps.sh"
        command -v java >/dev/null || die "Java 17 is needed to run Spark: scripts/install-deps.sh"
        mkdir -p "$ROOT/.cache/spark"
        # one fetch at a time: tests may start side by side on a fresh machine
        (
                flock 9
                [ -f "$CACHE/.complete" ] && exit 0
                rm -rf "$CACHE.tmp"
                echo "fetching pyspark $VERSION and its Kafka connector into $CACHE" >&2
                /usr/bin/python3 -m venv "$CACHE.tmp/venv" &&
                        "$CACHE.tmp/venv/bin/pip" install -q --disable-pip-version-check wheel &&
                        "$CACHE.tmp/venv/bin/pip" install -q --disable-pip-version-check "pyspark==$VERSION" &&
                        mvn -q -B -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
                                -DoutputDirectory="$CACHE.tmp/maven" >&2 ||
                        { rm -rf "$CACHE.tmp"; exit 1; }
                # pyspark carries Spark, Scala and Hadoop: of Maven's copy only
                # the connector and what pyspark lacks go on the class path
                mkdir "$CACHE.tmp/jars"
                for jar in spark-sql-kafka-0-10 spark-token-provider-kafka-0-10 kafka-clients commons-pool2; do
                        mv "$CACHE.tmp/maven/$jar"[-_]*.jar "$CACHE.tmp/jars/" ||
                                { rm -rf "$CACHE.tmp"; exit 1; }
                done
                rm -rf "$CACHE.tmp/maven"
                # (only the venv's bin/python is run: its pip and other
                # scripts name the .tmp path they were installed under)
                rm -rf "$CACHE"
                mv "$CACHE.tmp" "$CACHE"
                touch "$CACHE/.complete"
        ) 9>"$ROOT/.cache/spark/.lock" || die "cannot fetch pyspark $VERSION and its Kafka connector"
}

case "${1:-}" in
fetch)
        fetch
        ;;
run)
        shift
        [ $# -ge 1 ] || die "run needs a script"
        fetch
        SPARK_KAFKA_JARS=$(printf '%s,' "$CACHE"/jars/*.jar)
        export SPARK_KAFKA_JARS=${SPARK_KAFKA_JARS%,}
        export PYSPARK_PYTHON="$CACHE/venv/bin/python"
        exec "$CACHE/venv/bin/python" "$@"
        ;;
*)
        sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
        exit 64
        ;;
esac
