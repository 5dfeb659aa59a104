export { ModelRegistry, type RegistryEntry, type RemoteShell } from './model-registry.js';
export { scanHubSnapshots, remoteScanScript, parseRemoteScan } from './snapshot-scan.js';
