export * from './catalogue.js';
export * from './render.js';
