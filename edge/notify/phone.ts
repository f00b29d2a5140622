/**
 * Phone numbers for SMS and WhatsApp: parsing and validation to E.164 through libphonenumber-js
 * (full metadata, so a number of the right length but an unassigned range is refused), and the
 * SMS segment count a text will be billed as (GSM-7 or UCS-2, concatenated segments).
 */
import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import type { CountryCode } from "libphonenumber-js/max";

/**
 * The number in E.164 (`+6591234567`), or null when it is not a valid phone number. A number
 * without a country code is read in `defaultRegion` (the seed clinics are in Singapore).
 */
export function toE164(input: string, defaultRegion = "SG"): string | null {
  if (typeof input !== "string" || input.length > 64) return null;
  const parsed = parsePhoneNumberFromString(input, {
    defaultCountry: defaultRegion as CountryCode,
    extract: false,
  });
  return parsed?.isValid() ? parsed.number : null;
}

export interface SmsSegments {
  encoding: "GSM-7" | "UCS-2";
  segments: number;
}

/** GSM 03.38 default alphabet: one septet each. */
const GSM_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
);
/** GSM 03.38 extension table: an escape plus the character, two septets. */
const GSM_EXTENSION = new Set("\f^{}\\[~]|€");

/** One message: 160 septets or 70 UTF-16 units; concatenated: 153 or 67 (the rest is the UDH). */
const LIMITS = {
  "GSM-7": { single: 160, part: 153 },
  "UCS-2": { single: 70, part: 67 },
} as const;

/**
 * How many segments `text` is sent as. Any character outside GSM-7 makes the whole text UCS-2
 * (UTF-16: a character beyond the BMP takes two units). A character's units (an escaped
 * GSM character, a surrogate pair) are never split across two segments, as handsets and
 * Twilio count it.
 */
export function smsSegments(text: string): SmsSegments {
  const chars = Array.from(text);
  const gsm = chars.every((c) => GSM_BASIC.has(c) || GSM_EXTENSION.has(c));
  const encoding = gsm ? "GSM-7" : "UCS-2";
  const widths = chars.map((c) => gsm ? (GSM_EXTENSION.has(c) ? 2 : 1) : c.length);
  const total = widths.reduce((sum, w) => sum + w, 0);
  const { single, part } = LIMITS[encoding];
  if (total <= single) return { encoding, segments: 1 };
  let segments = 1;
  let used = 0;
  for (const width of widths) {
    if (used + width > part) {
      segments++;
      used = 0;
    }
    used += width;
  }
  return { encoding, segments };
}

/**
 * The national number of an E.164 number of `region` (`+6591234567` → `91234567`), null when
 * it belongs to another region: how a phone stored without its country code is matched.
 */
export function nationalNumber(e164: string, region = "SG"): string | null {
  const parsed = parsePhoneNumberFromString(e164);
  return parsed?.country === region ? parsed.nationalNumber : null;
}
