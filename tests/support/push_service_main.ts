/**
 * The push service process of tests/support/push_service.ts: npm web-push-testing's server
 * (its push API model and express app, as its CLI runs them) listening on 127.0.0.1 over TLS
 * with the test certificate, since push endpoints are https. Prints `port <n>` once listening;
 * exits when its stdin closes, and after 10 minutes in any case.
 */
import { createServer } from "node:https";
import { PushApiModel } from "web-push-testing/src/PushApiModel.js";
import WebPushTestingServer from "web-push-testing/src/server.js";

const testdata = new URL("../../edge/webhooks/ssrf/testdata/", import.meta.url);
const model = new PushApiModel();
const service = new WebPushTestingServer(model, 0);
service.setRequestHandlers();
const server = createServer({
  key: Deno.readTextFileSync(new URL("server.key", testdata)),
  cert: Deno.readTextFileSync(new URL("server.pem", testdata)),
}, service._app);
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  model.notifyUrl = `https://127.0.0.1:${port}/notify/`;
  console.log(`port ${port}`);
});
setTimeout(() => Deno.exit(0), 10 * 60_000);
for await (const _ of Deno.stdin.readable) {
  // runs until the test closes stdin
}
Deno.exit(0);
