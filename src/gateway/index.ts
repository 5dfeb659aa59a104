export { buildApp } from './app.js';
export { createCorral, type Corral } from './corral.js';
export { startServer, type RunningServer } from './server.js';
