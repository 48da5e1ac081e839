import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The sample day (channel WECHAT, business date 2026-11-22). A copy of the product owner's
 * `../shared/samples` is kept in `samples/` so a clone anywhere runs the demo and the tests;
 * SAMPLES_DIR points elsewhere (e.g. at the shared originals).
 */
export const SAMPLES_DIR =
  process.env.SAMPLES_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../samples');
