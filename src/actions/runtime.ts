import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import type { SecretBox } from '../tenant/secrets.ts';
import { ActionSandbox, noEffects, type Outcome, type RunOptions, type SandboxAction } from './sandbox.ts';
import { ExecutionRecorder, noteExecutions } from './executions.ts';

/** The function each trigger calls in an action's module. */
const HANDLERS: Record<string, string> = {
  'post-login': 'onExecutePostLogin', 'credentials-exchange': 'onExecuteCredentialsExchange',
  'pre-user-registration': 'onExecutePreUserRegistration', 'post-user-registration': 'onExecutePostUserRegistration',
  'post-change-password': 'onExecutePostChangePassword', 'send-phone-message': 'onExecuteSendPhoneMessage',
  'password-reset-post-challenge': 'onExecutePostChallenge', 'custom-phone-provider': 'onExecuteCustomPhoneProvider',
  'custom-email-provider': 'onExecuteCustomEmailProvider', 'custom-token-exchange': 'onExecuteCustomTokenExchange',
};

/** The function that resumes an action after its redirect, per trigger that can redirect. */
const RESUME_HANDLERS: Record<string, string> = { 'post-login': 'onContinuePostLogin' };

/** Why a run ends its transaction: the message of the action that failed, or undefined. */
export const failureOf = (out: Outcome): string | undefined => out.results.find((r) => r.error)?.error!.msg;

// The actions a trigger runs: its bindings, in order, each as its action's
// deployed version. Read on every login and token, so kept a few seconds per
// trigger like clients and APIs; writes in this process drop the cache at once.

export interface Binding { id: string; action_id: string; display_name: string; created_at: string; updated_at: string }
export const bindingsDoc = (triggerId: string) => `actions:bindings:${triggerId}`;
export const readBindings = async (store: Store, triggerId: string) =>
  (await store.getTenantDoc<{ bindings: Binding[] }>(bindingsDoc(triggerId)))?.bindings ?? [];

/** The deployed version an action document names, if any. */
export const deployedVersion = (d: any) => d.versions?.find((v: any) => v.id === d.deployed_version_id);

export class ActionsRuntime {
  private bound = new Map<string, { at: number; value: Promise<SandboxAction[]> }>();
  private sandbox: ActionSandbox;
  readonly executions: ExecutionRecorder;
  constructor(private store: Store, private box: SecretBox, log: Logger, readonly enabled: boolean, timeoutMs: number, private ttlMs = 5000) {
    this.sandbox = new ActionSandbox(timeoutMs);
    this.executions = new ExecutionRecorder(store, log);
  }

  /** What the trigger runs now: none when actions are turned off. */
  async forTrigger(triggerId: string): Promise<SandboxAction[]> {
    if (!this.enabled) return [];
    const hit = this.bound.get(triggerId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.load(triggerId);
    this.bound.set(triggerId, { at: Date.now(), value });
    value.catch(() => this.bound.delete(triggerId));
    return value;
  }

  private async load(triggerId: string): Promise<SandboxAction[]> {
    const bindings = await readBindings(this.store, triggerId);
    if (!bindings.length) return [];
    const docs = new Map((await this.store.actions.getMany(bindings.map((b) => b.action_id))).map((d) => [d.id, d]));
    const out: SandboxAction[] = [];
    for (const b of bindings) {
      const doc = docs.get(b.action_id);
      const v = doc && deployedVersion(doc.data);
      if (!v) continue;
      out.push(this.sandboxAction(doc!.id, b.display_name || doc!.data.name, v));
    }
    return out;
  }

  /** An action's code and opened secrets, as the sandbox takes them. */
  sandboxAction(id: string, name: string, source: { code?: string; secrets?: Record<string, string> }): SandboxAction {
    const secrets = Object.fromEntries(Object.entries(source.secrets ?? {}).map(([k, v]) => [k, this.box.open(v)]));
    return { id, name, code: source.code ?? '', secrets };
  }

  /** Runs the actions once, unrecorded (the test endpoint); rejects when the sandbox itself fails. */
  run(triggerId: string, actions: SandboxAction[], event: unknown, opts: RunOptions = {}): Promise<Outcome> {
    return this.sandbox.run(triggerId, HANDLERS[triggerId], actions, event, opts);
  }

  /**
   * Runs a trigger's actions for a flow: a sandbox failure (a timeout) becomes
   * the run's error, and the run is recorded as an execution that the request
   * `ctx`, when given, remembers for its log events.
   */
  async execute(
    triggerId: string, actions: SandboxAction[], event: unknown, ctx?: { state: Record<PropertyKey, any> },
    opts: { resuming?: boolean; redirect?: RunOptions['redirect'] } = {},
  ): Promise<Outcome & { executionId: string }> {
    const started_at = new Date().toISOString();
    let out: Outcome;
    try {
      out = await this.run(triggerId, actions, event, { redirect: opts.redirect, ...(opts.resuming ? { resumeWith: RESUME_HANDLERS[triggerId] } : {}) });
    } catch (e) {
      // Which action the sandbox was in when it failed is unknown unless there was one.
      const error = { id: 'actions_execution_error', msg: (e as Error).message };
      out = { results: [{ ...(actions.length === 1 ? { action_name: actions[0].name } : {}), started_at, ended_at: new Date().toISOString(), error, logs: [] }], effects: noEffects() };
    }
    const executionId = await this.executions.record(triggerId, out.results, out.effects.redirect ? 'suspended' : 'final');
    if (ctx) noteExecutions(ctx, [executionId]);
    return { ...out, executionId };
  }

  clear() { this.bound.clear(); }
  close() { this.sandbox.stop(); }
}
