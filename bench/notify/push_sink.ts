/**
 * A push service that does nothing: HTTPS on 127.0.0.1 (the test certificate, as
 * ./push_service.ts), 201 to every request once its body is read. Against it only the sender's
 * work remains (encryption, VAPID, TLS and HTTP). Prints `port <n>`; exits when stdin closes.
 */
const testdata = new URL("../../edge/webhooks/ssrf/testdata/", import.meta.url);
const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  cert: Deno.readTextFileSync(new URL("server.pem", testdata)),
  key: Deno.readTextFileSync(new URL("server.key", testdata)),
  onListen: ({ port }) => console.log(`port ${port}`),
}, async (req) => {
  await req.arrayBuffer();
  return new Response(null, { status: 201 });
});
for await (const _ of Deno.stdin.readable) {
  // runs until the benchmark closes stdin
}
await server.shutdown();
Deno.exit(0);
