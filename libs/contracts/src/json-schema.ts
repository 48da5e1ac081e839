import { z } from 'zod';
import { CONTRACTS, type ContractDefinition } from './events/index.js';
import { TOPICS } from './topics.js';

/** A URN, not a URL: the schemas are files in this repo, not documents served from a host. */
export const CONTRACT_SCHEMA_ID_PREFIX = 'urn:clearing-settlement-engine:contract:';

export interface GeneratedFile {
  /** Relative to docs/contracts/. */
  readonly fileName: string;
  readonly content: string;
}

export function contractSchemaFileName(contract: Pick<ContractDefinition, 'topic'>): string {
  return `${contract.topic}.schema.json`;
}

/**
 * The JSON Schema publishers validate against, derived from the same zod schema consumers parse
 * with. `io: 'input'` describes what goes on the wire. Key order is fixed (identity first, then
 * what zod emits, which follows the shape) so regenerating never produces a diff by itself.
 */
export function contractJsonSchema(contract: ContractDefinition): Record<string, unknown> {
  const { $schema, title, description, ...body } = z.toJSONSchema(contract.schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'throw',
  }) as Record<string, unknown>;
  const topic = TOPICS.find((t) => t.name === contract.topic);
  return {
    $schema,
    $id: `${CONTRACT_SCHEMA_ID_PREFIX}${contract.topic}`,
    title,
    description,
    'x-topic': contract.topic,
    'x-kafka-key': topic?.key,
    'x-version': contract.version,
    ...body,
  };
}

export function contractSchemaFiles(contracts: readonly ContractDefinition[] = CONTRACTS): GeneratedFile[] {
  return contracts.map((contract) => ({
    fileName: contractSchemaFileName(contract),
    content: `${JSON.stringify(contractJsonSchema(contract), null, 2)}\n`,
  }));
}
