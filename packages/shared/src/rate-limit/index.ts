export * from './send-rate-limiter.js';
export * from './retry-after.js';
