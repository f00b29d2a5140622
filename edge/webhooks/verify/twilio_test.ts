import assert from "node:assert/strict";
import { utf8 } from "../encoding.ts";
import type { VerifyFailureCode } from "./result.ts";
import { twilioSignature, twilioSignedString, twilioUrlVariants, verifyTwilio } from "./twilio.ts";

const TOKEN = "12345";

/** Docs vector from webhook-signatures.md. */
const FORM_URL = "https://mycompany.com/myapp.php?foo=1&bar=2";
const FORM_PARAMS = {
  CallSid: "CA1234567890ABCDE",
  Caller: "+12349013030",
  Digits: "1234",
  From: "+12349013030",
  To: "+18005551212",
};
const FORM_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
/** Same request signed over the URL spelled with `:443` (computed with openssl). */
const FORM_SIGNATURE_WITH_PORT = "EpDEmp1PyjDYp77YxYU3GILBWzE=";

/** JSON variant: the body hash rides in the URL (signature computed with openssl). */
const JSON_BODY = '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}';
const JSON_URL =
  "https://example.com/myapp?bodySHA256=5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9";
const JSON_SIGNATURE = "hPXmLwIy3Fgqv1i9KPmH/HhQ6zo=";
const JSON_SIGNATURE_WITH_PORT = "dk3mnzGR4FPG18qo++EYNpsDfdo=";

const FORM = "application/x-www-form-urlencoded";

/** The docs parameters as Twilio would POST them: form-encoded, in a different order. */
function formBody(params: Record<string, string> = FORM_PARAMS): Uint8Array {
  const entries = Object.entries(params).reverse();
  return utf8(new URLSearchParams(entries).toString());
}

interface Case {
  name: string;
  url?: string;
  body?: Uint8Array;
  contentType?: string | null;
  signature?: string | null;
  tokens?: string[];
}

function run(c: Case, defaults: Required<Case>) {
  const headers = new Headers();
  const contentType = c.contentType === undefined ? defaults.contentType : c.contentType;
  if (contentType !== null) headers.set("content-type", contentType);
  const signature = c.signature === undefined ? defaults.signature : c.signature;
  if (signature !== null) headers.set("X-Twilio-Signature", signature);
  return verifyTwilio({
    url: c.url ?? defaults.url,
    rawBody: c.body ?? defaults.body,
    headers,
    authTokens: c.tokens ?? defaults.tokens,
  });
}

const FORM_DEFAULTS: Required<Case> = {
  name: "",
  url: FORM_URL,
  body: formBody(),
  contentType: FORM,
  signature: FORM_SIGNATURE,
  tokens: [TOKEN],
};

const JSON_DEFAULTS: Required<Case> = {
  name: "",
  url: JSON_URL,
  body: utf8(JSON_BODY),
  contentType: "application/json",
  signature: JSON_SIGNATURE,
  tokens: [TOKEN],
};

Deno.test("twilioSignature reproduces the docs vector", async () => {
  const params = new URLSearchParams(Object.entries(FORM_PARAMS));
  assert.equal(await twilioSignature(TOKEN, FORM_URL, params), FORM_SIGNATURE);
  assert.equal(await twilioSignature(TOKEN, JSON_URL), JSON_SIGNATURE);
});

Deno.test("verifyTwilio accepts (form bodies)", async (t) => {
  const cases: (Case & { index?: number })[] = [
    { name: "the docs vector" },
    { name: "content type with charset", contentType: `${FORM}; charset=utf-8` },
    {
      name: "signed with :443, configured without a port",
      signature: FORM_SIGNATURE_WITH_PORT,
    },
    {
      name: "signed without a port, configured with :443",
      url: "https://mycompany.com:443/myapp.php?foo=1&bar=2",
    },
    {
      name: "signed with :443, configured with :443",
      url: "https://mycompany.com:443/myapp.php?foo=1&bar=2",
      signature: FORM_SIGNATURE_WITH_PORT,
    },
    { name: "auth token rotation: secondary token", tokens: ["other", TOKEN], index: 1 },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const result = await run(c, FORM_DEFAULTS);
      assert.equal(result.ok, true, JSON.stringify(result));
      if (!result.ok) return;
      assert.equal(result.secretIndex, c.index ?? 0);
      assert.equal(result.params.get("Caller"), "+12349013030");
    });
  }
});

Deno.test("verifyTwilio accepts (bodySHA256 JSON variant)", async (t) => {
  const cases: Case[] = [
    { name: "computed vector" },
    { name: "signed with :443", signature: JSON_SIGNATURE_WITH_PORT },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const result = await run(c, JSON_DEFAULTS);
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(result.ok && [...result.params].length, 0);
    });
  }
});

Deno.test("verifyTwilio rejects", async (t) => {
  const cases: (Case & { json?: boolean; code: VerifyFailureCode })[] = [
    {
      name: "tampered parameter",
      body: formBody({ ...FORM_PARAMS, Digits: "9999" }),
      code: "invalid_signature",
    },
    {
      name: "added parameter",
      body: formBody({ ...FORM_PARAMS, Extra: "1" }),
      code: "invalid_signature",
    },
    { name: "wrong token", tokens: ["54321"], code: "invalid_signature" },
    {
      name: "different configured URL",
      url: "https://mycompany.com/other.php?foo=1&bar=2",
      code: "invalid_signature",
    },
    {
      name: "non-default port is not dropped",
      url: "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
      code: "invalid_signature",
    },
    { name: "missing header", signature: null, code: "missing_signature" },
    { name: "empty header", signature: "", code: "missing_signature" },
    { name: "header not base64", signature: "not base64!", code: "malformed_header" },
    {
      name: "form body sent as text/plain (unsigned body)",
      contentType: "text/plain",
      code: "unsigned_body",
    },
    {
      name: "JSON: tampered body",
      json: true,
      body: utf8(JSON_BODY.replace("1234", "9999")),
      code: "body_hash_mismatch",
    },
    {
      name: "JSON: body hash altered in the URL",
      json: true,
      url: JSON_URL.replace("5ccde", "5ccdf"),
      code: "invalid_signature",
    },
    { name: "JSON: wrong token", json: true, tokens: ["54321"], code: "invalid_signature" },
    { name: "JSON: missing header", json: true, signature: null, code: "missing_signature" },
    { name: "no token configured", tokens: [], code: "invalid_config" },
    { name: "empty token configured", tokens: [""], code: "invalid_config" },
    { name: "configured URL invalid", url: "not a url", code: "invalid_config" },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const result = await run(c, c.json ? JSON_DEFAULTS : FORM_DEFAULTS);
      assert.deepEqual(result, { ok: false, code: c.code });
    });
  }
});

Deno.test("twilioSignedString sorts keys, then each key's distinct values", () => {
  const params = new URLSearchParams("b=2&a=z&a=y&a=y&A=1");
  assert.equal(twilioSignedString("https://x/", params), "https://x/A1" + "ay" + "az" + "b2");
});

Deno.test("twilioUrlVariants adds the default port only when it is implied", () => {
  assert.deepEqual(twilioUrlVariants(new URL("https://h.example/p?q=1")), [
    "https://h.example/p?q=1",
    "https://h.example:443/p?q=1",
  ]);
  assert.deepEqual(twilioUrlVariants(new URL("http://h.example:80/p")), [
    "http://h.example/p",
    "http://h.example:80/p",
  ]);
  assert.deepEqual(twilioUrlVariants(new URL("https://h.example:8443/p")), [
    "https://h.example:8443/p",
  ]);
});
