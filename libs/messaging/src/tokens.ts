export const PLATFORM_CONFIG = Symbol('PLATFORM_CONFIG');
export const KAFKA = Symbol('KAFKA');
export const SERVICE_SCHEMA = Symbol('SERVICE_SCHEMA');
