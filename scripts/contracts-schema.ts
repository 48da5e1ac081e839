/**
 * Writes docs/contracts/<topic>.schema.json for every event contract, from the zod schemas the
 * consumers parse with, so publishers and consumers can never disagree silently.
 *
 *   node --import @swc-node/register/esm-register scripts/contracts-schema.ts           # write
 *   node --import @swc-node/register/esm-register scripts/contracts-schema.ts --check   # CI drift check
 *
 * --check writes nothing and exits 1 when a file is missing, differs, or is left over from a
 * contract that no longer exists. Files are written through Prettier with the repo config, so
 * `prettier --check .` and this check agree on the same bytes.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { contractSchemaFiles } from '@app/contracts';

const SCHEMA_SUFFIX = '.schema.json';
const outDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/contracts');

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function existingSchemaFiles(): Promise<string[]> {
  try {
    return (await readdir(outDir)).filter((name) => name.endsWith(SCHEMA_SUFFIX)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const unknown = argv.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    console.error(`unknown argument(s): ${unknown.join(' ')}; usage: contracts-schema.ts [--check]`);
    return 2;
  }
  const check = argv.includes('--check');
  const files = contractSchemaFiles();
  const expected = new Set(files.map((file) => file.fileName));
  const relative = (name: string) => path.relative(process.cwd(), path.join(outDir, name));

  const problems: string[] = [];
  for (const name of await existingSchemaFiles()) {
    if (!expected.has(name)) problems.push(`${relative(name)}: no contract generates it any more`);
  }
  for (const file of files) {
    const target = path.join(outDir, file.fileName);
    const content = await format(file.content, { ...(await resolveConfig(target)), filepath: target });
    const current = await readIfExists(target);
    if (current === content) continue;
    if (check) {
      problems.push(`${relative(file.fileName)}: ${current === undefined ? 'missing' : 'out of date'}`);
    } else {
      await mkdir(outDir, { recursive: true });
      await writeFile(target, content);
      console.log(`wrote ${relative(file.fileName)}`);
    }
  }

  if (problems.length > 0) {
    for (const problem of problems) console.error(problem);
    if (check) {
      console.error('contract JSON Schemas drifted; run scripts/contracts-schema.ts and commit the result');
      return 1;
    }
    // Deleting docs is a human decision (a topic may still have consumers); writing mode only warns.
    console.error('remove the files above if their topic is retired');
    return 0;
  }
  console.log(`${files.length} contract schema(s) ${check ? 'up to date' : 'in place'}`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
