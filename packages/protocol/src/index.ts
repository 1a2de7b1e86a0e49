export * from './limits.js';
export * from './schemas.js';
export * from './messages.js';
export * from './events.js';
