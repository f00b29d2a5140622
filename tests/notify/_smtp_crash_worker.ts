/**
 * A job worker process for the SMTP crash test: sends notification deliveries over SMTP, and
 * is killed by the test (SIGKILL) while its first message is being accepted.
 * Usage: deno run -A tests/notify/_smtp_crash_worker.ts <database-url> <smtp-url>
 */
import postgres from "postgres";
import { defaultHandlers, startWorker } from "../../edge/jobs/mod.ts";
import { smtpTransport } from "../../edge/notify/smtp.ts";
import { emailConfig } from "../support/smtp.ts";

const [url, smtpUrl] = Deno.args;
const sql = postgres(url, { max: 4, onnotice: () => {} });
startWorker({
  sql,
  handlers: defaultHandlers({
    transports: { email: smtpTransport(emailConfig({ url: smtpUrl })) },
  }),
  schedules: [],
  pollMs: 50,
  log: () => {},
});
