import assert from "node:assert/strict";
import { RealtimeClient } from "@supabase/realtime-js";
import {
  decodeFrame,
  encodeText,
  encodeTextRaw,
  encodeUserBroadcast,
  parseVsn,
  ProtocolError,
  type UserBroadcast,
} from "./serializer.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** realtime-js's own serializer (vsn 2.0.0), without opening a socket. */
function stockSerializer() {
  const c = new RealtimeClient("ws://127.0.0.1:9/realtime/v1", { params: { apikey: "x" } });
  return c.serializer as unknown as {
    encode(msg: unknown, cb: (r: ArrayBuffer | string) => unknown): unknown;
    decode(raw: ArrayBuffer | string, cb: (m: unknown) => unknown): unknown;
  };
}

Deno.test("serializer", async (t) => {
  await t.step("vsn parameter: absent means 1.0.0, unknown is refused", () => {
    assert.equal(parseVsn(null), "1.0.0");
    assert.equal(parseVsn("1.0.0"), "1.0.0");
    assert.equal(parseVsn("2.0.0"), "2.0.0");
    assert.equal(parseVsn("3.0.0"), undefined);
  });

  await t.step("vsn 2.0.0 text frames are [join_ref, ref, topic, event, payload]", () => {
    const m = decodeFrame("2.0.0", '["1","2","realtime:a","phx_join",{"x":1}]');
    assert.deepEqual(m, {
      joinRef: "1",
      ref: "2",
      topic: "realtime:a",
      event: "phx_join",
      payload: { x: 1 },
    });
    const out = encodeText("2.0.0", { ...m, event: "phx_reply", payload: { status: "ok" } });
    assert.equal(out, '["1","2","realtime:a","phx_reply",{"status":"ok"}]');
    assert.throws(() => decodeFrame("2.0.0", '{"topic":"a"}'), ProtocolError);
    assert.throws(() => decodeFrame("2.0.0", "not json"), ProtocolError);
  });

  await t.step("vsn 1.0.0 frames are objects; server frames carry no join_ref", () => {
    const m = decodeFrame(
      "1.0.0",
      '{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"5","join_ref":null}',
    );
    assert.deepEqual(m, {
      joinRef: null,
      ref: "5",
      topic: "phoenix",
      event: "heartbeat",
      payload: {},
    });
    const out = JSON.parse(encodeText("1.0.0", { ...m, joinRef: "9", event: "phx_reply" }));
    assert.deepEqual(out, { topic: "phoenix", event: "phx_reply", payload: {}, ref: "5" });
    assert.throws(() => decodeFrame("1.0.0", new Uint8Array([3])), ProtocolError);
  });

  await t.step("raw text encoding splices pre-serialized payloads", () => {
    assert.equal(
      encodeTextRaw("2.0.0", '"realtime:a"', "postgres_changes", '{"ids":[1]}'),
      '[null,null,"realtime:a","postgres_changes",{"ids":[1]}]',
    );
    assert.deepEqual(
      JSON.parse(encodeTextRaw("1.0.0", '"realtime:a"', "postgres_changes", '{"ids":[1]}')),
      { topic: "realtime:a", event: "postgres_changes", payload: { ids: [1] }, ref: null },
    );
  });

  await t.step("kind 3 (user broadcast push), JSON payload, byte by byte", () => {
    const payload = utf8('{"n":1}');
    const frame = new Uint8Array([
      3, // kind
      1, // join_ref length
      2, // ref length
      10, // topic length
      4, // event length
      0, // meta length
      1, // encoding: JSON
      ...utf8("1"),
      ...utf8("12"),
      ...utf8("realtime:a"),
      ...utf8("ping"),
      ...payload,
    ]);
    const m = decodeFrame("2.0.0", frame);
    assert.deepEqual(m, {
      joinRef: "1",
      ref: "12",
      topic: "realtime:a",
      event: "broadcast",
      payload: { event: "ping", payload: { n: 1 }, binary: true },
    });
  });

  await t.step("kind 3 with raw bytes, metadata and UTF-8 header fields", () => {
    const topic = utf8("realtime:café");
    const meta = utf8('{"persist":true}');
    const frame = new Uint8Array([
      3,
      0,
      0,
      topic.length,
      2,
      meta.length,
      0,
      ...topic,
      ...utf8("é"),
      ...meta,
      0xde,
      0xad,
      0xbe,
      0xef,
    ]);
    const m = decodeFrame("2.0.0", frame);
    assert.equal(m.joinRef, null);
    assert.equal(m.ref, null);
    assert.equal(m.topic, "realtime:café");
    const b = m.payload as UserBroadcast;
    assert.equal(b.event, "é");
    assert.equal(b.binary, true);
    assert.deepEqual(b.meta, { persist: true });
    assert.deepEqual(b.payload, new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
  });

  await t.step("malformed binary frames are refused", () => {
    assert.throws(() => decodeFrame("2.0.0", new Uint8Array([3, 0, 0])), ProtocolError);
    assert.throws(() => decodeFrame("2.0.0", new Uint8Array([4, 0, 0, 0, 0, 0, 1])), ProtocolError);
    assert.throws(
      () => decodeFrame("2.0.0", new Uint8Array([3, 0, 0, 9, 0, 0, 1, ...utf8("abc")])),
      ProtocolError,
    );
    assert.throws(() => decodeFrame("2.0.0", new Uint8Array([3, 0, 0, 0, 0, 0, 7])), ProtocolError);
  });

  await t.step("kind 4 (user broadcast), byte by byte", () => {
    const frame = encodeUserBroadcast("realtime:a", "ping", { n: 1 }, false);
    assert.deepEqual(
      [...frame],
      [
        4, // kind
        10, // topic length
        4, // event length
        0, // meta length
        1, // encoding JSON
        ...utf8("realtime:a"),
        ...utf8("ping"),
        ...utf8('{"n":1}'),
      ],
    );
    const bytes = encodeUserBroadcast("t", "e", new Uint8Array([1, 2]), true, { id: "x" });
    assert.deepEqual([...bytes], [
      4,
      1,
      1,
      10,
      0,
      ...utf8("t"),
      ...utf8("e"),
      ...utf8('{"id":"x"}'),
      1,
      2,
    ]);
  });

  await t.step("interoperates with realtime-js's own serializer", () => {
    const stock = stockSerializer();
    // Client → server: the stock client encodes every broadcast push as kind 3.
    const out: { encoded?: ArrayBuffer | string } = {};
    stock.encode({
      join_ref: "3",
      ref: "4",
      topic: "realtime:room",
      event: "broadcast",
      payload: { type: "broadcast", event: "moved", payload: { x: 1, label: "ünï" } },
    }, (r) => out.encoded = r);
    const encoded = out.encoded;
    assert.ok(encoded instanceof ArrayBuffer);
    const m = decodeFrame("2.0.0", encoded);
    assert.equal(m.topic, "realtime:room");
    assert.equal(m.joinRef, "3");
    assert.equal(m.ref, "4");
    assert.deepEqual(m.payload, { event: "moved", payload: { x: 1, label: "ünï" }, binary: true });

    // Server → client: kind 4 decodes into a broadcast event.
    let decoded: unknown;
    const frame = encodeUserBroadcast("realtime:room", "moved", { x: 2 }, false);
    stock.decode(frame.slice().buffer, (r) => decoded = r);
    assert.deepEqual(decoded, {
      join_ref: null,
      ref: null,
      topic: "realtime:room",
      event: "broadcast",
      payload: { type: "broadcast", event: "moved", payload: { x: 2 } },
    });
    const raw = encodeUserBroadcast("realtime:room", "blob", new Uint8Array([7, 8, 9]), true);
    stock.decode(raw.slice().buffer, (r) => decoded = r);
    const p = (decoded as unknown as { payload: { payload: ArrayBuffer } }).payload;
    assert.deepEqual([...new Uint8Array(p.payload)], [7, 8, 9]);

    // Text frames both ways.
    stock.decode(
      encodeText("2.0.0", { joinRef: "1", ref: "1", topic: "t", event: "phx_reply", payload: {} }),
      (r) => decoded = r,
    );
    assert.deepEqual(decoded, {
      join_ref: "1",
      ref: "1",
      topic: "t",
      event: "phx_reply",
      payload: {},
    });
  });
});
