export * from './config.js';
export * from './database/service-data-source.js';
export * from './database/transient-error.js';
export * from './process/backoff.js';
export * from './process/progress.js';
export * from './database/bulk-write.js';
export * from './csv.js';
export * from './database/service-roles.js';
