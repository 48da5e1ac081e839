export * from './errors.js';
export * from './currency.js';
export * from './money.js';
export * from './business-date.js';
export * from './topics.js';
export * from './events/index.js';
export * from './json-schema.js';
export * from './principal.js';
