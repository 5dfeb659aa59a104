import type { Command } from 'commander';
import { api, gatewayOf, type Gateway } from './api-client.js';
import { EXIT, ExitError } from './exit-error.js';
import { printRecord, printTable } from './output.js';
import { wholeNumber } from './parse-flags.js';
import { startSpinner } from './wait-for-state.js';

interface BoxView { profile: string; instance: string; state: string; zone: string | null; address: string | null; provider_state: string | null; reason: string | null }

const COLUMNS = ['profile', 'instance', 'state', 'zone', 'address', 'provider_state', 'reason'];
const boxPath = (profile: string, instance: string) => `/api/boxes/${encodeURIComponent(profile)}/${encodeURIComponent(instance)}`;

/**
 * Polls a box until it is `target`, with a spinner on a terminal. Fails when
 * the box turns MISSING, or is still elsewhere after `timeoutMs`.
 */
export async function waitForBox(gateway: Gateway, profile: string, instance: string, target: string, timeoutMs: number, pollMs = 1000): Promise<BoxView> {
  const label = `waiting for ${profile}/${instance} to be ${target}`;
  const spinner = await startSpinner(label);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const box = await api<BoxView>(gateway, 'GET', boxPath(profile, instance));
      if (spinner) spinner.text = `${label} (${box.state})`;
      if (box.state === target) return box;
      if (box.state === 'MISSING') throw new ExitError(`Box ${profile}/${instance} is MISSING at its provider${box.reason ? `: ${box.reason}` : ''}.`, EXIT.FAILURE);
      if (Date.now() >= deadline) throw new ExitError(`Box ${profile}/${instance} is still ${box.state} after ${Math.round(timeoutMs / 1000)} s.`, EXIT.FAILURE);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    spinner?.stop();
  }
}

/** corral boxes ls|status|start|stop: the machines of the gce, ec2 and command profiles. */
export function registerBoxCommands(program: Command): void {
  const json = (cmd: Command) => Boolean(cmd.optsWithGlobals().json);
  const boxes = program.command('boxes').description('boxes: the machines of the gce, ec2 and command profiles (list, start, stop; never create)');

  boxes.command('ls').description('list boxes and their state')
    .option('--profile <name>', 'only the boxes of this profile')
    .action(async (opts: { profile?: string }, cmd: Command) => {
      const query = opts.profile === undefined ? '' : `?profile=${encodeURIComponent(opts.profile)}`;
      printTable(await api<BoxView[]>(gatewayOf(cmd), 'GET', `/api/boxes${query}`) as unknown as Array<Record<string, unknown>>, COLUMNS, json(cmd));
    });

  boxes.command('status').description("show one box's state, asked of its provider")
    .argument('<profile>').argument('<instance>')
    .action(async (profile: string, instance: string, _o: unknown, cmd: Command) => {
      printRecord(await api<Record<string, unknown>>(gatewayOf(cmd), 'GET', boxPath(profile, instance)), json(cmd));
    });

  for (const [operation, target] of [['start', 'RUNNING'], ['stop', 'STOPPED']] as const) {
    boxes.command(operation).description(`${operation} a box${operation === 'start' ? ' (a STOPPED or PREEMPTED one)' : ''}`)
      .argument('<profile>').argument('<instance>')
      .option('--wait', `wait until the box is ${target}`)
      .option('--timeout <seconds>', `how long --wait waits for ${target}`, wholeNumber('--timeout', 1, 86400), 600)
      .action(async (profile: string, instance: string, opts: { wait?: boolean; timeout: number }, cmd: Command) => {
        const gateway = gatewayOf(cmd);
        let box = await api<BoxView>(gateway, 'POST', `${boxPath(profile, instance)}/${operation}`);
        if (opts.wait) box = await waitForBox(gateway, profile, instance, target, opts.timeout * 1000);
        console.log(json(cmd) ? JSON.stringify(box, null, 2) : `${box.profile}/${box.instance} ${box.state}${box.address ? ` ${box.address}` : ''}`);
      });
  }
}
