#!/usr/bin/env node
// Run a real single-node Apache Kafka 3.9.1 broker (KRaft) locally, without Docker.
//
//   node scripts/kafka.mjs start  [--json] [--quiet]   start, or reuse the broker on 127.0.0.1:9092
//   node scripts/kafka.mjs status [--json]             exit 0 if running, 3 if not
//   node scripts/kafka.mjs stop   [--json]             SIGTERM, up to 30 s, then SIGKILL
//   node scripts/kafka.mjs reset  [--json]             stop + delete the data dir (keeps jars)
//
// Cache: <repo>/.cache/kafka (KAFKA_HOME_DIR). Other env: KAFKA_HOST, KAFKA_PORT (9092),
// KAFKA_CONTROLLER_PORT (9093), KAFKA_HEAP_MAX (1g), KAFKA_START_TIMEOUT_S (90), JAVA_HOME.
// Needs java (17+) on PATH, and mvn for the first run (fetches the jars from Maven Central).
// Human-readable progress goes to stderr; with --json, stdout carries a single JSON object.

import { ensureKafka, kafkaStatus, resetKafka, stopKafka } from './kafka-lib.mjs';

const USAGE = 'usage: node scripts/kafka.mjs start|stop|status|reset [--json] [--quiet]';

async function main(argv) {
  const flags = new Set(argv.filter((a) => a.startsWith('-')));
  const [cmd, ...extra] = argv.filter((a) => !a.startsWith('-'));
  const json = flags.has('--json');
  const quiet = flags.has('--quiet') || flags.has('-q');
  if (flags.has('--help') || flags.has('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (!cmd || extra.length) {
    console.error(USAGE);
    return 2;
  }
  const emit = (obj, text) => {
    if (json) process.stdout.write(JSON.stringify(obj) + '\n');
    else if (text) console.log(text);
  };

  switch (cmd) {
    case 'start': {
      try {
        const r = await ensureKafka({ quiet });
        emit(
          { command: 'start', ok: true, ...r },
          r.reused
            ? `Kafka reused at ${r.brokers}${r.pid ? ` (pid ${r.pid})` : ''}`
            : `Kafka started at ${r.brokers} (pid ${r.pid}) in ${(r.startedInMs / 1000).toFixed(1)} s`,
        );
        return 0;
      } catch (e) {
        if (json) emit({ command: 'start', ok: false, error: e.message });
        console.error(`[kafka] start failed: ${e.message}`);
        return 1;
      }
    }
    case 'stop': {
      const r = await stopKafka({ quiet });
      emit(
        { command: 'stop', ok: true, ...r },
        r.wasRunning ? `Kafka stopped (pid ${r.pid})` : 'Kafka was not running',
      );
      return 0;
    }
    case 'reset': {
      const r = await resetKafka({ quiet });
      emit({ command: 'reset', ok: true, ...r }, `Kafka stopped and data deleted (${r.dataDeleted})`);
      return 0;
    }
    case 'status': {
      const s = await kafkaStatus();
      const text = s.running
        ? `Kafka running at ${s.brokers}` +
          (s.pid ? ` (pid ${s.pid})` : ' (not started by this script)') +
          (s.ready ? '' : s.responding ? ' — answering but not ready yet' : ' — starting, not answering yet')
        : `Kafka not running (${s.brokers})`;
      emit({ command: 'status', ...s }, text);
      return s.running ? 0 : 3;
    }
    default:
      console.error(`unknown command "${cmd}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`[kafka] ${e.stack || e.message}`);
    process.exitCode = 1;
  },
);
