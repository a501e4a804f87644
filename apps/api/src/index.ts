export { buildApp } from './app.js';
export { createApiDeps, type ApiDeps } from './deps.js';
