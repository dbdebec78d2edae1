import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Runs action code outside the server process. The child (sandbox-child.cjs)
// starts under Node's permission model, reading only its own folder, with no
// environment: it cannot read the data directory or the master key, write
// files, or start processes. It can reach the network, as Auth0's actions can.
// One child per server process, started on first use; a run that overstays
// kills it (and fails whatever else it was running), the next run starts another.

const START_TIMEOUT_MS = 10_000;
const KILL_GRACE_MS = 500;
// Node 20 names the permission model experimental; later versions renamed the flag.
const PERMISSION_FLAG = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'sandbox-child.cjs');

export interface SandboxAction { id: string; name: string; code: string; secrets: Record<string, string> }
/** How a run starts: the first action's resume handler (after a redirect), and what the redirect API may do. */
export interface RunOptions { resumeWith?: string; redirect?: { can: boolean; state?: string } }
export interface ActionResult { action_name?: string; started_at: string; ended_at: string; error?: { id: string; msg: string }; logs: string[] }
export interface ActionEffects {
  /** The reason (for the log), an error code, and what the person may be shown. */
  deny?: string; denyCode?: string; denyMessage?: string;
  idToken: Record<string, unknown>; accessToken: Record<string, unknown>;
  addScopes: string[]; removeScopes: string[];
  appMetadata: Record<string, unknown>; userMetadata: Record<string, unknown>;
  warnings: string[];
  /** Where api.redirect.sendUserTo sends the browser; the run is suspended until it comes back to /continue. */
  redirect?: { url: string; query: Record<string, string> };
  /** What api.multifactor.enable asked of this login. */
  multifactor?: { provider: string; allowRememberBrowser?: boolean };
  /** The user a custom token exchange is for: by id, or by a connection's user id and profile. */
  user?: { id: string } | { connection: string; attributes: Record<string, any>; options: { creationBehavior?: string; updateBehavior?: string } };
  /** What api.samlResponse set: addon settings to override, and attributes to add (null removes one). */
  samlResponse?: { settings: Record<string, unknown>; attributes: Record<string, unknown> };
}
export interface Outcome { results: ActionResult[]; effects: ActionEffects }
/** What a run that did nothing changed. */
export const noEffects = (): ActionEffects => ({ idToken: {}, accessToken: {}, addScopes: [], removeScopes: [], appMetadata: {}, userMetadata: {}, warnings: [] });

interface Pending { resolve(o: Outcome): void; reject(e: Error): void; timer: NodeJS.Timeout }

export class ActionTimeout extends Error {}

export class ActionSandbox {
  private child?: ChildProcess;
  private ready?: Promise<ChildProcess>;
  private pending = new Map<number, Pending>();
  private seq = 0;
  constructor(private timeoutMs: number) {}

  /** Runs the actions in order with one event; rejects only when the sandbox itself fails. */
  async run(trigger: string, handler: string, actions: SandboxAction[], event: unknown, opts: RunOptions = {}): Promise<Outcome> {
    const child = await this.start();
    const id = ++this.seq;
    return new Promise<Outcome>((resolve, reject) => {
      // The child stops a synchronous loop itself at timeoutMs; this catches what it cannot (a loop after an await).
      const timer = setTimeout(() => this.stop(new ActionTimeout(`Script execution time exceeded (${this.timeoutMs} ms)`)), this.timeoutMs + KILL_GRACE_MS);
      this.pending.set(id, { resolve, reject, timer });
      child.send({ id, trigger, handler, ...opts, actions, event, timeoutMs: this.timeoutMs }, (err) => { if (err) this.settle(id, err); });
    });
  }

  private start(): Promise<ChildProcess> {
    if (this.ready) return this.ready;
    const child = fork(CHILD, [], {
      execArgv: [PERMISSION_FLAG, `--allow-fs-read=${dirname(CHILD)}`, '--max-old-space-size=256', '--no-warnings'],
      env: {},
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    this.ready = new Promise((resolve, reject) => {
      // Also what keeps the event loop alive until the child answers (its channel is unreferenced).
      const timer = setTimeout(() => { reject(new Error('the actions sandbox did not start')); this.stop(); }, START_TIMEOUT_MS);
      const early = (e: Error) => { clearTimeout(timer); reject(e); };
      child.once('error', early);
      child.once('message', () => { clearTimeout(timer); child.off('error', early); resolve(child); });
      child.once('exit', () => early(new Error('the actions sandbox exited while starting')));
    });
    this.ready.catch(() => {});
    child.on('message', (m: any) => {
      if (typeof m?.id !== 'number') return;
      if (m.failed) this.settle(m.id, new Error(m.failed));
      else this.settle(m.id, undefined, { results: m.results, effects: m.effects });
    });
    child.on('exit', () => {
      if (this.child !== child) return;
      this.child = undefined;
      this.ready = undefined;
      this.failAll(new Error('the actions sandbox stopped'));
    });
    // The server must not wait on the sandbox to exit.
    child.unref();
    (child as any).channel?.unref?.();
    return this.ready;
  }

  private settle(id: number, err?: Error, out?: Outcome) {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (err) p.reject(err); else p.resolve(out!);
  }

  private failAll(err: Error) {
    for (const id of [...this.pending.keys()]) this.settle(id, err);
  }

  /** Kills the child (a run overstayed, or the server is closing); runs in flight fail with `err`. */
  stop(err: Error = new Error('the actions sandbox was stopped')) {
    const child = this.child;
    this.child = undefined;
    this.ready = undefined;
    this.failAll(err);
    child?.kill('SIGKILL');
  }
}
