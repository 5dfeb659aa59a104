import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ProfileBox } from '../../boxes/box-controller.js';
import type { BoxState } from '../../boxes/box-provider.js';
import { CorralError } from '../../errors/index.js';
import type { Profile } from '../../profiles/index.js';
import type { Corral } from '../corral.js';

/** GCE's word for each box state, for boxes whose provider is not GCE (ec2, command). */
const GCE_STATUS: Record<BoxState, string> = {
  STOPPED: 'TERMINATED',
  STARTING: 'STAGING',
  RUNNING: 'RUNNING',
  STOPPING: 'STOPPING',
  PREEMPTED: 'TERMINATED',
  MISSING: 'NOTFOUND',
};

/** A box as GCE's instances.get/list show one (the fields Laminoid's clients read), plus Corral's own. */
export function laminoidInstance(profile: Profile | undefined, box: ProfileBox, zone?: string) {
  const z = box.zone ?? profile?.zone ?? zone ?? profile?.region ?? 'any';
  const gce = profile?.type === 'gce';
  return {
    kind: 'compute#instance' as const,
    name: box.instance,
    // GCE gives the zone as its resource URL; clients take the part after the last '/'.
    zone: gce && profile?.project ? `https://www.googleapis.com/compute/v1/projects/${profile.project}/zones/${z}` : z,
    status: gce && box.providerState ? box.providerState.toUpperCase() : GCE_STATUS[box.state],
    ...(box.reason !== undefined ? { statusMessage: box.reason } : {}),
    profile: box.profile,
    state: box.state,
    address: box.address ?? null,
  };
}

const InstanceSchema = Type.Object({
  kind: Type.Literal('compute#instance'),
  name: Type.String({ description: 'The instance name (gce, command) or id (ec2).' }),
  zone: Type.String({ description: "GCE's zone URL for gce boxes; the zone (or availability zone) otherwise, 'any' when the box has none." }),
  status: Type.String({ description: "GCE's word: RUNNING, STAGING, STOPPING, TERMINATED, ... (the provider's own for gce boxes)." }),
  statusMessage: Type.Optional(Type.String()),
  profile: Type.String({ description: "Corral: the box's profile." }),
  state: Type.String({ description: "Corral: the box's state (GET /api/boxes)." }),
  address: Type.Unsafe<string | null>({ type: 'string', nullable: true, description: 'Corral: where SSH reaches the box while it runs.' }),
});
const OperationSchema = Type.Object({
  kind: Type.Literal('compute#operation'),
  name: Type.String(),
  operationType: Type.String({ description: 'start or stop.' }),
  zone: Type.String(),
  status: Type.String({ description: "The operation's: RUNNING while the box gets there, DONE once it is (or already was)." }),
  progress: Type.Integer(),
  instance: InstanceSchema,
});
const InstanceParams = Type.Object({ zone: Type.String(), instance_id: Type.String() });
// Laminoid's clients send ?token=<key> on every call; it is a credential (src/auth), accepted here.
const TokenQuery = Type.Object({ token: Type.Optional(Type.String({ description: 'An API key (Laminoid sends one on every call).' })) });

/**
 * Laminoid's controller API over Corral's boxes: the same paths, all GET (start
 * and stop too, as Laminoid has them), answering in the shapes of GCE's
 * resources that Laminoid's controller passes through: the list is an array of
 * instances, status one instance, start and stop an operation. The zone in the
 * path picks the profile when two list the same instance. Errors are Corral's
 * envelope, whose `error` key is where Laminoid's clients look.
 *
 * Start and stop change state on a GET: they are marked `changesState`, so the
 * origin guard treats them like a POST (a cross-site page cannot trigger one
 * with a browser's cached Basic credentials), and they have no HEAD twin.
 */
export const laminoidControllerRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const profileOf = (name: string) => corral.profiles.list().find((p) => p.name === name);

  app.get('/api/instance/list', { schema: { querystring: TokenQuery, response: { 200: Type.Array(InstanceSchema) } }, config: { auth: 'read', api: 'laminoid' } }, async () => {
    const boxes = await corral.boxes.list();
    // GCE lists only the instances that exist.
    return boxes.filter((b) => b.state !== 'MISSING').map((b) => laminoidInstance(profileOf(b.profile), b));
  });

  app.get('/api/instance/:zone/:instance_id/status', { schema: { params: InstanceParams, querystring: TokenQuery, response: { 200: InstanceSchema } }, config: { auth: 'read', api: 'laminoid' } }, async (req) => {
    const { zone, instance_id: instance } = req.params;
    const profile = corral.boxes.findByZone(zone, instance);
    const box = await corral.boxes.status(profile.name, instance);
    if (box.state === 'MISSING') throw new CorralError('BOX_NOT_FOUND', `Box '${instance}' of profile '${profile.name}' does not exist at the provider${box.reason ? ` (${box.reason})` : ''}.`);
    return laminoidInstance(profile, box, zone);
  });

  for (const operation of ['start', 'stop'] as const) {
    app.get(`/api/instance/:zone/:instance_id/${operation}`, {
      exposeHeadRoute: false,
      schema: { params: InstanceParams, querystring: TokenQuery, response: { 200: OperationSchema } },
      config: { auth: 'services:operate', api: 'laminoid', changesState: true },
    }, async (req) => {
      const { zone, instance_id: instance } = req.params;
      const profile = corral.boxes.findByZone(zone, instance);
      const box = operation === 'start' ? await corral.boxes.start(profile.name, instance) : await corral.boxes.stop(profile.name, instance);
      corral.audit.record(`box.${operation}`, req, `${profile.name}/${instance}`, { state: box.state, via: 'laminoid' });
      const view = laminoidInstance(profile, box, zone);
      const done = operation === 'start' ? box.state === 'RUNNING' : box.state === 'STOPPED' || box.state === 'PREEMPTED';
      return {
        kind: 'compute#operation' as const,
        name: `operation-corral-${operation}-${instance}`,
        operationType: operation,
        zone: view.zone,
        status: done ? 'DONE' : 'RUNNING',
        progress: done ? 100 : 0,
        instance: view,
      };
    });
  }
};
