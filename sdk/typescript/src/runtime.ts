// What differs between Node, browsers and Workers, in one place: timers that must not keep a
// Node process alive, the exit hook, and whether a background timer may run at all.

interface NodeTimer {
  unref?: () => void;
}

interface NodeProcess {
  on?: (event: string, listener: () => void) => unknown;
  versions?: { node?: string };
}

/** A timer that does not keep a Node process alive (a no-op elsewhere). */
export function backgroundTimeout(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(fn, ms);
  (timer as unknown as NodeTimer).unref?.();
  return timer;
}

/** Cloudflare Workers: no I/O outside a request, so no background timer by default. */
export function isWorkers(): boolean {
  const nav = (globalThis as { navigator?: { userAgent?: string } }).navigator;
  return nav?.userAgent === 'Cloudflare-Workers';
}

function nodeProcess(): NodeProcess | undefined {
  const proc = (globalThis as { process?: NodeProcess }).process;
  return proc?.versions?.node && typeof proc.on === 'function' ? proc : undefined;
}

export function isNode(): boolean {
  return nodeProcess() !== undefined && !isWorkers();
}

/** Something with work to finish when Node's event loop runs dry. */
export interface ExitFlushable {
  flushAtExit(): void;
}

const exitClients = new Set<{ deref(): ExitFlushable | undefined }>();
let exitHookInstalled = false;

/**
 * Calls `client.flushAtExit()` on Node's `beforeExit` (the loop ran dry: a script ending without
 * `close()`). Holds the client weakly, so an abandoned client can still be collected.
 */
export function registerExitFlush(client: ExitFlushable): () => void {
  const proc = nodeProcess();
  if (!proc || isWorkers() || typeof WeakRef === 'undefined') return () => undefined;
  const ref = new WeakRef(client);
  exitClients.add(ref);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    proc.on?.('beforeExit', () => {
      for (const r of exitClients) {
        const c = r.deref();
        if (c) c.flushAtExit();
        else exitClients.delete(r);
      }
    });
  }
  return () => {
    exitClients.delete(ref);
  };
}
