import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ProfileBox } from '../../boxes/box-controller.js';
import { BOX_STATES, type BoxState } from '../../boxes/box-provider.js';
import type { HubEvent } from '../../events/index.js';
import type { Corral } from '../corral.js';
import { openEventStream } from '../sse.js';

/** A box as the API shows it (snake_case, null where the provider says nothing). */
export interface BoxView {
  profile: string;
  instance: string;
  state: BoxState;
  zone: string | null;
  address: string | null;
  provider_state: string | null;
  reason: string | null;
}

export const boxView = (b: ProfileBox): BoxView => ({
  profile: b.profile,
  instance: b.instance,
  state: b.state,
  zone: b.zone ?? null,
  address: b.address ?? null,
  provider_state: b.providerState ?? null,
  reason: b.reason ?? null,
});

// OpenAPI 3.0 writes "or null" as nullable (its schemas have no type 'null').
const nullableString = (description: string) => Type.Unsafe<string | null>({ type: 'string', nullable: true, description });
export const BoxSchema = Type.Object({
  profile: Type.String({ description: 'The box profile (gce, ec2 or command).' }),
  instance: Type.String({ description: 'Instance name (gce, command) or id (ec2).' }),
  state: Type.Unsafe<BoxState>({ type: 'string', enum: [...BOX_STATES] }),
  zone: nullableString("GCE's zone or EC2's availability zone, when the provider knows it."),
  address: nullableString('Where SSH reaches the box while it runs.'),
  provider_state: nullableString("The provider's own word for the state (TERMINATED, stopped, ...)."),
  reason: nullableString('Why the box is in its state, when the provider says (a preemption, ...).'),
});
const ListQuery = Type.Object({ profile: Type.Optional(Type.String({ description: 'Only the boxes of this profile.' })) });
const BoxParams = Type.Object({ profile: Type.String(), instance: Type.String() });

/**
 * Boxes: the machines of the gce, ec2 and command profiles, which Corral lists,
 * starts and stops (never creates or deletes). The BoxController holds the
 * rules (start from STOPPED or PREEMPTED, BOX_BUSY otherwise) and publishes
 * each change on the event hub, which GET .../events streams.
 */
export const boxRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { config, events: hub } = corral;
  const read = { auth: 'read' } as const;
  const operate = { auth: 'services:operate' } as const;

  app.get('/api/boxes', { schema: { querystring: ListQuery, response: { 200: Type.Array(BoxSchema) } }, config: read }, async (req) =>
    (await corral.boxes.list(req.query.profile)).map(boxView));

  app.get('/api/boxes/:profile/:instance', { schema: { params: BoxParams, response: { 200: BoxSchema } }, config: read }, async (req) =>
    boxView(await corral.boxes.status(req.params.profile, req.params.instance)));

  app.post('/api/boxes/:profile/:instance/start', { schema: { params: BoxParams, response: { 200: BoxSchema } }, config: operate }, async (req) => {
    const box = boxView(await corral.boxes.start(req.params.profile, req.params.instance));
    corral.audit.record('box.start', req, `${box.profile}/${box.instance}`, { state: box.state });
    return box;
  });

  app.post('/api/boxes/:profile/:instance/stop', { schema: { params: BoxParams, response: { 200: BoxSchema } }, config: operate }, async (req) => {
    const box = boxView(await corral.boxes.stop(req.params.profile, req.params.instance));
    corral.audit.record('box.stop', req, `${box.profile}/${box.instance}`, { state: box.state });
    return box;
  });

  // Streams end when the gateway closes, or close() would wait for every client to hang up.
  const open = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of open) end();
  });

  app.get('/api/boxes/:profile/:instance/events', { schema: { params: BoxParams }, config: read }, async (req, reply) => {
    const { profile, instance } = req.params;
    // Unknown profile or instance: an error answer, before any stream is opened.
    corral.boxes.profile(profile);
    if (req.method === 'HEAD') {
      await corral.boxes.status(profile, instance);
      openEventStream(reply).end();
      return reply;
    }
    // Listen before looking: a change made while the status is read is sent after it, not lost.
    let pending: HubEvent[] | undefined = [];
    let last: string | undefined;
    const send = (box: BoxView, id?: number) => {
      const fingerprint = JSON.stringify(box);
      if (fingerprint === last) return;
      last = fingerprint;
      stream.send(box, 'box', id);
    };
    const forward = (event: HubEvent) => {
      if (event.type === 'box' && event.box.profile === profile && event.box.instance === instance) send(boxView(event.box), event.id);
    };
    const unsubscribe = hub.subscribe((event) => (pending ? pending.push(event) : forward(event)));
    let current: BoxView;
    try {
      current = boxView(await corral.boxes.status(profile, instance));
    } catch (err) {
      unsubscribe();
      throw err;
    }
    const stream = openEventStream(reply);
    const heartbeat = setInterval(() => stream.comment('heartbeat'), config.eventsHeartbeatMs);
    // A box changes at the cloud, not here: while someone watches, ask the provider (each change is published).
    const poll = setInterval(() => void corral.boxes.status(profile, instance).catch(() => undefined), config.monitorIntervalMs);
    open.add(stream.end);
    reply.raw.on('close', () => {
      clearInterval(heartbeat);
      clearInterval(poll);
      unsubscribe();
      open.delete(stream.end);
    });
    send(current);
    // Changes seen while the status was read, after it (the read itself may have published it: sent once).
    for (const event of pending) forward(event);
    pending = undefined;
    return reply;
  });
};
