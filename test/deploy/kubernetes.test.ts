// The Kubernetes manifests in deploy/kubernetes/ (docs/deploy.md) are valid objects of
// their kinds (the JSON schemas of kubernetes-models), and the gateway and worker
// commands in them are real `corral` commands.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../helpers/run-cli.js';

const DIR = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));
const KINDS: Record<string, new (data: never) => { validate(): void }> = { Deployment, Service, PersistentVolumeClaim };

const manifests = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((doc) => ({ file, object: doc.toJS() as { kind: string; metadata: { name: string } } & Record<string, unknown> })));

test('every manifest validates against its kind\'s schema', () => {
  assert.deepEqual(manifests.map((m) => `${m.file} ${m.object.kind}/${m.object.metadata.name}`).sort(), [
    'gateways.yaml Deployment/corral-gateway', 'gateways.yaml PersistentVolumeClaim/corral-models',
    'gateways.yaml Service/corral-gateway', 'workers.yaml Deployment/corral-worker',
  ]);
  for (const { file, object } of manifests) {
    const Kind = KINDS[object.kind];
    assert.ok(Kind, `${file}: no schema for ${object.kind}`);
    assert.doesNotThrow(() => new Kind(object as never).validate(), `${file} ${object.kind}`);
  }
});

test('a broken manifest is caught (the validation is real)', () => {
  const gateway = structuredClone(manifests.find((m) => m.object.kind === 'Deployment')!.object) as unknown as { spec: { replicas: unknown } };
  gateway.spec.replicas = 'two';
  assert.throws(() => new Deployment(gateway as never).validate());
});

test("the containers run real corral commands with options corral knows", async () => {
  for (const { object } of manifests.filter((m) => m.object.kind === 'Deployment')) {
    const container = (object as unknown as { spec: { template: { spec: { containers: Array<{ command: string[] }> } } } }).spec.template.spec.containers[0]!;
    assert.deepEqual(container.command.slice(0, 2), ['node', 'bin/corral.js']);
    const help = await runCli('http://127.0.0.1:9', [...container.command.slice(2), '--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const option of container.command.slice(3).filter((a) => a.startsWith('--'))) assert.match(help.stdout, new RegExp(`${option}\\b`));
  }
});
