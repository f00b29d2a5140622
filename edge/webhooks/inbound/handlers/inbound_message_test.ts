import assert from "node:assert/strict";
import { consentKeyword } from "./inbound_message.ts";

Deno.test("consent keywords: the whole body, any case, Twilio's lists", () => {
  for (
    const body of [
      "STOP",
      "stop",
      " Stop ",
      "STOPALL",
      "unsubscribe",
      "CANCEL",
      "end",
      "QUIT",
      "stop.",
    ]
  ) {
    assert.equal(consentKeyword(body), false, body);
  }
  for (const body of ["START", "start", "Unstop", " START! "]) {
    assert.equal(consentKeyword(body), true, body);
  }
  for (const body of ["", "please stop", "STOP IT", "stopp", "Hello", "YES"]) {
    assert.equal(consentKeyword(body), null, body);
  }
});
