/**
 * Ec2Provider against moto_server on 127.0.0.1, each change checked with the
 * real `aws` CLI: two instances made and stopped with aws, listed, started,
 * stopped; an unknown id among the profile's instances is MISSING while the
 * others still report; a terminated one is MISSING. Then ec2BoxState over every
 * EC2 state name and the spot state reasons (moto cannot preempt).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BoxState, BoxStatus } from '../../src/boxes/box-provider.js';
import { Ec2Provider, ec2BoxState } from '../../src/boxes/ec2-provider.js';
import { boxProviderFactory } from '../../src/boxes/box-providers.js';
import { freePort, MOTO_ENV, startMoto, type TestMoto } from '../helpers/moto.js';

const UNKNOWN = 'i-0123456789abcdef0';

describe('Ec2Provider on moto', () => {
  let moto: TestMoto;
  let ids: string[];
  const saved: Record<string, string | undefined> = {};
  const envFor = { ...MOTO_ENV, AWS_EC2_METADATA_DISABLED: 'true' };

  const awsState = async (id: string): Promise<string> => {
    const out = await moto.aws(['ec2', 'describe-instances', '--instance-ids', id]);
    return out.Reservations[0].Instances[0].State.Name;
  };

  /** Polls the provider until the instance is in `state`; fails with every state seen at the deadline. */
  const waitState = async (provider: Ec2Provider, id: string, state: BoxState, timeoutMs = 20_000): Promise<BoxStatus> => {
    const seen: string[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await provider.status(id);
      if (seen.at(-1) !== status.state) seen.push(status.state);
      if (status.state === state) return status;
      if (Date.now() > deadline) throw new Error(`${id} never became ${state}; seen ${seen.join(' → ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  before(async () => {
    for (const [k, v] of Object.entries(envFor)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    moto = await startMoto();
    const run = await moto.aws(['ec2', 'run-instances', '--image-id', 'ami-12c6146b', '--count', '2', '--instance-type', 't2.micro']);
    ids = run.Instances.map((i: { InstanceId: string }) => i.InstanceId);
    assert.equal(ids.length, 2);
    await moto.aws(['ec2', 'stop-instances', '--instance-ids', ...ids]);
    for (const id of ids) assert.equal(await awsState(id), 'stopped');
  });

  after(() => {
    moto?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const provider = (instances = ids) => new Ec2Provider({ region: 'us-east-1', instances, endpointUrl: moto.url });

  test("the factory's ec2 provider (the AWS SDK loaded on its first call) sees the same boxes", async () => {
    const lazy = boxProviderFactory()({ name: 'aws', type: 'ec2', region: 'us-east-1', instances: ids.join(','), endpointUrl: moto.url });
    assert.equal(lazy.type, 'ec2');
    assert.deepEqual(await lazy.list(), await provider().list());
    assert.deepEqual(await lazy.status(ids[1]!), await provider().status(ids[1]!));
  });

  test('list shows both instances STOPPED, in profile order, with zone and address', async () => {
    const listed = await provider([ids[1], ids[0]]).list();
    assert.deepEqual(listed.map((b) => [b.instance, b.state, b.providerState, b.zone]), [
      [ids[1], 'STOPPED', 'stopped', 'us-east-1a'],
      [ids[0], 'STOPPED', 'stopped', 'us-east-1a'],
    ]);
    for (const box of listed) {
      assert.match(box.address ?? '', /^\d+\.\d+\.\d+\.\d+$/);
      assert.equal(box.reason, undefined);
    }
  });

  test('start makes one box STARTING or RUNNING, then RUNNING, as aws confirms; the other stays STOPPED', async () => {
    const p = provider();
    const started = await p.start(ids[0]);
    assert.equal(started.instance, ids[0]);
    assert.ok(started.state === 'STARTING' || started.state === 'RUNNING', `start returned ${started.state}`);
    const running = await waitState(p, ids[0], 'RUNNING');
    assert.equal(running.providerState, 'running');
    assert.equal(running.zone, 'us-east-1a');
    assert.match(running.address ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(await awsState(ids[0]), 'running');
    assert.equal(await awsState(ids[1]), 'stopped');
    assert.deepEqual((await p.list()).map((b) => b.state), ['RUNNING', 'STOPPED']);
  });

  test('stop makes the running box STOPPING or STOPPED, then STOPPED, as aws confirms', async () => {
    const p = provider();
    const stopping = await p.stop(ids[0]);
    assert.ok(stopping.state === 'STOPPING' || stopping.state === 'STOPPED', `stop returned ${stopping.state}`);
    const stopped = await waitState(p, ids[0], 'STOPPED');
    assert.equal(stopped.providerState, 'stopped');
    assert.equal(await awsState(ids[0]), 'stopped');
  });

  test('an unknown id among the instances is MISSING while the others still report', async () => {
    await assert.rejects(moto.aws(['ec2', 'describe-instances', '--instance-ids', ids[0], UNKNOWN]), /InvalidInstanceID\.NotFound/);
    const p = provider([ids[0], UNKNOWN, ids[1]]);
    const listed = await p.list();
    assert.deepEqual(listed.map((b) => [b.instance, b.state]), [[ids[0], 'STOPPED'], [UNKNOWN, 'MISSING'], [ids[1], 'STOPPED']]);
    assert.match(listed[1].reason ?? '', /does not know/);
    assert.equal((await p.status(UNKNOWN)).state, 'MISSING');
    assert.equal((await p.status('not-an-instance-id')).state, 'MISSING');
    assert.equal((await p.start(UNKNOWN)).state, 'MISSING');
  });

  test('an instance terminated with aws is MISSING, saying it cannot start again', async () => {
    await moto.aws(['ec2', 'terminate-instances', '--instance-ids', ids[1]]);
    assert.equal(await awsState(ids[1]), 'terminated');
    const listed = await provider().list();
    assert.deepEqual(listed.map((b) => [b.instance, b.state, b.providerState]), [[ids[0], 'STOPPED', 'stopped'], [ids[1], 'MISSING', 'terminated']]);
    assert.match(listed[1].reason ?? '', /terminated; a terminated instance cannot be started again/);
  });

  test('an EC2 API that does not answer is a plain Error naming the call, region and endpoint', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const p = new Ec2Provider({ region: 'us-east-1', instances: ids, endpointUrl: closed, maxAttempts: 1 });
    await assert.rejects(p.list(), (e: Error) => {
      assert.equal(e.constructor, Error);
      assert.match(e.message, new RegExp(`^EC2 DescribeInstances \\(region us-east-1 at ${closed.replace(/\./g, '\\.')}\\) failed: .*ECONNREFUSED.*could not be reached`));
      return true;
    });
  });

  test('credentials EC2 refuses are a plain Error saying to check them', async () => {
    // moto accepts any key, so a stand-in on 127.0.0.1 answers with EC2's AuthFailure error body.
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'text/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message></Error></Errors><RequestID>r1</RequestID></Response>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const p = new Ec2Provider({ region: 'us-east-1', instances: ids, endpointUrl: `http://127.0.0.1:${port}`, maxAttempts: 1 });
      await assert.rejects(p.start(ids[0]), (e: Error) => {
        assert.equal(e.constructor, Error);
        assert.match(e.message, /^EC2 StartInstances for instance i-\w+ \(region us-east-1 at http:\/\/127\.0\.0\.1:\d+\) failed: AuthFailure: AWS was not able to validate the provided access credentials\. Check the AWS credentials/);
        return true;
      });
    } finally {
      server.close();
    }
  });
});

describe('ec2BoxState', () => {
  const box = (name: string, reason?: { Code: string; Message: string }) =>
    ec2BoxState({
      InstanceId: 'i-1', State: { Name: name as never }, StateReason: reason,
      Placement: { AvailabilityZone: 'us-east-1b' }, PublicIpAddress: name === 'running' ? '3.3.3.3' : undefined, PrivateIpAddress: '10.0.0.5',
    });

  test('every EC2 state name maps to its box state, keeping the name as providerState', () => {
    const cases: [string, BoxState][] = [
      ['pending', 'STARTING'], ['running', 'RUNNING'], ['stopping', 'STOPPING'], ['shutting-down', 'STOPPING'], ['stopped', 'STOPPED'], ['terminated', 'MISSING'],
    ];
    for (const [name, state] of cases) {
      const status = box(name);
      assert.equal(status.state, state, name);
      assert.equal(status.providerState, name);
      assert.equal(status.instance, 'i-1');
      assert.equal(status.zone, 'us-east-1b');
    }
  });

  test('the address is the public one, else the private one', () => {
    assert.equal(box('running').address, '3.3.3.3');
    assert.equal(box('stopped').address, '10.0.0.5');
    assert.equal(ec2BoxState({ InstanceId: 'i-2', State: { Name: 'stopped' } }).address, undefined);
  });

  test('a stopped instance with a Server.SpotInstance* reason is PREEMPTED with the reason message', () => {
    for (const code of ['Server.SpotInstanceShutdown', 'Server.SpotInstanceTermination']) {
      const message = `${code}: Spot instance interrupted`;
      assert.deepEqual(box('stopped', { Code: code, Message: message }), {
        instance: 'i-1', state: 'PREEMPTED', providerState: 'stopped', zone: 'us-east-1b', address: '10.0.0.5', reason: message,
      });
    }
  });

  test('a user-initiated stop is STOPPED, with no reason', () => {
    const status = box('stopped', { Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: User initiated shutdown' });
    assert.equal(status.state, 'STOPPED');
    assert.equal(status.reason, undefined);
  });

  test('a spot reason on a state other than stopped keeps that state', () => {
    assert.equal(box('stopping', { Code: 'Server.SpotInstanceShutdown', Message: 'm' }).state, 'STOPPING');
    assert.equal(box('running', { Code: '', Message: '' }).reason, undefined);
  });

  test('terminated is MISSING, saying it cannot start again, with EC2 reason', () => {
    assert.equal(box('terminated').reason, 'The instance is terminated; a terminated instance cannot be started again.');
    assert.equal(
      box('terminated', { Code: 'Server.SpotInstanceTermination', Message: 'Server.SpotInstanceTermination: Spot instance termination' }).reason,
      'The instance is terminated; a terminated instance cannot be started again (Server.SpotInstanceTermination: Spot instance termination).',
    );
  });

  test('a state name EC2 does not have is an Error naming it', () => {
    assert.throws(() => box('hibernating'), /^Error: EC2 reported state 'hibernating' for instance i-1, which Corral does not know/);
  });
});
