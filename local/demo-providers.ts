import { type FakeBehaviour, FakeProvider } from './fake-provider';

/** The built-in demo providers: a flaky primary and a healthy backup. */
export interface DemoProviders {
  primary: FakeProvider;
  backup: FakeProvider;
  /** Environment for the demo config's `${DEMO_PRIMARY_URL}` / `${DEMO_BACKUP_URL}`. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Down for the first 20 s of every minute (503 overloaded), otherwise 10 % of requests fail with 500. */
export function flakyBehaviour(now: number, random: () => number = Math.random): FakeBehaviour {
  if (new Date(now).getSeconds() < 20) {
    return {
      kind: 'status',
      status: 503,
      body: JSON.stringify({
        error: { message: 'The demo primary is overloaded', type: 'server_error', code: 'overloaded' },
      }),
    };
  }
  return random() < 0.1 ? { kind: 'status', status: 500 } : { kind: 'ok', delayMs: 40 };
}

/** Starts the demo providers on free loopback ports. */
export async function startDemoProviders(): Promise<DemoProviders> {
  const primary = await FakeProvider.start('demo-primary', (hit) => flakyBehaviour(hit.at));
  const backup = await FakeProvider.start('demo-backup', { kind: 'ok', delayMs: 60 });
  return {
    primary,
    backup,
    env: { DEMO_PRIMARY_URL: `${primary.url}/v1`, DEMO_BACKUP_URL: `${backup.url}/v1` },
    close: async () => {
      await Promise.all([primary.close(), backup.close()]);
    },
  };
}
