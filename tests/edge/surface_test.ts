/**
 * The issue-3 surface as a whole: every endpoint is in /api/openapi.json, and the app-level
 * answers (404, 405, 413, malformed JSON) keep the contract's error shape on these routes.
 */
import assert from "node:assert/strict";
import { DOCTORS, testApp, USERS } from "./_support.ts";

const endpoints: [string, string][] = [
  ["post", "/api/auth/signup"],
  ["post", "/api/auth/login"],
  ["post", "/api/auth/unlock"],
  ["post", "/api/auth/password/forgot"],
  ["post", "/api/auth/password/reset"],
  ["post", "/api/auth/password/change"],
  ["post", "/api/auth/email/verify"],
  ["post", "/api/auth/email/change"],
  ["post", "/api/auth/email/confirm"],
  ["post", "/api/auth/refresh"],
  ["post", "/api/auth/logout"],
  ["get", "/api/auth/me"],
  ["get", "/api/clinics/{code}"],
  ["get", "/api/clinics/{code}/slots"],
  ["get", "/api/clinics/{code}/appointments"],
  ["post", "/api/clinics/{code}/board-tokens"],
  ["get", "/api/clinics/{code}/board-tokens"],
  ["patch", "/api/clinics/{code}/board-tokens/{id}"],
  ["delete", "/api/clinics/{code}/board-tokens/{id}"],
  ["post", "/api/holds"],
  ["delete", "/api/holds/{id}"],
  ["post", "/api/bookings"],
  ["get", "/api/appointments/{id}"],
  ["post", "/api/appointments/{id}/cancel"],
  ["post", "/api/appointments/{id}/reschedule"],
  ["post", "/api/appointments/{id}/undo-no-show"],
  ["get", "/api/me/appointments"],
  ["get", "/api/clinics"],
  ["get", "/api/clinics/{code}/patients"],
];

Deno.test("surface: OpenAPI document and app-level errors", async (t) => {
  await using app = await testApp();

  await t.step("every endpoint is documented, with the error schema", async () => {
    const res = await app.call("GET", "/api/openapi.json");
    assert.equal(res.status, 200);
    for (const [method, path] of endpoints) {
      assert.ok(res.body.paths?.[path]?.[method], `${method.toUpperCase()} ${path}`);
    }
    const booking = res.body.paths["/api/bookings"].post;
    assert.ok(booking.responses["409"]);
    assert.ok(
      booking.parameters.some((p: { name: string; in: string }) =>
        p.name === "idempotency-key" && p.in === "header"
      ),
    );
    assert.ok(res.body.components.schemas.Error);
    assert.ok(res.body.components.schemas.Appointment);
  });

  await t.step("405 with Allow, 404 unknown route, 413 oversized body", async () => {
    const token = await app.tokenFor(USERS.patientLim);
    const wrong = await app.call("GET", "/api/bookings", { token });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.body.error.code, "method_not_allowed");
    assert.match(wrong.headers.get("allow") ?? "", /POST/);
    const missing = await app.call("GET", "/api/bookingz", { token });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "not_found");
    const huge = await app.call("POST", "/api/bookings", {
      token,
      headers: { "idempotency-key": "big" },
      body: {
        clinic_code: "GFC-TP",
        doctor_id: DOCTORS.tan,
        start: "2030-01-01T09:00:00+08:00",
        visit_reason: "x".repeat(app.config.bodyLimit + 1),
      },
    });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.code, "payload_too_large");
  });

  await t.step("malformed JSON is a 400 in the error shape, never a 500", async () => {
    for (const path of ["/api/auth/login", "/api/bookings", "/api/holds"]) {
      const res = await app.call("POST", path, {
        token: await app.tokenFor(USERS.patientLim),
        headers: { "idempotency-key": "x" },
        body: "{not json",
      });
      assert.equal(res.status, 400, path);
      assert.equal(typeof res.body.error.code, "string");
      assert.equal(typeof res.body.error.message, "string");
    }
  });
});
