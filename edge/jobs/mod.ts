/** The job worker's public surface (see worker.ts, job.ts, handlers.ts, service.ts). */
export { backoffDelay, startWorker } from "./worker.ts";
export type { Backoff, Worker, WorkerOptions, WorkerStats } from "./worker.ts";
export {
  countField,
  LeaseLostError,
  PermanentJobError,
  RetryLaterError,
  uuidField,
} from "./job.ts";
export type { Handlers, Job, JobContext, JobHandler, Schedule } from "./job.ts";
export {
  defaultHandlers,
  defaultSchedules,
  serviceHandlers,
  serviceSchedules,
} from "./handlers.ts";
export { enqueue, type EnqueueOptions } from "./enqueue.ts";
export { startServiceWorker } from "./service.ts";
