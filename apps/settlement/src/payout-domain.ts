/**
 * The settlement service's approval and payout rules as plain TypeScript (no Nest, no storage):
 * what the HTTP commands, the payout-result consumer and the repositories build on.
 */
export * from './approval/settlement-approval.js';
export * from './payout/payout-account.js';
export * from './payout/payout-attempt.js';
