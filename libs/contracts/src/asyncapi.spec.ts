import { describe, expect, it } from '@jest/globals';
import { asyncApiDocument } from './asyncapi.js';
import { CONTRACTS } from './events/index.js';
import { contractSchemaFiles } from './json-schema.js';
import { TOPICS } from './topics.js';

interface Doc {
  asyncapi: string;
  channels: Record<
    string,
    { address: string; messages: Record<string, { payload?: { schema: { $ref: string } } }> }
  >;
  operations: Record<string, { action: string; channel: { $ref: string } }>;
  components: { messages: { DeadLetter: { headers: { properties: Record<string, unknown> } } } };
}

describe('the AsyncAPI document', () => {
  const doc = asyncApiDocument({ 'dlq-reason': 'why' }) as unknown as Doc;

  it('is AsyncAPI 3 with a channel for every topic and its dead-letter topic', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    const addresses = Object.values(doc.channels)
      .map((c) => c.address)
      .sort();
    expect(addresses).toEqual(TOPICS.flatMap((t) => [t.name, t.dlq]).sort());
    expect(doc.components.messages.DeadLetter.headers.properties).toEqual({
      'dlq-reason': { type: 'string', description: 'why' },
    });
  });

  it('points every payload at the JSON Schema file generated from the same contract', () => {
    const files = new Set(contractSchemaFiles().map((f) => `./${f.fileName}`));
    const refs = Object.values(doc.channels).flatMap((c) =>
      Object.values(c.messages).flatMap((m) => (m.payload === undefined ? [] : [m.payload.schema.$ref])),
    );
    expect(refs.sort()).toEqual([...files].sort());
    expect(refs).toHaveLength(CONTRACTS.length);
  });

  it('has one send per topic and one receive per consumer, each on a channel that exists', () => {
    const ops = Object.values(doc.operations);
    expect(ops.filter((o) => o.action === 'send')).toHaveLength(TOPICS.length);
    expect(ops.filter((o) => o.action === 'receive')).toHaveLength(
      TOPICS.reduce((n, t) => n + t.consumers.length, 0),
    );
    for (const op of ops) expect(doc.channels[op.channel.$ref.replace('#/channels/', '')]).toBeDefined();
  });
});
