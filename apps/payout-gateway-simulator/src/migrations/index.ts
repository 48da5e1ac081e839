import {
  deadLetterReplayMigration,
  messagingGuardsMigration,
  messagingRetentionMigration,
  messagingTablesMigration,
} from '@app/messaging';
import { PayoutGateway1764000001100 } from './1764000001100-payout-gateway.js';
import { PayoutGatewayTransientModes1764000001200 } from './1764000001200-transient-modes.js';

export const PAYOUT_GATEWAY_SCHEMA = 'payout_gateway';

export const payoutGatewayMigrations = [
  messagingTablesMigration(PAYOUT_GATEWAY_SCHEMA),
  PayoutGateway1764000001100,
  PayoutGatewayTransientModes1764000001200,
  deadLetterReplayMigration(PAYOUT_GATEWAY_SCHEMA),
  messagingRetentionMigration(PAYOUT_GATEWAY_SCHEMA),
  messagingGuardsMigration(PAYOUT_GATEWAY_SCHEMA),
];
