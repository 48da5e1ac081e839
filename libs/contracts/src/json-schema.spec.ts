import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTRACTS } from './events/index.js';
import { CONTRACT_SCHEMA_ID_PREFIX, contractJsonSchema, contractSchemaFiles } from './json-schema.js';
import { TOPICS } from './topics.js';

const docsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/contracts');

describe('contract registry', () => {
  it('has one contract per topic it names, with the version of the topic suffix', () => {
    for (const contract of CONTRACTS) {
      expect(TOPICS.map((topic) => topic.name)).toContain(contract.topic);
      expect(contract.topic.endsWith(`.v${contract.version}`)).toBe(true);
      expect(contract.name).toMatch(/^[A-Z][A-Za-z]+$/);
    }
    expect(new Set(CONTRACTS.map((contract) => contract.topic)).size).toBe(CONTRACTS.length);
  });
});

describe('contract JSON Schemas', () => {
  it('are deterministic', () => {
    expect(contractSchemaFiles()).toEqual(contractSchemaFiles());
    for (const file of contractSchemaFiles()) expect(file.content.endsWith('}\n')).toBe(true);
  });

  it('describe payments.transaction.v1 for publishers: id, title, required fields, money as a pattern', () => {
    const contract = CONTRACTS.find((c) => c.topic === 'payments.transaction.v1');
    if (contract === undefined) throw new Error('payments.transaction.v1 is not registered');
    const schema = contractJsonSchema(contract) as {
      $schema: string;
      $id: string;
      title: string;
      description: string;
      required: string[];
      properties: Record<
        string,
        {
          type?: string;
          pattern?: string;
          enum?: string[];
          format?: string;
          properties?: Record<string, { pattern?: string }>;
        }
      >;
      allOf: unknown[];
    };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(`${CONTRACT_SCHEMA_ID_PREFIX}payments.transaction.v1`);
    expect(schema.title).toBe('PaymentsTransaction v1');
    expect(schema.description.length).toBeGreaterThan(50);
    expect(schema.required).toEqual([
      'eventId',
      'type',
      'occurredAt',
      'merchantId',
      'channel',
      'orderNo',
      'amount',
      'currency',
    ]);
    expect(schema.properties.amount).toMatchObject({ type: 'string', pattern: '^(0|[1-9]\\d*)(\\.\\d+)?$' });
    expect(schema.properties.coupon?.properties?.merchantFunded?.pattern).toBe('^(0|[1-9]\\d*)(\\.\\d+)?$');
    expect(schema.properties.occurredAt?.format).toBe('date-time');
    expect(schema.properties.currency?.enum).toContain('CNY');
    expect(schema.properties.type?.enum).toEqual([
      'PAYMENT_SUCCEEDED',
      'REFUND_SUCCEEDED',
      'PAYMENT_REVERSED',
    ]);
    expect(schema.allOf).toHaveLength(1);
    // Strip, not reject: the published schema must not forbid fields a newer publisher adds.
    expect(schema).not.toHaveProperty('additionalProperties');
  });

  // Byte-exact drift (after Prettier) is `scripts/contracts-schema.ts --check`; this catches a
  // contract changed without regenerating, before CI does.
  it('are committed as generated (run scripts/contracts-schema.ts after changing a contract)', () => {
    const generated = contractSchemaFiles();
    for (const file of generated) {
      const committed = JSON.parse(readFileSync(path.join(docsDir, file.fileName), 'utf8')) as unknown;
      expect(committed).toEqual(JSON.parse(file.content));
    }
    const committed = readdirSync(docsDir)
      .filter((name) => name.endsWith('.schema.json'))
      .sort();
    expect(committed).toEqual(generated.map((file) => file.fileName).sort());
  });
});
