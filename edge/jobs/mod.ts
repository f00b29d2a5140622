/** The job worker's public surface (see worker.ts). */
export { backoffDelay, LeaseLostError, PermanentJobError, startWorker } from "./worker.ts";
export type {
  Backoff,
  Handlers,
  Job,
  JobContext,
  JobHandler,
  Schedule,
  Worker,
  WorkerOptions,
  WorkerStats,
} from "./worker.ts";
export {
  defaultHandlers,
  defaultSchedules,
  serviceHandlers,
  serviceSchedules,
} from "./handlers.ts";
export { enqueue, type EnqueueOptions } from "./enqueue.ts";
