import { type ApiError, type Batch, type CommandName, type Commands, type Reply, type TargetRequest, validateCommand } from '../../shared/api';
import { Coalescer } from './coalescer';
import type { Engine } from './engine';
import { PoolscopeError, messageOf, redactUrls } from './errors';
import { LoadDriver } from './load/load-driver';

type Handlers = { [K in CommandName]: (req: Commands[K]['req']) => Promise<Commands[K]['res']> };

/**
 * The engine behind the typed API. Both hosts (Electron IPC, the browser host's
 * WebSocket) hand every incoming command to `handle`, which validates it before it
 * reaches the engine, and subscribe their client through `subscribe`.
 */
export class PoolscopeService {
  readonly engine: Engine;
  readonly #load: LoadDriver;
  readonly #handlers: Handlers;

  constructor(engine: Engine) {
    this.engine = engine;
    this.#load = new LoadDriver(engine.log, () => engine.pool);
    this.#handlers = {
      'snapshot.get': async () => engine.snapshot(),
      'target.connect': async (req: TargetRequest) => {
        const target = req.kind === 'embedded' ? undefined : req.kind === 'url' ? req.url : req.fields;
        await engine.connect(target, req.settings);
        return engine.pool.target;
      },
      'load.start': (spec) => this.#load.start(spec),
      'load.stop': () => this.#load.stop(),
    };
  }

  async handle(cmd: unknown, req: unknown): Promise<Reply<unknown>> {
    const v = validateCommand(cmd, req);
    if (!v.ok) return v;
    try {
      const handler = this.#handlers[v.cmd] as (req: unknown) => Promise<unknown>;
      return { ok: true, res: (await handler(v.req)) ?? null };
    } catch (err) {
      return { ok: false, error: toApiError(err) };
    }
  }

  /** Sends the client batches of events from now on; `send` returns false when it could not deliver. */
  subscribe(send: (batch: Batch) => boolean): () => void {
    const c = new Coalescer(this.engine.log, this.engine.clock, send);
    return () => c.stop();
  }

  async stop(): Promise<void> {
    await this.#load.stop();
    await this.engine.stop();
  }
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof PoolscopeError) return { code: err.code, message: err.message };
  return { code: 'internal', message: redactUrls(messageOf(err)) };
}
