/**
 * What a host does with an entry it read from its machine's inbox (spec §2.3). Pure: the host
 * passes what it knows of the entry's job and acts on the answer.
 */

/** The fields of an inbox entry that the decision reads (the store's `InboxEntry` has these and more). */
export interface InboxEntryHead {
  job_id: string;
  agent_id: string;
  not_before: number;
}

/** What a host knows of one job when an entry of it arrives. */
export interface HostedJobView {
  /** Current node of an agent of the job, or undefined for an id that is not an agent of it. */
  nodeOf(agentId: string): string | undefined;
  /** True when this host runs the agent now. */
  hosts(agentId: string): boolean;
  /** Epoch ms at which the view was read. */
  loadedAt: number;
}

/** How old a view may be before an entry for an agent it places elsewhere makes the host read the job again. */
export const VIEW_RECHECK_MS = 1000;

export type EntryDecision =
  /** The job ended or is not one this host knows: acknowledge and drop the entry. */
  | { action: 'drop' }
  /** The target is not an agent of the job: the message can never be delivered. */
  | { action: 'dead_letter'; reason: string }
  /** The agent runs on another machine: queue the entry on that machine's inbox. */
  | { action: 'forward'; node: string }
  /** The agent is placed here but not hosted yet: leave the entry pending; it is read again after the ack timeout. */
  | { action: 'hold' }
  /** Handle it no earlier than `until` (timers, retry backoff). */
  | { action: 'wait'; until: number }
  /** Hand it to the agent's mailbox now. */
  | { action: 'enqueue' };

/**
 * Whether the host should read the job again before deciding: it has no view of the job, or its
 * view places the agent elsewhere and is older than {@link VIEW_RECHECK_MS} (the agent may have
 * just moved here, and its messages must not bounce).
 */
export function needsFreshView(entry: InboxEntryHead, view: HostedJobView | null, here: string, now: number): boolean {
  if (view === null) return true;
  return view.nodeOf(entry.agent_id) !== here && now - view.loadedAt > VIEW_RECHECK_MS;
}

/** The decision for an entry, given the (fresh enough) view of its job; null view: the job is not hosted. */
export function decideEntry(entry: InboxEntryHead, view: HostedJobView | null, here: string, now: number): EntryDecision {
  if (view === null) return { action: 'drop' };
  const node = view.nodeOf(entry.agent_id);
  if (node === undefined) return { action: 'dead_letter', reason: `agent ${entry.agent_id} is not an agent of job ${entry.job_id}` };
  if (node !== here) return { action: 'forward', node };
  if (!view.hosts(entry.agent_id)) return { action: 'hold' };
  if (entry.not_before > now) return { action: 'wait', until: entry.not_before };
  return { action: 'enqueue' };
}
