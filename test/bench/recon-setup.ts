/**
 * bench:recon's setup, run as its own process (`recon.bench.ts` starts it): our side of the day
 * COPYed into reconciliation.internal_transaction and the channel's statement file written, both
 * generated from `recon-workload.ts`. Apart so that the process the engine is measured in never
 * held the generated rows: a `statement import` process does not either.
 *
 *   recon-setup.ts <database-url> <statement-path> <lines> <discrepancy-rate>
 *
 * Prints one JSON object: { internalCopyMs, statementFileMs }.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  BENCH_CHANNEL,
  BENCH_ZONE,
  INTERNAL_COPY_COLUMNS,
  internalCopyChunks,
  planWorkload,
  statementCsvChunks,
} from './recon-workload.js';

const [databaseUrl, statementPath, lines, discrepancyRate] = process.argv.slice(2);
if (
  databaseUrl === undefined ||
  statementPath === undefined ||
  lines === undefined ||
  discrepancyRate === undefined
)
  throw new Error('usage: recon-setup.ts <database-url> <statement-path> <lines> <discrepancy-rate>');
const workload = planWorkload(Number(lines), Number(discrepancyRate));
const client = new pg.Client({ connectionString: databaseUrl, application_name: 'cse-bench-setup' });
await client.connect();
try {
  let t0 = performance.now();
  await client.query(
    `INSERT INTO reconciliation.channel_calendar (channel, zone, cutoff_local_time) VALUES ($1, $2, '00:00')
     ON CONFLICT (channel) DO NOTHING`,
    [BENCH_CHANNEL, BENCH_ZONE],
  );
  await pipeline(
    Readable.from(internalCopyChunks(workload)),
    client.query(
      copyFrom(`COPY reconciliation.internal_transaction (${INTERNAL_COPY_COLUMNS.join(', ')}) FROM STDIN`),
    ),
  );
  const internalCopyMs = performance.now() - t0;
  t0 = performance.now();
  await pipeline(Readable.from(statementCsvChunks(workload)), fs.createWriteStream(statementPath));
  const statementFileMs = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ internalCopyMs, statementFileMs })}\n`);
} finally {
  await client.end();
}
