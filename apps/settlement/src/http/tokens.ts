/** The service's DataSource, for the read-only queries the controllers run directly. */
export const SETTLEMENT_DB = Symbol('SETTLEMENT_DB');
