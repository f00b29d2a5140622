/**
 * RFC 8291 message encryption for web push (aes128gcm, RFC 8188), exactly as npm
 * @block65/webcrypto-web-push's `encryptNotification` makes it — one record padded to 4 KB, so
 * a payload's length tells nothing — but with what depends only on the subscription kept
 * between its messages: the browser's public key imported once, its bytes and auth secret
 * decoded once. Each message still gets a fresh ECDH key pair and salt (RFC 8291 §3.1).
 *
 * Only WebCrypto's own ECDH, HKDF and AES-GCM, composed as RFC 8291 §3.3–3.4 and RFC 8188 §2
 * say; WebCrypto's HKDF takes the library's four HMAC imports and six signatures per message
 * down to three derivations. tests/notify/push_encryption_test.ts checks it byte for byte
 * against the library and RFC 8291 Appendix A.
 *
 * @module
 */

const P256 = { name: "ECDH", namedCurve: "P-256" } as const;
/** RFC 8188 §2.1: the record size we announce, and the header before the record. */
const RECORD_SIZE = 4096;
const HEADER_SIZE = 16 + 4 + 1 + 65;
/** A push service need accept only 4096 octets in all: header, delimiter and GCM tag included. */
export const MAX_PUSH_PLAINTEXT = RECORD_SIZE - HEADER_SIZE - 17;

const utf8 = new TextEncoder();
const KEY_INFO = utf8.encode("WebPush: info\0");
const CEK_INFO = utf8.encode("Content-Encoding: aes128gcm\0");
const NONCE_INFO = utf8.encode("Content-Encoding: nonce\0");

/** A subscription's keys, decoded and imported once. */
export interface SubscriberKeys {
  readonly publicKey: CryptoKey;
  /** The browser's public key, uncompressed (65 bytes). */
  readonly publicKeyBytes: Uint8Array<ArrayBuffer>;
  readonly authSecret: Uint8Array<ArrayBuffer>;
}

/** Base64 as browsers and clients send it (URL-safe or not, padded or not). */
function base64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.fromBase64(text.replaceAll("+", "-").replaceAll("/", "_"), {
    alphabet: "base64url",
  });
}

/** Decodes and imports a subscription's `p256dh` and `auth`; throws for unusable keys. */
export async function subscriberKeys(p256dh: string, auth: string): Promise<SubscriberKeys> {
  const publicKeyBytes = base64(p256dh);
  const authSecret = base64(auth);
  if (publicKeyBytes.length !== 65 || publicKeyBytes[0] !== 0x04) {
    throw new Error("Subscription p256dh is not an uncompressed P-256 point");
  }
  if (authSecret.length !== 16) throw new Error("Subscription auth secret is not 16 bytes");
  const publicKey = await crypto.subtle.importKey("raw", publicKeyBytes, P256, false, []);
  return { publicKey, publicKeyBytes, authSecret };
}

async function hkdf(
  key: CryptoKey,
  salt: Uint8Array<ArrayBuffer>,
  info: Uint8Array<ArrayBuffer>,
  bits: number,
): Promise<ArrayBuffer> {
  return await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, bits);
}

function hkdfKey(secret: ArrayBuffer): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
}

/**
 * The aes128gcm body of one push to `to`. `fixed` sets the salt and the sender's key pair
 * (RFC 8291 Appendix A), and `pad: false` leaves the record unpadded; otherwise both are fresh
 * for every message.
 */
export async function encryptPush(
  to: SubscriberKeys,
  plaintext: Uint8Array,
  fixed: { salt?: Uint8Array<ArrayBuffer>; keyPair?: CryptoKeyPair; pad?: boolean } = {},
): Promise<Uint8Array<ArrayBuffer>> {
  if (plaintext.length > MAX_PUSH_PLAINTEXT) {
    throw new Error(`Payload is ${plaintext.length} bytes, the maximum is ${MAX_PUSH_PLAINTEXT}`);
  }
  const salt = fixed.salt ?? crypto.getRandomValues(new Uint8Array(16));
  const local = fixed.keyPair ??
    await crypto.subtle.generateKey(P256, true, ["deriveBits"]) as CryptoKeyPair;
  const localPublic = new Uint8Array(await crypto.subtle.exportKey("raw", local.publicKey));
  const shared = await crypto.subtle.deriveBits(
    { name: "ECDH", public: to.publicKey },
    local.privateKey,
    256,
  );
  // RFC 8291 §3.3–3.4: IKM from the shared secret and the auth secret, keyed on both keys.
  const keyInfo = new Uint8Array(KEY_INFO.length + 130);
  keyInfo.set(KEY_INFO);
  keyInfo.set(to.publicKeyBytes, KEY_INFO.length);
  keyInfo.set(localPublic, KEY_INFO.length + 65);
  const ikm = await hkdfKey(await hkdf(await hkdfKey(shared), to.authSecret, keyInfo, 256));
  // RFC 8188 §2.2–2.3: content-encryption key and nonce from the IKM and the salt.
  const [cek, nonce] = await Promise.all([
    hkdf(ikm, salt, CEK_INFO, 128),
    hkdf(ikm, salt, NONCE_INFO, 96),
  ]);
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["encrypt"]);
  // One last record: the plaintext, the 0x02 delimiter, zeros up to the padded size.
  const record = new Uint8Array(
    (fixed.pad ?? true) ? MAX_PUSH_PLAINTEXT + 1 : plaintext.length + 1,
  );
  record.set(plaintext);
  record[plaintext.length] = 0x02;
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce }, key, record),
  );
  // RFC 8188 §2.1 header: salt, record size, key id length, key id (our public key).
  const body = new Uint8Array(HEADER_SIZE + sealed.length);
  body.set(salt);
  new DataView(body.buffer).setUint32(16, RECORD_SIZE);
  body[20] = 65;
  body.set(localPublic, 21);
  body.set(sealed, HEADER_SIZE);
  return body;
}
