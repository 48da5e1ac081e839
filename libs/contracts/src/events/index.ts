import type { z } from 'zod';
import {
  CLEARING_ITEM_CLEARED_V1,
  PAYMENTS_TRANSACTION_V1,
  RECON_ITEM_MATCHED_V1,
  SETTLEMENT_PAYOUT_REQUESTED_V1,
  SETTLEMENT_PAYOUT_RESULT_V1,
  type TopicName,
} from '../topics.js';
import { clearingItemClearedV1Schema, decodeClearingItemClearedV1 } from './clearing-item-cleared.v1.js';
import type { DecodeResult } from './contract.js';
import { decodePaymentsTransactionV1, paymentsTransactionV1Schema } from './payments-transaction.v1.js';
import { decodeReconItemMatchedV1, reconItemMatchedV1Schema } from './recon-item-matched.v1.js';
import {
  decodeSettlementPayoutRequestedV1,
  settlementPayoutRequestedV1Schema,
} from './settlement-payout-requested.v1.js';
import {
  decodeSettlementPayoutResultV1,
  settlementPayoutResultV1Schema,
} from './settlement-payout-result.v1.js';

export interface ContractDefinition<S extends z.ZodType = z.ZodType> {
  readonly topic: TopicName;
  /** Event name without version, PascalCase, past tense where it names a fact. */
  readonly name: string;
  /** Must equal the topic's `.vN` suffix; a spec holds the two together. */
  readonly version: number;
  readonly schema: S;
  readonly decode: (value: Uint8Array | string | null | undefined) => DecodeResult<z.output<S>>;
}

/**
 * Every event contract this library defines. The JSON Schema script and generic tooling (DLQ
 * inspection, the publish CLI) iterate this list, so a contract missing here has no published schema.
 */
export const CONTRACTS = Object.freeze([
  {
    topic: PAYMENTS_TRANSACTION_V1,
    name: 'PaymentsTransaction',
    version: 1,
    schema: paymentsTransactionV1Schema,
    decode: decodePaymentsTransactionV1,
  } satisfies ContractDefinition<typeof paymentsTransactionV1Schema>,
  {
    topic: RECON_ITEM_MATCHED_V1,
    name: 'ReconItemMatched',
    version: 1,
    schema: reconItemMatchedV1Schema,
    decode: decodeReconItemMatchedV1,
  } satisfies ContractDefinition<typeof reconItemMatchedV1Schema>,
  {
    topic: CLEARING_ITEM_CLEARED_V1,
    name: 'ClearingItemCleared',
    version: 1,
    schema: clearingItemClearedV1Schema,
    decode: decodeClearingItemClearedV1,
  } satisfies ContractDefinition<typeof clearingItemClearedV1Schema>,
  {
    topic: SETTLEMENT_PAYOUT_REQUESTED_V1,
    name: 'SettlementPayoutRequested',
    version: 1,
    schema: settlementPayoutRequestedV1Schema,
    decode: decodeSettlementPayoutRequestedV1,
  } satisfies ContractDefinition<typeof settlementPayoutRequestedV1Schema>,
  {
    topic: SETTLEMENT_PAYOUT_RESULT_V1,
    name: 'SettlementPayoutResult',
    version: 1,
    schema: settlementPayoutResultV1Schema,
    decode: decodeSettlementPayoutResultV1,
  } satisfies ContractDefinition<typeof settlementPayoutResultV1Schema>,
] as const);

export * from './clearing-item-cleared.v1.js';
export * from './contract.js';
export * from './payments-transaction.v1.js';
export * from './recon-item-matched.v1.js';
export * from './settlement-payout-requested.v1.js';
export * from './settlement-payout-result.v1.js';
export { describeJsonType } from './fields.js';
