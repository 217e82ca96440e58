import type { Reply } from '../../shared/api';
import { type AttachServer, startAttachServer } from '../engine/attach/attach-server';
import { Engine } from '../engine/engine';
import { messageOf } from '../engine/errors';
import { SavedTargets } from '../engine/saved-targets';
import { PoolscopeService, toApiError } from '../engine/service';
import { safeStorageBox } from './safe-storage-box';

type Phase = 'starting' | 'started' | 'failed' | 'stopping';

/**
 * The engine service as the Electron shell runs it: started at app ready while the window
 * loads, so a request can arrive before the engine is up.
 *
 * - While it starts, `snapshot.get` is answered (the snapshot shows the embedded database's
 *   progress, and later `targetError` if it fails); every other command gets the retryable
 *   error `starting`, so nothing races the start (a second `target.connect`, load on no pool).
 * - If the start fails, the service keeps answering: the snapshot carries the reason and
 *   `target.connect` can try another target. The engine is reusable after a failed start.
 * - `stop()` waits for the start to settle, then stops the service, once.
 */
export class EngineHost {
  readonly service: PoolscopeService;
  readonly #started: Promise<void>;
  /** The receiver for apps under `poolscope attach` (null when it could not listen). */
  readonly #agents: Promise<AttachServer | null>;
  #phase: Phase = 'starting';
  #stopped: Promise<void> | null = null;

  /** `knownHostsFile`: the SSH host keys accepted in the app (never the user's ~/.ssh/known_hosts). */
  constructor(target: string | undefined, savedTargetsFile: string, knownHostsFile: string) {
    const engine = new Engine({ target, knownHosts: { ownFile: knownHostsFile } });
    this.service = new PoolscopeService(engine, { saved: new SavedTargets(savedTargetsFile, safeStorageBox) });
    engine.log.subscribe(
      (ev) => {
        if (ev.type === 'embedded.progressed') console.log(`poolscope: embedded PostgreSQL ${ev.phase}: ${ev.message}`);
      },
      { summaries: true },
    );
    // As the browser host does: agents find this app through the attach file.
    this.#agents = startAttachServer({ log: engine.log, clock: engine.clock, newPoolId: () => engine.newPoolId() }).catch((err: unknown) => {
      console.error(`poolscope: apps cannot attach to this window: ${messageOf(err)}`);
      return null;
    });
    this.#started = engine.start().then(
      () => {
        if (this.#phase === 'starting') this.#phase = 'started';
        const pool = engine.pool;
        console.log(`poolscope: connected to ${pool.target.display}, pool max ${pool.settings.max}.`);
      },
      (err: unknown) => {
        if (this.#phase === 'starting') this.#phase = 'failed';
        // Engine errors are scrubbed (no password); the window shows the same text (targetError).
        console.error(`poolscope: could not start: ${messageOf(err)}`);
      },
    );
  }

  /** Like PoolscopeService.handle (validates, never throws), gated on the start. */
  async handle(cmd: unknown, req: unknown): Promise<Reply<unknown>> {
    if (this.#phase === 'stopping') {
      return { ok: false, error: { code: 'stopping', message: 'Poolscope is shutting down.' } };
    }
    if (this.#phase === 'starting' && cmd !== 'snapshot.get') {
      return {
        ok: false,
        error: { code: 'starting', message: 'Poolscope is still connecting to its database (the first start of the embedded PostgreSQL takes a few seconds). Try again shortly.' },
      };
    }
    try {
      return await this.service.handle(cmd, req);
    } catch (err) {
      // handle() promises not to throw; if it ever does, the renderer still gets a Reply.
      return { ok: false, error: toApiError(err) };
    }
  }

  /** Waits for the start to settle, then stops load, pool and embedded database. Once. */
  stop(): Promise<void> {
    this.#phase = 'stopping';
    this.#stopped ??= this.#started.then(async () => {
      await (await this.#agents)?.close();
      await this.service.stop();
    });
    return this.#stopped;
  }
}
