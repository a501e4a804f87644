export { startWorkers, type Workers } from './workers.js';
