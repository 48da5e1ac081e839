/**
 * Test support for the event contract specs (*.v1.spec.ts beside this file). Not exported from
 * index.ts and not imported by production code; the name does not end in .spec.ts, so jest loads it
 * only as a module of those specs, never as a suite of its own.
 *
 * Every contract is checked the same way: its parse function against hand-written rejections, its
 * decode function against unreadable message values, its compiled fast path against the full zod
 * schema on mutated events, and its JSON Schema against the registry. Only the contract and its
 * sample events differ, so the checks live here once and each spec passes its own.
 */
import { createHash } from 'node:crypto';
import { expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { z } from 'zod';
import { contractJsonSchema } from '../json-schema.js';
import type { DecodeResult } from './contract.js';
import { CONTRACTS } from './index.js';

/** A Kafka message value as the decode functions take it. */
export type MessageValue = Uint8Array | string | null | undefined;

/** `[what is wrong, the input, the one-line reason expected]` */
export type RejectionCase = readonly [name: string, input: unknown, reason: string];

/** `[what is wrong, the message value, the reason expected (or a pattern it matches)]` */
export type DecodeFailureCase = readonly [name: string, value: MessageValue, reason: string | RegExp];

/** A field of a mutated event and the value put in its place. */
export type FieldChange = readonly [field: string, value: unknown];

const LOWER_CASE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Message values every contract's decode function refuses before it reads a field, with the same
 * reason whatever the contract.
 */
export const UNREADABLE_MESSAGE_VALUES: readonly DecodeFailureCase[] = [
  ['a null value (tombstone)', null, 'empty message value (null)'],
  ['an empty buffer', Buffer.alloc(0), 'empty message value'],
  ['truncated JSON', '{"eventId":', /^invalid JSON: /],
  ['bad UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'message value is not valid UTF-8'],
];

/**
 * The checks that take a contract's own functions. `schema` is the full zod schema, whose verdict
 * and value the compiled fast path inside `parse` must reproduce.
 */
export function contractSpec<S extends z.ZodType>(contract: {
  parse: (input: unknown) => DecodeResult<z.output<S>>;
  decode: (value: MessageValue) => DecodeResult<z.output<S>>;
  schema: S;
}) {
  const { parse, decode, schema } = contract;

  /** The one-line reason `input` is refused for; fails the test if it is accepted. */
  const reasonOf = (input: unknown): string => {
    const result = parse(input);
    if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.value)}`);
    return result.reason;
  };

  /** The event `input` parses to; fails the test if it is refused. */
  const valueOf = (input: unknown): z.output<S> => {
    const result = parse(input);
    if (!result.ok) throw new Error(`expected success, got: ${result.reason}`);
    return result.value;
  };

  /** One test per case, named after it, holding the whole reason to the letter. */
  const itRejectsEach = (cases: readonly RejectionCase[]): void => {
    it.each(cases)('%s', (_, input, reason) => {
      expect(reasonOf(input)).toBe(reason);
    });
  };

  /**
   * `sample` off the wire as bytes and as text, then one test per message value that must be
   * refused (see UNREADABLE_MESSAGE_VALUES for those every contract shares).
   */
  const itDecodes = (sample: object, failures: readonly DecodeFailureCase[]): void => {
    it('decodes a Buffer and a string', () => {
      const line = JSON.stringify(sample);
      expect(decode(Buffer.from(line))).toEqual({ ok: true, value: sample });
      expect(decode(line)).toEqual({ ok: true, value: sample });
    });

    it.each(failures)('reports %s', (_, value, reason) => {
      const result = decode(value);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(reason);
    });
  };

  /**
   * The compiled fast path says yes only to save time on valid events; on any event, valid or
   * mutated, it must give the full schema's verdict and value. `minAccepted` keeps the property
   * honest: a mutator that left almost nothing valid would compare rejections only.
   */
  const itAgreesWithTheFullSchema = (
    events: fc.Arbitrary<unknown>,
    { numRuns, minAccepted }: { numRuns: number; minAccepted: number },
  ): void => {
    it('agrees with the full schema on every verdict and value', () => {
      let accepted = 0;
      fc.assert(
        fc.property(events, (event) => {
          const fast = parse(event);
          const full = schema.safeParse(event);
          expect(fast.ok).toBe(full.success);
          if (fast.ok) {
            accepted++;
            expect(fast.value).toEqual(full.data);
          } else {
            expect(fast.reason.length).toBeGreaterThan(0);
            expect(fast.reason).not.toContain('\n');
          }
        }),
        { numRuns },
      );
      expect(accepted).toBeGreaterThan(minAccepted);
    });
  };

  return { reasonOf, valueOf, itRejectsEach, itDecodes, itAgreesWithTheFullSchema };
}

/**
 * Registers the test that `topic` is in CONTRACTS under `name` and `version`, and returns a getter
 * for its JSON Schema (as published to the contract's publishers) for the spec's own checks.
 */
export function itIsRegistered(
  topic: string,
  expected: { name: string; version: number },
): () => Record<string, unknown> {
  const contract = CONTRACTS.find((c) => c.topic === topic);

  it('is registered with its name and version', () => {
    expect(contract).toMatchObject(expected);
  });

  return () => {
    if (contract === undefined) throw new Error(`${topic} is not registered`);
    return contractJsonSchema(contract);
  };
}

/** `eventId` is md5(`preimage`) laid out 8-4-4-4-12: what Postgres prints for md5(...)::uuid. */
export function expectMd5Uuid(eventId: string, preimage: string): void {
  const hex = createHash('md5').update(preimage).digest('hex');
  expect(eventId.replaceAll('-', '')).toBe(hex);
  expect(eventId).toMatch(LOWER_CASE_UUID);
}

/** A derived event id repeats for the same key and differs for another, for keys up to `maxLength`. */
export function expectOneEventIdPerKey(eventIdOf: (key: string) => string, maxLength: number): void {
  fc.assert(
    fc.property(fc.string({ maxLength }), fc.string({ maxLength }), (a, b) => {
      expect(eventIdOf(a)).toBe(eventIdOf(a));
      if (a !== b) expect(eventIdOf(a)).not.toBe(eventIdOf(b));
    }),
  );
}

/**
 * Values to put in place of a field: the contract's near-misses and edge cases (`constants`), any
 * JSON value up to `jsonMaxDepth`, and short strings unless `strings` is false.
 */
export function junkOf(
  constants: readonly unknown[],
  { jsonMaxDepth, strings = true }: { jsonMaxDepth: number; strings?: boolean },
): fc.Arbitrary<unknown> {
  const arms: fc.Arbitrary<unknown>[] = [
    fc.constantFrom(...constants),
    fc.jsonValue({ maxDepth: jsonMaxDepth }),
  ];
  if (strings) arms.push(fc.string({ maxLength: 8 }));
  return fc.oneof(...arms);
}

/** A nested object of the event whose own fields are replaced too. */
export interface NestedMutation {
  /** The event's field that holds the object. */
  key: string;
  fields: readonly string[];
  maxChanges: number;
  /**
   * The object the changes apply to, where there are any (the base's may be absent or differ).
   * Left out: the base's own object, and a base without one keeps none.
   */
  from?: object;
}

/**
 * Valid `bases` with up to `maxChanges` of their `fields` replaced by `junk`: mostly invalid
 * events, some still valid. Nested objects are mutated first, then the top-level fields (so a
 * top-level change can also replace a whole nested object), then the `replacements`.
 */
export function mutatedEvents({
  bases,
  junk,
  fields,
  maxChanges,
  nested = [],
  replacements = {},
}: {
  bases: readonly Record<string, unknown>[];
  junk: fc.Arbitrary<unknown>;
  fields: readonly string[];
  maxChanges: number;
  nested?: readonly NestedMutation[];
  /** Fields set whole to what their arbitrary gives, where it gives anything but undefined. */
  replacements?: Record<string, fc.Arbitrary<unknown>>;
}): fc.Arbitrary<Record<string, unknown>> {
  const changesOf = (names: readonly string[], maxLength: number): fc.Arbitrary<FieldChange[]> =>
    fc.array(fc.tuple(fc.constantFrom(...names), junk), { maxLength });
  return fc
    .record({
      base: fc.constantFrom(...bases),
      top: changesOf(fields, maxChanges),
      inner: fc.tuple(...nested.map((n) => changesOf(n.fields, n.maxChanges))),
      replaced: fc.record(replacements),
    })
    .map(({ base, top, inner, replaced }) => {
      const event: Record<string, unknown> = { ...base };
      nested.forEach((n, i) => {
        const changes = inner[i] ?? [];
        const target = n.from === undefined ? base[n.key] : changes.length > 0 ? n.from : undefined;
        if (target !== undefined) event[n.key] = withChanges(target as object, changes);
      });
      const changed = withChanges(event, top);
      for (const [key, value] of Object.entries(replaced)) if (value !== undefined) changed[key] = value;
      return changed;
    });
}

/** A copy of `target` with `changes` applied in order (a later change to a field wins). */
function withChanges(target: object, changes: readonly FieldChange[]): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...target };
  for (const [key, value] of changes) copy[key] = value;
  return copy;
}
