/**
 * The warm pool part of `mirrorneuron.cluster.v1.ClusterService`: `ListWarmPools`, a read (no
 * token needed), answered from what each machine's daemon reports (`store.warmPools`) joined
 * with whether that machine is alive.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Store } from '../store/store.js';
import type { WarmPoolState } from '../store/warm-pools.js';
import { jsonMethods } from './handler.js';
import type { ApiContext } from './job-service.js';

/** One pool on one machine as clients see it. */
export type WarmPoolView = WarmPoolState & { alive: boolean };

/** The pools of the cluster, filtered by pool and machine when given. */
export async function listWarmPools(store: Store, filter: { pool?: string; node?: string } = {}): Promise<WarmPoolView[]> {
  const [records, nodes] = await Promise.all([store.warmPools.list(), store.listNodes()]);
  const alive = new Map(nodes.map((n) => [n.name, n.alive]));
  return records
    .filter((r) => (!filter.pool || r.pool === filter.pool) && (!filter.node || r.node === filter.node))
    .map((r) => ({ ...r, alive: alive.get(r.node) ?? false }));
}

export function warmPoolHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const { reading } = jsonMethods(ctx);
  return {
    ListWarmPools: reading<{ pool?: string; node?: string }>('ListWarmPools', async (req) => {
      const pool = req.pool?.trim() ?? '';
      const node = req.node?.trim() ?? '';
      return listWarmPools(ctx.store, { ...(pool ? { pool } : {}), ...(node ? { node } : {}) });
    }),
  };
}
