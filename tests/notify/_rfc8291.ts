/**
 * RFC 8291 Appendix A (web push message encryption) and a way to run the library's
 * `encryptNotification` with a given salt and sender key pair, which it draws itself.
 */

export const b64url = (text: string) => Uint8Array.fromBase64(text, { alphabet: "base64url" });
export const toB64url = (bytes: Uint8Array) =>
  bytes.toBase64({ alphabet: "base64url", omitPadding: true });

/** RFC 8291 Appendix A. */
export const RFC8291 = {
  plaintext: "When I grow up, I want to be a watermelon",
  asPublic:
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
  asPrivate: "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
  uaPublic:
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  salt: "DGv6ra1nlYgDCS1FRnbzlw",
  authSecret: "BTBZMqHH6r4Tts7J_aSIgg",
  body: "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLoc" +
    "InmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNW" +
    "QexSgSxsj_Qulcy4a-fN",
};

/** The application server's (sender's) key pair of Appendix A. */
export async function rfc8291SenderKeys(): Promise<CryptoKeyPair> {
  const asPublic = b64url(RFC8291.asPublic);
  const jwk = {
    kty: "EC",
    crv: "P-256",
    x: toB64url(asPublic.slice(1, 33)),
    y: toB64url(asPublic.slice(33)),
    d: RFC8291.asPrivate,
  };
  const ecdh = { name: "ECDH", namedCurve: "P-256" };
  return {
    privateKey: await crypto.subtle.importKey("jwk", jwk, ecdh, false, ["deriveBits"]),
    publicKey: await crypto.subtle.importKey("raw", asPublic, ecdh, true, []),
  };
}

/**
 * Runs `fn` (one call of the library) while the two sources of randomness it draws from —
 * `crypto.getRandomValues` for the salt, `crypto.subtle.generateKey` for the sender's key pair —
 * answer `salt` and `keyPair`; everything else is the library's.
 */
export async function withLibraryRandomness<T>(
  salt: Uint8Array,
  keyPair: CryptoKeyPair,
  fn: () => Promise<T>,
): Promise<T> {
  const random = crypto as unknown as Record<string, unknown>;
  const subtle = crypto.subtle as unknown as Record<string, unknown>;
  random.getRandomValues = (array: Uint8Array) => (array.set(salt), array);
  subtle.generateKey = () => Promise.resolve(keyPair);
  try {
    return await fn();
  } finally {
    delete random.getRandomValues;
    delete subtle.generateKey;
  }
}
