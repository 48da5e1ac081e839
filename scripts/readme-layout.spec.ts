import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));

/** The paths README's "Layout" table names in its first column. */
function layoutTablePaths(): string[] {
  const readme = readFileSync(root('README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Layout'),
    readme.indexOf('\n## ', readme.indexOf('## Layout') + 1),
  );
  return [...section.matchAll(/^\| `([^`]+)`/gm)].map((m) => m[1]!.replace(/\/$/, ''));
}

describe("README's layout table", () => {
  it('names every folder under apps/ and libs/, and nothing that is gone', () => {
    const folders = ['apps', 'libs'].flatMap((top) =>
      readdirSync(root(top), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => `${top}/${entry.name}`),
    );
    const named = layoutTablePaths().filter((p) => p.startsWith('apps/') || p.startsWith('libs/'));
    expect(named.sort()).toEqual(folders.sort());
  });
});
