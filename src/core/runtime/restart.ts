/**
 * Restart decisions of a hosted agent (spec §4.1, §4.5). Pure: the host records what these
 * return.
 */
import type { AgentType, JobType } from '../manifest/types.js';
import { attemptDecision, recordAttempt, type AttemptRecord, type RestartPolicy } from '../policy/lifecycle.js';

export type RestartVerdict =
  /** Run again at `at`: the attempt is recorded in `history` and counts as a restart. */
  | { kind: 'restart'; at: number; attempt: number; delay_ms: number; history: AttemptRecord[] }
  /** `delay` mode: the policy is exhausted for now; run again once the window allows, at `at` (not a restart). */
  | { kind: 'defer'; at: number }
  /** No more attempts: the agent fails for good. */
  | { kind: 'exhausted'; reason: string };

/** The restart policy's answer for an agent whose run ended with `reason`. */
export function restartVerdict(policy: RestartPolicy, history: readonly AttemptRecord[], reason: string, now: number): RestartVerdict {
  const verdict = attemptDecision('restart', policy, history, now);
  if (verdict.decision === 'allowed') {
    return { kind: 'restart', at: now + verdict.delay_ms, attempt: verdict.attempt, delay_ms: verdict.delay_ms, history: recordAttempt(history, { action: 'restart', reason, at: now }) };
  }
  if (policy.enabled && policy.mode === 'delay') return { kind: 'defer', at: verdict.wait_until ?? now + policy.interval_ms };
  return { kind: 'exhausted', reason: verdict.reason };
}

/**
 * Whether a finished run restarts the agent although it succeeded: service and system jobs keep
 * their executors running, so the process an executor started for its `init` message is started
 * again when it exits.
 */
export function restartsWhenDone(jobType: JobType, agentType: AgentType, messageType: string): boolean {
  return (jobType === 'service' || jobType === 'system') && agentType === 'executor' && messageType === 'init';
}
