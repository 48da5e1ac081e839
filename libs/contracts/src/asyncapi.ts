import { CONTRACTS, type ContractDefinition } from './events/index.js';
import { contractSchemaFileName } from './json-schema.js';
import { TOPICS, type TopicDefinition } from './topics.js';

/**
 * The AsyncAPI 3.0 document of every topic the engine owns: its address, key, producer and
 * consumers, its message (the payload is the contract's JSON Schema file, generated from the same
 * zod schema the consumers parse with), and its dead-letter topic. One reference for a team that
 * publishes or consumes events; generated and drift-checked like the JSON Schemas
 * (scripts/contracts-schema.ts), so it cannot say something the code does not do.
 */

/** A dead letter's headers: name → what it says (libs/messaging's DLQ_HEADER, documented). */
export type DeadLetterHeaders = Readonly<Record<string, string>>;

const KAFKA_BINDING_VERSION = '0.5.0';

/** `payments.transaction.v1` → `paymentsTransactionV1`: a channel id AsyncAPI accepts. */
function channelId(address: string): string {
  return address.replace(/[.-](\w)/g, (_, c: string) => c.toUpperCase());
}

function operationsOf(topic: TopicDefinition, contract: ContractDefinition): [string, unknown][] {
  const channel = { $ref: `#/channels/${channelId(topic.name)}` };
  const message = { $ref: `#/channels/${channelId(topic.name)}/messages/${contract.name}` };
  const party = (who: string) => who.replace(/[^A-Za-z0-9]+(\w?)/g, (_, c: string) => c.toUpperCase());
  return [
    [
      `send${contract.name}`,
      {
        action: 'send',
        channel,
        summary: `published by ${topic.producer}, keyed by ${topic.key}`,
        messages: [message],
      },
    ],
    ...topic.consumers.map((consumer): [string, unknown] => [
      `${party(consumer)}Receives${contract.name}`,
      {
        action: 'receive',
        channel,
        summary: `${consumer} consumes it once (inbox), dead-lettering what it cannot apply to ${topic.dlq}`,
        messages: [message],
      },
    ]),
  ];
}

export function asyncApiDocument(
  deadLetterHeaders: DeadLetterHeaders,
  contracts: readonly ContractDefinition[] = CONTRACTS,
): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const topic of TOPICS) {
    const contract = contracts.find((c) => c.topic === topic.name);
    if (contract === undefined) throw new Error(`topic ${topic.name} has no contract`);
    channels[channelId(topic.name)] = {
      address: topic.name,
      title: contract.name,
      description: topic.description,
      messages: {
        [contract.name]: {
          name: contract.name,
          title: `${contract.name} v${contract.version}`,
          contentType: 'application/json',
          // The contract's JSON Schema file (draft 2020-12), as a multi-format schema.
          payload: {
            schemaFormat: 'application/schema+json;version=draft-2020-12',
            schema: { $ref: `./${contractSchemaFileName(contract)}` },
          },
          bindings: {
            kafka: {
              key: { type: 'string', description: `the event's ${topic.key}: one partition keeps its order` },
              bindingVersion: KAFKA_BINDING_VERSION,
            },
          },
        },
      },
    };
    channels[channelId(topic.dlq)] = {
      address: topic.dlq,
      title: `${contract.name} dead letters`,
      description:
        `What a consumer of ${topic.name} could not apply: the original key and headers, the value ` +
        '(clipped past 64 KiB: its size and SHA-256 in headers, the whole value in the outbox), and why.',
      messages: { DeadLetter: { $ref: '#/components/messages/DeadLetter' } },
    };
    for (const [id, operation] of operationsOf(topic, contract)) operations[id] = operation;
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Clearing & settlement engine events',
      version: '1',
      description:
        'Every topic the engine owns. A breaking change is a new topic (.v2) beside the old one. ' +
        'Amounts are decimal strings with a documented bound (ADR 005).',
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: {
      messages: {
        DeadLetter: {
          name: 'DeadLetter',
          title: 'A dead letter',
          contentType: 'application/octet-stream',
          headers: {
            type: 'object',
            properties: Object.fromEntries(
              Object.entries(deadLetterHeaders).map(([name, description]) => [
                name,
                { type: 'string', description },
              ]),
            ),
          },
          payload: {
            type: 'string',
            format: 'binary',
            description: 'the original value (or its first 64 KiB)',
          },
        },
      },
    },
  };
}
