/** The ledger owns this schema; no service reads or writes it except through this library. */
export const LEDGER_SCHEMA = 'ledger';
