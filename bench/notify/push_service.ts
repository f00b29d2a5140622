/**
 * The benchmark's push service process: npm web-push-testing (as tests/support/push_service.ts
 * runs it: 127.0.0.1, TLS with the test certificate), which checks each push's VAPID token and
 * decrypts its aes128gcm body — and here also notes when each push arrived, by the delivery id
 * in its payload (`tag`): `GET /bench/arrivals` answers `[[tag, epoch ms], …]`, `GET
 * /bench/count` their number. Prints
 * `port <n>`; exits when its stdin closes.
 */
import { createServer } from "node:https";
import { PushApiModel } from "web-push-testing/src/PushApiModel.js";
import WebPushTestingServer from "web-push-testing/src/server.js";

const testdata = new URL("../../edge/webhooks/ssrf/testdata/", import.meta.url);
const model = new PushApiModel();
const service = new WebPushTestingServer(model, 0);
service.setRequestHandlers();

const arrivals: [string, number][] = [];
const handle = model.handleNotification.bind(model);
model.handleNotification = async (clientHash: string, headers: unknown, body: unknown) => {
  const at = performance.timeOrigin + performance.now();
  const result = await handle(clientHash, headers, body);
  const messages = model.messages[clientHash] as string[];
  const last = messages.pop(); // kept only as an arrival: a long run would hold every body
  try {
    arrivals.push([JSON.parse(last ?? "{}").tag, at]);
  } catch {
    arrivals.push(["", at]);
  }
  return result;
};

const server = createServer({
  key: Deno.readTextFileSync(new URL("server.key", testdata)),
  cert: Deno.readTextFileSync(new URL("server.pem", testdata)),
}, (req, res) => {
  if (req.method === "GET" && req.url === "/bench/count") {
    res.end(String(arrivals.length));
    return;
  }
  if (req.method === "GET" && req.url === "/bench/arrivals") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(arrivals));
    return;
  }
  service._app(req, res);
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  model.notifyUrl = `https://127.0.0.1:${port}/notify/`;
  console.log(`port ${port}`);
});
for await (const _ of Deno.stdin.readable) {
  // runs until the benchmark closes stdin
}
Deno.exit(0);
