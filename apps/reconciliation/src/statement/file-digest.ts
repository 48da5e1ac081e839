import { Worker } from 'node:worker_threads';

/**
 * The worker's whole program, plain CommonJS handed over as text: it needs no TypeScript loader,
 * whether the process runs under the swc register, Jest or compiled code.
 */
const SHA256_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
const hash = createHash('sha256');
createReadStream(workerData, { highWaterMark: 1 << 20 })
  .on('data', (chunk) => hash.update(chunk))
  .on('error', (error) => { throw error; })
  .on('end', () => parentPort.postMessage(hash.digest('hex')));
`;

/**
 * The file's SHA-256 (hex), computed on a worker thread. An import matching as it goes starts it
 * before loading our side of the day, and the main thread, busy with that load, never spends the
 * ~1.4 s a 10M-line file takes to hash (docs/BENCHMARKS.md). A read error (a missing file, say)
 * rejects with the worker's error.
 */
export function fileSha256(filePath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // No execArgv: the worker does not need the parent's loader hooks (--import) to run plain JS.
    const worker = new Worker(SHA256_WORKER, { eval: true, workerData: filePath, execArgv: [] });
    let digest: string | undefined;
    worker.once('message', (hex: string) => (digest = hex));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (digest !== undefined) resolve(digest);
      else reject(new Error(`hashing ${filePath}: the worker stopped (exit ${code}) without a digest`));
    });
  });
}
