// The boundaries in eslint.config.js (ADR 014) bite: deliberately wrong imports, linted at real paths
// through ESLint's Node API, are reported by no-restricted-imports; the right way to write the same
// import is not. Only that rule runs (ruleFilter) and without type information, so this stays fast;
// the config itself is the repository's, unchanged.
import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';

const cwd = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({
  cwd,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
});

/** The boundary messages ESLint reports for `code` placed at `filePath`. */
async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('boundaries (eslint.config.js)', () => {
  it('fails a framework or I/O import in a pure core', async () => {
    const framework = await boundaryErrors(
      'apps/settlement/src/domain.ts',
      `import { Injectable } from '@nestjs/common';\nexport const shell = Injectable;\n`,
    );
    expect(framework).toEqual([expect.stringContaining('boundary: a pure core')]);

    const io = await boundaryErrors(
      'apps/reconciliation/src/matching/classify.ts',
      `import { readFileSync } from 'node:fs';\nimport type { DataSource } from 'typeorm';\nexport type T = DataSource;\nexport const r = readFileSync;\n`,
    );
    expect(io).toHaveLength(2);
    expect(io.every((m) => m.includes('boundary: a pure core'))).toBe(true);

    const named = await boundaryErrors(
      'apps/clearing/src/fees/rounding.domain.ts',
      `import { Kafka } from 'kafkajs';\nexport const k = Kafka;\n`,
    );
    expect(named).toEqual([expect.stringContaining('boundary: a pure core')]);
  });

  it('fails a deep import into another app', async () => {
    const fromTest = await boundaryErrors(
      'test/integration/settlement-close.int-spec.ts',
      `import { CycleCloseService } from '../../apps/settlement/src/settlement/cycle-close.service.js';\nexport const s = CycleCloseService;\n`,
    );
    expect(fromTest).toEqual([
      expect.stringContaining('boundary: import another app only through its index'),
    ]);

    const fromCli = await boundaryErrors(
      'apps/cli/src/commands/fees.command.ts',
      `export { FeeRulesService } from '../../../clearing/src/fees/fee-rules.service.js';\n`,
    );
    expect(fromCli).toEqual([expect.stringContaining('boundary: import another app only through its index')]);
  });

  it('fails a service importing another app at all, and a lib importing an app', async () => {
    const serviceToService = await boundaryErrors(
      'apps/clearing/src/clearing/internal-reconciliation.ts',
      `import { SettlementModule } from '../../../settlement/src/index.js';\nexport const m = SettlementModule;\n`,
    );
    expect(serviceToService).toEqual([
      expect.stringContaining('boundary: a service never imports another app'),
    ]);

    const libToApp = await boundaryErrors(
      'libs/ledger/src/chart.ts',
      `import { ClearingModule } from '../../../apps/clearing/src/index.js';\nexport const m = ClearingModule;\n`,
    );
    expect(libToApp).toEqual([expect.stringContaining('boundary: libs/ must not depend on apps/')]);
  });

  it('passes the same imports written the right way', async () => {
    await expect(
      boundaryErrors(
        'test/integration/settlement-close.int-spec.ts',
        `import { CycleCloseService } from '../../apps/settlement/src/index.js';\nexport const s = CycleCloseService;\n`,
      ),
    ).resolves.toEqual([]);
    await expect(
      boundaryErrors(
        'apps/cli/src/commands/fees.command.ts',
        `export { FeeRulesService } from '../../../clearing/src/index.js';\n`,
      ),
    ).resolves.toEqual([]);
    await expect(
      boundaryErrors(
        'apps/settlement/src/domain.ts',
        `import { Money } from '@app/contracts';\nimport { Decimal } from 'decimal.js';\nexport const m = [Money, Decimal];\n`,
      ),
    ).resolves.toEqual([]);
    // A pure core's spec may read a fixture; a service may use the framework.
    await expect(
      boundaryErrors(
        'apps/reconciliation/src/matching/classify.spec.ts',
        `import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n`,
      ),
    ).resolves.toEqual([]);
    await expect(
      boundaryErrors(
        'apps/settlement/src/settlement/cycle-close.service.ts',
        `import { Injectable } from '@nestjs/common';\nexport const i = Injectable;\n`,
      ),
    ).resolves.toEqual([]);
  });
});
