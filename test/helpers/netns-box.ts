/**
 * Real "boxes" for tests: Linux network namespaces, each joined to this one by a
 * veth pair with private /30 addresses, and an sshd inside that a `command`
 * profile's start command brings up and its stop command takes down. A
 * preemption kills everything in the namespace, as a cloud taking a spot box
 * back would. Needs root, `ip` and openssh-server (scripts/ensure-test-services.sh).
 *
 * The gateway listens on the veth address on this side (`hostAddress`); from
 * inside a namespace this machine's 127.0.0.1 is not reachable.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NetnsBox {
  /** The namespace's name, which is also the instance name in the profile. */
  name: string;
  /** This side of the veth pair (where the gateway listens). */
  hostAddress: string;
  /** The box's side (where its sshd and `corral host` listen). */
  boxAddress: string;
}

export interface NetnsBoxes {
  boxes: NetnsBox[];
  /** The SSH port of every box's sshd. */
  sshPort: number;
  identityFile: string;
  knownHosts: string;
  /** profiles.cfg keys of a command profile for these boxes (instances, commands, ssh user/port/key). */
  profileKeys(): Record<string, string | number>;
  /** Lines the start command appended, one per start: "<instance>". */
  starts(): string[];
  /** Kills everything in the namespace and marks the box PREEMPTED (what its status command then prints). */
  preempt(name: string): void;
  /** Makes the next start of a box fail (exit 1, with a message on stderr). */
  failNextStart(name: string, message: string): void;
  /** Deletes every namespace, veth and file. */
  destroy(): void;
}

const sh = (args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** The box control script: `box.sh start|stop|status <instance>`. State lives in $DIR/<instance>.state. */
function controlScript(dir: string, port: number, hostKey: string, authorizedKeys: string, addresses: Record<string, string>): string {
  const cases = Object.entries(addresses).map(([name, addr]) => `  ${name}) addr=${addr} ;;`).join('\n');
  return `#!/bin/sh
# Test box control: sshd inside network namespace "$2" is the box running.
set -u
action=$1; box=$2; dir=${dir}
case "$box" in
${cases}
  *) echo "unknown box $box" >&2; exit 2 ;;
esac
state=$dir/$box.state
pids() { ip netns pids "$box" 2>/dev/null; }
case "$action" in
  start)
    echo "$box" >> "$dir/starts.log"
    if [ -f "$dir/$box.fail" ]; then msg=$(cat "$dir/$box.fail"); rm -f "$dir/$box.fail"; echo "$msg" >&2; exit 1; fi
    # A box is its own machine: root's login files here (pyenv's rehash takes a lock that a
    # preemption's kill would leave behind) are masked in the box's own mount namespace.
    ip netns exec "$box" unshare -m sh -c 'for f in /root/.bashrc /root/.profile /root/.bash_profile; do [ -e "$f" ] && mount --bind /dev/null "$f"; done; exec "$@"' box \\
      /usr/sbin/sshd -f /dev/null -p ${port} -o ListenAddress="$addr" -o HostKey=${hostKey} \\
      -o AuthorizedKeysFile=${authorizedKeys} -o PidFile="$dir/$box.sshd.pid" -E "$dir/$box.sshd.log" -o StrictModes=no -o UsePAM=no \\
      -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o PermitRootLogin=prohibit-password || exit 1
    echo RUNNING > "$state" ;;
  stop)
    for p in $(pids); do kill -9 "$p" 2>/dev/null; done
    echo STOPPED > "$state" ;;
  status)
    s=$(cat "$state" 2>/dev/null || echo STOPPED)
    if [ "$s" = RUNNING ] && [ -z "$(pids)" ]; then s=STOPPED; fi
    if [ "$s" = RUNNING ]; then echo "RUNNING $addr"; else echo "$s"; fi ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
`;
}

/** Namespaces (and their veths) left by a test process that died before its cleanup: `cbox<pid>x<n>` of a pid that is gone. */
function sweepLeftovers(): void {
  for (const line of sh(['ip', 'netns', 'list']).split('\n')) {
    const m = /^cbox(\d+)x(\d+)\b/.exec(line);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // its test still runs
    } catch { /* gone: sweep */ }
    const name = `cbox${m[1]}x${m[2]}`;
    for (const pid of sh(['ip', 'netns', 'pids', name]).split('\n').filter(Boolean)) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
    try { sh(['ip', 'link', 'delete', `ch${m[1]}x${m[2]}`]); } catch { /* went with the namespace */ }
    sh(['ip', 'netns', 'delete', name]);
  }
}

/** Makes `count` boxes (namespaces with sshd installed but not running: each starts STOPPED). */
export function createNetnsBoxes(count: number): NetnsBoxes {
  const dir = mkdtempSync(join(tmpdir(), 'corral-boxes-'));
  sweepLeftovers();
  const tag = `${process.pid}`;
  // A /30 per box in 10.213.0.0/16, away from anything the machine uses.
  const third = 16 + (process.pid % 200);
  const boxes: NetnsBox[] = [];
  const cleanups: Array<() => void> = [];
  const destroy = () => {
    for (const c of cleanups.reverse()) { try { c(); } catch { /* already gone */ } }
    if (process.env.KEEP_BOX_DIR) { console.error('box dir kept:', dir); return; }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const name = `cbox${tag}x${i}`;
      const host = `ch${tag}x${i}`;
      const peer = `cb${tag}x${i}`;
      const base = i * 4;
      const box: NetnsBox = { name, hostAddress: `10.213.${third}.${base + 1}`, boxAddress: `10.213.${third}.${base + 2}` };
      sh(['ip', 'netns', 'add', name]);
      cleanups.push(() => {
        for (const pid of sh(['ip', 'netns', 'pids', name]).split('\n').filter(Boolean)) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
        sh(['ip', 'netns', 'delete', name]);
      });
      sh(['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
      cleanups.push(() => sh(['ip', 'link', 'delete', host]));
      sh(['ip', 'link', 'set', peer, 'netns', name]);
      sh(['ip', 'addr', 'add', `${box.hostAddress}/30`, 'dev', host]);
      sh(['ip', 'link', 'set', host, 'up']);
      sh(['ip', 'netns', 'exec', name, 'sh', '-c', `ip addr add ${box.boxAddress}/30 dev ${peer} && ip link set ${peer} up && ip link set lo up`]);
      boxes.push(box);
    }
    const hostKey = join(dir, 'host_key');
    const identityFile = join(dir, 'client_key');
    sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', identityFile]);
    const authorizedKeys = join(dir, 'authorized_keys');
    writeFileSync(authorizedKeys, readFileSync(`${identityFile}.pub`));
    mkdirSync('/run/sshd', { recursive: true });
    const sshPort = 2222;
    const script = join(dir, 'box.sh');
    writeFileSync(script, controlScript(dir, sshPort, hostKey, authorizedKeys, Object.fromEntries(boxes.map((b) => [b.name, b.boxAddress]))));
    chmodSync(script, 0o755);
    return {
      boxes, sshPort, identityFile, knownHosts: join(dir, 'known_hosts'),
      profileKeys: () => ({
        type: 'command', instances: boxes.map((b) => b.name).join(','), user: 'root', port: sshPort, identity_file: identityFile,
        start_command: `${script} start "$1"`, stop_command: `${script} stop "$1"`, status_command: `${script} status "$1"`,
      }),
      starts: () => { try { return readFileSync(join(dir, 'starts.log'), 'utf8').split('\n').filter(Boolean); } catch { return []; } },
      preempt(name) {
        for (const pid of sh(['ip', 'netns', 'pids', name]).split('\n').filter(Boolean)) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
        writeFileSync(join(dir, `${name}.state`), 'PREEMPTED\n');
      },
      failNextStart(name, message) {
        writeFileSync(join(dir, `${name}.fail`), message);
      },
      destroy,
    };
  } catch (err) {
    destroy();
    throw err;
  }
}
