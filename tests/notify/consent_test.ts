/**
 * The consent matrix where messages are made: for every combination of consents (set the one
 * way they change, private.set_consent), a notification gets a delivery on a channel only if
 * the patient consented to it — none without consent — and withdrawing a consent stops the
 * next message on that channel.
 */
import assert from "node:assert/strict";
import { freshDatabase, type Sql } from "../support/db.ts";
import { addAppointment, middayClinic } from "../support/clinic.ts";
import { PATIENTS, USERS } from "../support/demo.ts";

const CHANNELS = ["email", "sms", "whatsapp", "push"] as const;
type Channel = typeof CHANNELS[number];

async function setConsents(sql: Sql, granted: ReadonlySet<Channel>) {
  for (const channel of CHANNELS) {
    await sql`select private.set_consent(${PATIENTS.lim}, ${channel}, ${granted.has(channel)},
      'front_desk')`;
  }
}

/** The channels of the deliveries of the patient's latest notification. */
async function latestChannels(sql: Sql): Promise<string[]> {
  const rows = await sql`
    select d.channel::text as channel from public.notification_deliveries d
    where d.notification_id = (select n.id from public.notifications n
      where n.user_id = ${USERS.patientLim} order by n.created_at desc, n.id desc limit 1)
    order by 1`;
  return rows.map((r) => r.channel as string);
}

Deno.test("no consent, no delivery on that channel: every combination", async (t) => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  // Lim has an e-mail address, a phone and (now) a browser subscribed to web push.
  await db.sql`
    insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
    values (${USERS.patientLim}, 'https://push.example/send/lim', ${"B" + "A".repeat(86)},
      ${"A".repeat(22)})`;
  let startMin = 30;
  for (let mask = 0; mask < 1 << CHANNELS.length; mask++) {
    const granted = new Set(CHANNELS.filter((_, i) => mask & (1 << i)));
    await t.step(`consented: ${[...granted].join(", ") || "none"}`, async () => {
      await setConsents(db.sql, granted);
      await addAppointment(db.sql, { startMin: startMin++ });
      const channels = await latestChannels(db.sql);
      for (const channel of channels) {
        assert.ok(granted.has(channel as Channel), `${channel} without consent`);
      }
      assert.deepEqual(channels, [...granted].sort(), "each consented channel is used");
    });
  }
});

Deno.test("a withdrawn consent stops the next message on that channel only", async () => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  await addAppointment(db.sql, { startMin: 30 });
  assert.deepEqual(await latestChannels(db.sql), ["email", "sms"], "the demo consents");
  await db.sql`select private.set_consent(${PATIENTS.lim}, 'sms', false, 'stop_keyword')`;
  await addAppointment(db.sql, { startMin: 40 });
  assert.deepEqual(await latestChannels(db.sql), ["email"]);
  await db.sql`select private.set_consent(${PATIENTS.lim}, 'email', false, 'unsubscribe_link')`;
  await addAppointment(db.sql, { startMin: 50 });
  assert.deepEqual(await latestChannels(db.sql), []);
  const history = await db.sql`select channel, granted, source, changed_by
    from public.consent_history where patient_id = ${PATIENTS.lim} order by id`;
  assert.deepEqual(history.map((h) => ({ ...h })), [
    { channel: "sms", granted: false, source: "stop_keyword", changed_by: null },
    { channel: "email", granted: false, source: "unsubscribe_link", changed_by: null },
  ]);
});
