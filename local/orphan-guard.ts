import { spawn } from 'node:child_process';

/** A watcher process that kills a child once this process is gone. */
export interface OrphanGuard {
  /** Stops watching (the child was stopped the normal way). */
  stop(): void;
}

// Runs in its own small Node process: kills the child once the parent is gone — the watcher is then re-parented, so
// its ppid changes even while the dead parent is not yet reaped or its pid is reused — and exits when either is gone.
const WATCHER = `
const [parent, child] = process.argv.slice(1).map(Number);
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
setInterval(() => {
  if (!alive(child)) process.exit(0);
  if (process.ppid !== parent || !alive(parent)) { try { process.kill(child, 'SIGKILL'); } catch {} process.exit(0); }
}, 500);
`;

/**
 * Makes sure `childPid` does not outlive this process even when this process is killed with SIGKILL (which runs no
 * exit handler): a detached watcher kills the child within about half a second of this process going away.
 */
export function guardAgainstOrphan(childPid: number): OrphanGuard {
  const watcher = spawn(process.execPath, ['-e', WATCHER, String(process.pid), String(childPid)], {
    stdio: 'ignore',
    detached: true,
    windowsHide: true,
  });
  // Without a watcher the child is only stopped the normal way; that is no reason to crash the parent.
  watcher.on('error', () => {});
  watcher.unref();
  return {
    stop: () => {
      watcher.kill('SIGKILL');
    },
  };
}
