/** The HTTP edge every service shares: one error body, input validation with zod, OpenAPI. */
export * from './api-error.js';
export * from './api-errors.filter.js';
export * from './openapi.js';
export * from './validation.js';
export * from './caller-identity.js';
export * from './principal.js';
export * from './dev-identity.js';
export * from './access.js';
