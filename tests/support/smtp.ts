/**
 * A real SMTP server on 127.0.0.1 (npm smtp-server) for the e-mail tests: it keeps every
 * message it accepts, parsed by mailparser, and can refuse recipients with a given reply.
 */
import { SMTPServer } from "smtp-server";
import { type ParsedMail, simpleParser } from "mailparser";
import type { EmailConfig } from "../../edge/config.ts";
import { defaultHandlers, startWorker } from "../../edge/jobs/mod.ts";
import type { Transports } from "../../edge/notify/transport.ts";
import type { Sql } from "./db.ts";

export interface ReceivedMail {
  envelopeTo: string[];
  raw: string;
  parsed: ParsedMail;
  /** A header's value as sent (unfolded), by lower-case name. */
  header(name: string): string | undefined;
}

export interface SmtpOptions {
  /** A reply refusing `RCPT TO` (e.g. `[550, "5.1.1 No such user"]`), or null to accept. */
  refuse?: (address: string) => [number, string] | null;
  /** Runs before the server answers a message's DATA with 250 (the message is kept). */
  beforeAccept?: (mail: ReceivedMail) => Promise<void> | void;
  /** TLS from the first byte (`smtps://`) with this key and certificate. */
  tls?: { key: string; cert: string };
}

export interface TestSmtpServer extends AsyncDisposable {
  port: number;
  url: string;
  mails: ReceivedMail[];
  /** Waits (at most 20 s) until `count` mails have arrived. */
  received(count: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

function unfoldedHeader(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, " ");
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim();
}

export async function startSmtpServer(options: SmtpOptions = {}): Promise<TestSmtpServer> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    ...(options.tls ? { secure: true, ...options.tls } : {}),
    logger: false,
    onRcptTo(address, _session, callback) {
      const refusal = options.refuse?.(address.address);
      if (!refusal) return callback();
      const error = Object.assign(new Error(refusal[1]), { responseCode: refusal[0] });
      callback(error);
    },
    onData(stream, session, callback) {
      let raw = "";
      const decoder = new TextDecoder();
      stream.on("data", (chunk: Uint8Array) => raw += decoder.decode(chunk, { stream: true }));
      stream.on("end", async () => {
        raw += decoder.decode();
        const mail: ReceivedMail = {
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          raw,
          parsed: await simpleParser(raw),
          header: (name) => unfoldedHeader(raw, name.toLowerCase()),
        };
        mails.push(mail);
        await options.beforeAccept?.(mail);
        callback();
      });
    },
  });
  // A client hanging up mid-handshake (an untrusted certificate) is the client's failure.
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    port,
    url: `${options.tls ? "smtps" : "smtp"}://127.0.0.1:${port}`,
    mails,
    async received(count) {
      const deadline = Date.now() + 20_000;
      while (mails.length < count) {
        if (Date.now() > deadline) throw new Error(`${mails.length} of ${count} mails arrived`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return mails.slice(0, count);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

export const LINK_SECRET = "test-secret-test-secret-test-secret!";

/** The e-mail settings of a service sending to `server` (links under http://clinic.test). */
export function emailConfig(
  server: { url: string },
  extra: Partial<EmailConfig> = {},
): EmailConfig {
  return {
    smtpUrl: server.url,
    from: "Clinic <no-reply@clinic.example>",
    senderDomain: "clinic.example",
    publicUrl: "http://clinic.test",
    linkSecret: LINK_SECRET,
    ...extra,
  };
}

/** Runs the service's job kinds through `transports` until no delivery job is left. */
export async function drain(sql: Sql, transports: Transports): Promise<void> {
  const worker = startWorker({
    sql,
    handlers: defaultHandlers({ transports }),
    schedules: [],
    pollMs: 20,
    backoff: { baseMs: 10, maxMs: 10 },
    log: () => {},
  });
  await worker.ready;
  try {
    for (let i = 0; i < 800; i++) {
      const [r] = await sql`
        select count(*)::int as n from public.jobs
        where kind = 'notification.deliver' and status in ('queued', 'running')`;
      if (r.n === 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error("deliveries still queued");
  } finally {
    await worker.stop();
  }
}
