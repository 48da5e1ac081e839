export * from './fee.types.js';
export * from './fee-values.js';
export * from './fee-rule.js';
export * from './fee-calculator.js';
export * from './split.js';
