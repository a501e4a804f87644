export { buildApp, type BuildOptions } from './app.js';
export { createApiDeps, type ApiDeps } from './deps.js';
