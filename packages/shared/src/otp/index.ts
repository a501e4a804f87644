export * from './code.js';
export * from './message.js';
