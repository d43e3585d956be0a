import type * as grpc from '@grpc/grpc-js';
import { MnError } from '../core/errors.js';
import type { StoredEvent } from '../store/store.js';
import { toGrpcError } from './status-map.js';
import { unary } from './handler.js';
import type { ApiContext } from './job-service.js';

interface StreamRequest {
  job_id: string;
  follow: boolean;
  heartbeat_interval_ms: number;
  after_id: string;
}

/** `mirrorneuron.observability.v1.ObservabilityService` handlers. */
export function observabilityServiceHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const { store } = ctx;
  const started = Date.now();
  return {
    StreamEvents: (call: grpc.ServerWritableStream<StreamRequest, { event_json: string }>) => {
      const req = call.request;
      const jobId = req.job_id ? req.job_id : null;
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort());
      call.on('close', () => controller.abort());
      const send = (event: StoredEvent | Record<string, unknown>): void => {
        if (!controller.signal.aborted) call.write({ event_json: JSON.stringify(event) });
      };
      let heartbeat: NodeJS.Timeout | undefined;
      const run = async (): Promise<void> => {
        if (jobId !== null && !(await store.getJob(jobId))) {
          call.emit('error', toGrpcError(new MnError('MN_E_NOT_FOUND', `job ${jobId} not found`, { details: { job_id: jobId } })));
          return;
        }
        if (!req.follow) {
          let after: string | undefined = req.after_id || undefined;
          for (;;) {
            const page = await store.readEvents(jobId, { ...(after ? { afterId: after } : {}), limit: 1000 });
            page.forEach(send);
            if (page.length < 1000) break;
            after = page[page.length - 1]!.id;
          }
          call.end();
          return;
        }
        if (req.heartbeat_interval_ms > 0) {
          heartbeat = setInterval(() => send({ type: 'heartbeat', timestamp: Date.now() }), Math.max(100, req.heartbeat_interval_ms));
        }
        for await (const event of store.followEvents(jobId, { ...(req.after_id ? { afterId: req.after_id } : {}), signal: controller.signal })) {
          send(event);
        }
        call.end();
      };
      run()
        .catch((error: unknown) => {
          if (controller.signal.aborted) return;
          const mapped = toGrpcError(error);
          if (mapped.internal) ctx.onInternal?.('StreamEvents', error);
          call.emit('error', mapped);
        })
        .finally(() => {
          if (heartbeat) clearInterval(heartbeat);
        });
    },
    GetMetrics: unary<object, { metrics_json: string }>('GetMetrics', async () => {
      const [jobs, nodes] = await Promise.all([store.listJobs(), store.listNodes()]);
      const memory = process.memoryUsage();
      return {
        metrics_json: JSON.stringify({
          node: ctx.nodeName,
          uptime_ms: Date.now() - started,
          rss_bytes: memory.rss,
          heap_used_bytes: memory.heapUsed,
          jobs: jobs.length,
          nodes: nodes.length,
          nodes_alive: nodes.filter((n) => n.alive).length,
          ...(ctx.services.monitor ? { service_checks: ctx.services.monitor.metrics() } : {}),
        }),
      };
    }, ctx.onInternal),
  };
}
