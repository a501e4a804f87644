export { startWorkers, type WorkerDeps, type Workers } from './workers.js';
