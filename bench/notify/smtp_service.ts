/**
 * The benchmark's SMTP server process: npm smtp-server on 127.0.0.1, accepting every message
 * and keeping only when it arrived — the time the client began the transaction (MAIL FROM) —
 * by the delivery id in its Message-ID (our SMTP transport derives it from the delivery).
 * `GET /arrivals` on its HTTP port answers `[[id, epoch ms], …]`, `GET /count` their number. Prints
 * `smtp <port> http <port>`; exits when its stdin closes.
 */
import { SMTPServer } from "smtp-server";

const now = () => performance.timeOrigin + performance.now();
const started = new Map<string, number>();
const arrivals: [string, number][] = [];
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS"],
  logger: false,
  onMailFrom(_address, session, callback) {
    started.set(session.id, now());
    callback();
  },
  onData(stream, session, callback) {
    let head = "";
    const decoder = new TextDecoder();
    stream.on("data", (chunk: Uint8Array) => {
      if (head.length < 4096) head += decoder.decode(chunk, { stream: true });
    });
    stream.on("end", () => {
      const id = /^message-id:\s*<([^@>]+)@/im.exec(head)?.[1];
      if (id) arrivals.push([id, started.get(session.id) ?? now()]);
      started.delete(session.id);
      callback();
    });
  },
});
server.on("error", () => {});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const http = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  (request) =>
    new URL(request.url).pathname === "/count"
      ? new Response(String(arrivals.length))
      : Response.json(arrivals),
);
console.log(`smtp ${(server.server.address() as { port: number }).port} http ${http.addr.port}`);
for await (const _ of Deno.stdin.readable) {
  // runs until the benchmark closes stdin
}
Deno.exit(0);
