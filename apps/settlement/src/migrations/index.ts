import {
  commandAuditMigration,
  deadLetterReplayMigration,
  messagingGuardsMigration,
  messagingRetentionMigration,
  messagingTablesMigration,
} from '@app/messaging';
import { Settlement1764000000800 } from './1764000000800-settlement.js';
import { Approval1764000000900 } from './1764000000900-approval.js';
import { Payouts1764000001000 } from './1764000001000-payouts.js';
import { ItemOrderCoupon1764000001100 } from './1764000001100-item-order-coupon.js';
import { ReturnedFunds1764000001400 } from './1764000001400-returned-funds.js';
import { CloseExceptions1764000001500 } from './1764000001500-close-exceptions.js';
import { ZeroAmountRecordsPaid1764000001600 } from './1764000001600-zero-amount-records-paid.js';
import { RetryKeysInCommandIdempotency1764000001700 } from './1764000001700-retry-keys-in-command-idempotency.js';

export const SETTLEMENT_SCHEMA = 'settlement';

/** In order of application; a migration, once released, is never edited, only followed by another. */
export const settlementMigrations = [
  messagingTablesMigration(SETTLEMENT_SCHEMA),
  Settlement1764000000800,
  Approval1764000000900,
  Payouts1764000001000,
  ItemOrderCoupon1764000001100,
  deadLetterReplayMigration(SETTLEMENT_SCHEMA),
  ReturnedFunds1764000001400,
  CloseExceptions1764000001500,
  ZeroAmountRecordsPaid1764000001600,
  RetryKeysInCommandIdempotency1764000001700,
  messagingRetentionMigration(SETTLEMENT_SCHEMA),
  messagingGuardsMigration(SETTLEMENT_SCHEMA),
  commandAuditMigration(SETTLEMENT_SCHEMA),
];
