/** A state as an icon and its word: never by colour alone. */
const ICONS: Record<string, string> = {
  RUNNING: '●', ready: '●', completed: '✔', active: '▶',
  STARTING: '◐', SUBMITTED: '◌', starting: '◐', queued: '◌',
  STOPPED: '■', cancelled: '■', exited: '■', SLEEPING: '☾', PREEMPTED: '↻',
  FAILED: '✖', TIMEOUT: '⏱', failed: '✖',
};
const TONE: Record<string, string> = {
  RUNNING: 'ok', ready: 'ok', completed: 'ok', active: 'busy',
  STARTING: 'busy', SUBMITTED: 'busy', starting: 'busy', queued: 'busy',
  STOPPED: 'idle', cancelled: 'idle', exited: 'idle', SLEEPING: 'idle', PREEMPTED: 'busy',
  FAILED: 'bad', TIMEOUT: 'bad', failed: 'bad',
};

export function Status({ state }: { state: string }) {
  return (
    <span class={`status status-${TONE[state] ?? 'idle'}`}>
      <span aria-hidden="true">{ICONS[state] ?? '○'}</span> {state}
    </span>
  );
}
