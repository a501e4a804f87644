export { run } from './program.js';
export { EXIT, type Io } from './io.js';
