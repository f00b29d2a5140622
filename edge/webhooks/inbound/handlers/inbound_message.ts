/**
 * Messages patients send to our Twilio numbers (Twilio's inbound-message webhook, on the same
 * route as the status callbacks: `SmsStatus=received`). A WhatsApp message opens the 24-hour
 * window for free-form replies; a body that is only an opt-out keyword (Twilio's: STOP,
 * STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) withdraws that channel's consent of every patient
 * with the number, an opt-in keyword (START, UNSTOP) restores it — through
 * `private.apply_inbound_message`, which changes consent only by `private.set_consent`.
 *
 * @module
 */

import { nationalNumber, toE164 } from "../../../notify/phone.ts";
import type { EventHandler } from "./types.ts";

const OPT_OUT = new Set(["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"]);
const OPT_IN = new Set(["START", "UNSTOP"]);

/** false: an opt-out keyword; true: opt-in; null: any other text. */
export function consentKeyword(body: string): boolean | null {
  const word = body.trim().replace(/[.!]+$/, "").toUpperCase();
  if (OPT_OUT.has(word)) return false;
  if (OPT_IN.has(word)) return true;
  return null;
}

export const inboundMessageHandler: EventHandler = async (tx, event) => {
  const params = new URLSearchParams(event.body);
  const from = params.get("From") ?? "";
  const channel = from.startsWith("whatsapp:") ? "whatsapp" : "sms";
  const phone = toE164(from.replace(/^whatsapp:/, ""));
  if (!phone) return "ignored";
  const granted = consentKeyword(params.get("Body") ?? "");
  const [row] = await tx<{ outcome: string }[]>`
    select private.apply_inbound_message(${channel}, ${phone}, ${nationalNumber(phone)},
      ${granted}, ${event.receivedAt}) as outcome`;
  return row.outcome;
};
