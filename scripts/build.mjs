#!/usr/bin/env node
// `npm run build`: compiles apps/*/src and libs/*/src (spec files left out) to dist/, one .js and one
// .js.map per .ts, with the options in .swcrc (legacy decorators + metadata, which Nest's DI needs).
// `tsc --noEmit` (npm run lint) does the type checking; this only transforms. The @app/* aliases
// (tsconfig paths) become relative imports of dist/libs/*/src/index.js: swc's own jsc.paths drops
// the .js suffix, which ESM needs.
import { transformFile } from '@swc/core';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');
const swcrc = JSON.parse(await readFile(join(root, '.swcrc'), 'utf8'));
delete swcrc.$schema;
const ALIAS = /((?:\bfrom|\bimport)\s*\(?\s*)(["'])@app\/(contracts|http|ledger|messaging|platform)\2/g;

async function sources(dir) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await sources(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts'))
      found.push(path);
  }
  return found;
}

async function compile(file) {
  const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
  const { code, map } = await transformFile(file, {
    ...swcrc,
    swcrc: false,
    filename: file,
    sourceMaps: true,
    sourceFileName: relative(dirname(target), file).split(sep).join('/'),
  });
  const rewritten = code.replace(ALIAS, (_, head, quote, lib) => {
    let spec = relative(dirname(target), join(out, 'libs', lib, 'src', 'index.js'))
      .split(sep)
      .join('/');
    if (!spec.startsWith('.')) spec = `./${spec}`;
    return `${head}${quote}${spec}${quote}`;
  });
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, `${rewritten.trimEnd()}\n//# sourceMappingURL=${target.split(sep).at(-1)}.map\n`);
  await writeFile(`${target}.map`, map);
}

const started = Date.now();
await rm(out, { recursive: true, force: true });
const files = [];
for (const top of ['apps', 'libs']) {
  for (const pkg of await readdir(join(root, top), { withFileTypes: true })) {
    if (pkg.isDirectory()) files.push(...(await sources(join(root, top, pkg.name, 'src'))));
  }
}
await Promise.all(files.map(compile));
const left = [];
for (const file of files) {
  const js = await readFile(join(out, relative(root, file)).replace(/\.ts$/, '.js'), 'utf8');
  if (/["']@app\//.test(js)) left.push(relative(root, file));
}
if (left.length > 0) {
  console.error(`build: @app/ specifiers left unresolved in ${left.join(', ')}`);
  process.exit(1);
}
console.log(`build: ${files.length} files to dist/ in ${Date.now() - started} ms`);
