/**
 * The floor of the idle-socket figure: a bare `Deno.upgradeWebSocket` server that holds each
 * socket and answers the Phoenix join and heartbeat with an ok reply, nothing else — what the
 * runtime's websocket itself costs per socket, measured beside the realtime server.
 */
const port = Number(Deno.env.get("REALTIME_PORT"));

function reply(socket: WebSocket, text: string): void {
  const [joinRef, ref, topic] = JSON.parse(text) as [string | null, string, string];
  socket.send(JSON.stringify([joinRef, ref, topic, "phx_reply", { status: "ok", response: {} }]));
}

Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: () => console.log("listening"),
}, (request) => {
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.onmessage = (event) => reply(socket, event.data as string);
  return response;
});
