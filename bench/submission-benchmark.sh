#!/usr/bin/env bash
# Submission intake benchmark: CLIENTS concurrent SMTP clients (lock-step, one connection each) submit COUNT
# messages of 4 KiB to the listener running outside OSGi over a real outbox; a 250 means the message is durable
# (group commit). Prints messages/s and the group commits (fsyncs on the 250 path per message); then the same
# number of files through the pickup folder. Usage: bench/submission-benchmark.sh [count] [clients]
# Default 4000 messages, 4 clients. Works in a fresh directory under target/ (never deletes before a timed run).
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${1:-4000}
CLIENTS=${2:-4}
OUT=bundles/submission/target/bench-classpath.txt
mvn -B -q -DobrRepository=NONE -pl bundles/submission -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt
mkdir -p bundles/submission/target/bench
WORK=$(mktemp -d bundles/submission/target/bench/run-XXXXXX)
CP="bundles/submission/target/test-classes:bundles/submission/target/classes:$(cat "$OUT")"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
java ${JAVA_OPTS:-} -cp "$CP" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  io.uplink.submission.internal.SubmissionMain bench "$WORK" "$COUNT" "$CLIENTS"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
