/**
 * Which transport each channel gets (edge/notify/transport.ts): real providers where
 * configured, the development transport outside production, and otherwise off — said at
 * start-up and in /api/health, never silently.
 */
import assert from "node:assert/strict";
import {
  channelStatus,
  closeTransports,
  configuredTransports,
  describeChannels,
} from "../../edge/notify/transport.ts";
import { freshDatabase } from "../support/db.ts";
import { emailConfig } from "../support/smtp.ts";

Deno.test("channels: a provider where configured, development outside production, else off", async () => {
  await using db = await freshDatabase();
  const email = emailConfig({ url: "smtp://127.0.0.1:2525" });
  const cases = [
    ["none", {}, { email: "off", sms: "off", whatsapp: "off", push: "off" }],
    ["none", { email }, { email: "smtp", sms: "off", whatsapp: "off", push: "off" }],
    ["development", {}, {
      email: "development",
      sms: "development",
      whatsapp: "development",
      push: "development",
    }],
    ["development", { email }, {
      email: "smtp",
      sms: "development",
      whatsapp: "development",
      push: "development",
    }],
  ] as const;
  for (const [choice, providers, expected] of cases) {
    const transports = configuredTransports(choice, db.sql, providers);
    try {
      assert.deepEqual(channelStatus(transports), expected, `${choice} ${Object.keys(providers)}`);
    } finally {
      await closeTransports(transports);
    }
  }
  assert.equal(
    describeChannels({ email: "off", sms: "off", whatsapp: "off", push: "off" }),
    "Notifications: no channel has a transport; off (no transport configured, deliveries " +
      "marked skipped): email, sms, whatsapp, push",
  );
  assert.equal(
    describeChannels({ email: "smtp", sms: "off", whatsapp: "off", push: "off" }),
    "Notifications: email via smtp; off (no transport configured, deliveries marked " +
      "skipped): sms, whatsapp, push",
  );
});
