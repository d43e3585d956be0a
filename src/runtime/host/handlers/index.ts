/** The handler of every agent type (spec §2.4). */
import type { AgentType } from '../../../core/manifest/types.js';
import type { ModuleRunner } from '../../exec/module-runner.js';
import { aggregatorHandler } from './aggregator.js';
import { executorHandler, type ExecutorHandlerOptions } from './executor.js';
import type { AgentHandler } from './handler.js';
import { moduleHandler } from './module.js';
import { routerHandler } from './router.js';
import { sensorHandler } from './sensor.js';

export type { AgentHandler, HandlerContext, Outcome } from './handler.js';

export interface HandlerDeps extends ExecutorHandlerOptions {
  modules: ModuleRunner;
}

export function createHandlers(deps: HandlerDeps): Readonly<Record<AgentType, AgentHandler>> {
  return {
    router: routerHandler,
    aggregator: aggregatorHandler(deps.store),
    sensor: sensorHandler,
    module: moduleHandler(deps.modules, deps.home),
    executor: executorHandler(deps),
  };
}
