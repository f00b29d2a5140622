import assert from "node:assert/strict";
import type { PatientSummary, StaffTicket } from "../lib/endpoints.ts";
import {
  boardState,
  boardUrl,
  canChange,
  canCheckIn,
  confirmAction,
  consoleFeed,
  consoleKey,
  duplicatesOf,
  FINISHED_SHOWN,
  guardianHint,
  isAdmin,
  isStaff,
  NEW_WALK_IN,
  NO_PERSON,
  occupantOf,
  occupiedQuestion,
  patientHint,
  type PersonForm,
  PRIORITIES,
  priorityName,
  queueView,
  searchTerm,
  STAFF_ROLES,
  ticketActions,
  ticketTiming,
  type WalkInForm,
  walkInRequest,
} from "./state.ts";

const T0 = Date.parse("2026-11-24T02:00:00Z");
const iso = (offsetSec: number) => new Date(T0 + offsetSec * 1000).toISOString();

function ticket(
  code: string,
  status: StaffTicket["status"],
  patch: Partial<StaffTicket> = {},
): StaffTicket {
  return {
    id: code,
    code,
    kind: "appointment",
    status,
    priority: 0,
    clinic_id: "c1",
    service_date: "2026-11-24",
    room: null,
    doctor_id: null,
    patient_id: null,
    appointment_id: null,
    scheduled_at: null,
    checked_in_at: null,
    called_at: null,
    call_count: 0,
    consultation_start_at: null,
    consultation_end_at: null,
    no_show_at: null,
    cancelled_at: null,
    position: null,
    people_ahead: null,
    estimated_wait_minutes: null,
    service_minutes: null,
    patient_name: null,
    patient_number: null,
    doctor_name: null,
    ...patch,
  };
}

const LIM: PatientSummary = {
  id: "p1",
  patient_number: "P-0001",
  full_name: "Lim Mei Ling",
  date_of_birth: "1980-01-02",
  gender: "female",
  phone_masked: "•••• 0003",
  email_masked: null,
};

const form = (patch: Partial<WalkInForm> = {}): WalkInForm => ({ ...NEW_WALK_IN, ...patch });

Deno.test("staff console state", async (t) => {
  await t.step("the console is for staff of a clinic; the key follows user and clinic", () => {
    assert.deepEqual([...STAFF_ROLES], ["doctor", "nurse", "staff", "admin", "superadmin"]);
    assert.equal(isStaff({ role: "nurse" }), true);
    assert.equal(isStaff({ role: "patient" }), false);
    assert.equal(isStaff(null), false);
    const nurse = { id: "u1", role: "nurse", clinic_code: "SGH" };
    assert.equal(consoleKey(nurse), "u1:SGH");
    assert.equal(consoleKey({ ...nurse, clinic_code: "TTSH" }), "u1:TTSH");
    assert.equal(consoleKey({ ...nurse, clinic_code: null }), null, "no clinic: sign-in page");
    assert.equal(consoleKey({ ...nurse, clinic_code: "" }), null);
    assert.equal(consoleKey({ ...nurse, role: "patient" }), null);
    assert.equal(consoleKey(null), null);
  });

  await t.step("the feed listens to its own clinic's tickets and appointments only", () => {
    assert.deepEqual(consoleFeed("c-1"), {
      topic: "staff:c-1",
      changes: [
        { table: "queue_tickets", filter: "clinic_id=eq.c-1" },
        { table: "appointments", filter: "clinic_id=eq.c-1" },
      ],
    });
  });

  await t.step("the queue splits into now, waiting and finished, in the API's order", () => {
    const list = [
      ticket("A003", "waiting"),
      ticket("A001", "serving"),
      ticket("A004", "completed"),
      ticket("A002", "called"),
      ticket("A005", "waiting"),
      ticket("A006", "no_show"),
      ticket("A007", "cancelled"),
    ];
    const view = queueView(list);
    assert.deepEqual(view.now.map((x) => x.code), ["A001", "A002"]);
    assert.deepEqual(view.waiting.map((x) => x.code), ["A003", "A005"]);
    assert.deepEqual(view.done.map((x) => x.code), ["A004", "A006", "A007"]);
    const many = Array.from({ length: 25 }, (_, i) => ticket(`D${i}`, "completed"));
    assert.equal(queueView(many).done.length, FINISHED_SHOWN);
    assert.deepEqual(queueView([]), { now: [], waiting: [], done: [] });
  });

  await t.step("each status offers its actions; cancelled and no-show can be restored", () => {
    const actions = (s: string) => ticketActions(s).map(([a]) => a);
    assert.deepEqual(actions("waiting"), ["cancel"]);
    assert.deepEqual(actions("called"), ["recall", "start", "no-show"]);
    assert.deepEqual(actions("serving"), ["complete"]);
    assert.deepEqual(actions("no_show"), ["recall", "restore"]);
    assert.deepEqual(actions("completed"), []);
    assert.deepEqual(actions("cancelled"), ["restore"]);
    assert.deepEqual(ticketActions("called").map(([, label]) => label), [
      "Recall",
      "Start",
      "No-show",
    ]);
  });

  await t.step("waiting shows minutes since check-in; called shows the clinic-local time", () => {
    const waiting = ticket("A001", "waiting", { checked_in_at: iso(-125) });
    assert.equal(ticketTiming(waiting, T0, "Asia/Singapore"), "2 min");
    assert.equal(ticketTiming(waiting, T0 - 600_000, "UTC"), "0 min", "clock skew: never < 0");
    assert.equal(ticketTiming(ticket("A002", "waiting"), T0, "UTC"), "");
    const called = ticket("A003", "called", { called_at: iso(0) });
    assert.equal(ticketTiming(called, T0, "Asia/Singapore"), "10:00");
    assert.equal(ticketTiming(called, T0, "UTC"), "02:00");
    assert.equal(ticketTiming(ticket("A004", "serving"), T0, "UTC"), "");
  });

  await t.step("only a booked appointment can be checked in", () => {
    const no = { no_show_undoable: false };
    assert.equal(canCheckIn({ status: "scheduled", ...no }), true);
    assert.equal(canCheckIn({ status: "confirmed", ...no }), true);
    for (const status of ["checked_in", "completed", "cancelled", "no_show"]) {
      assert.equal(canCheckIn({ status, ...no }), false, status);
    }
    // A late arrival after the no-show sweep.
    assert.equal(canCheckIn({ status: "no_show", no_show_undoable: true }), true);
  });

  await t.step("the desk reschedules or cancels only what is booked (the API's rule)", () => {
    assert.equal(canChange({ status: "scheduled" }), true);
    assert.equal(canChange({ status: "confirmed" }), true);
    for (const status of ["checked_in", "completed", "cancelled", "no_show", "rescheduled"]) {
      assert.equal(canChange({ status }), false, status);
    }
  });

  await t.step("board tokens: admins manage them; live, revoked or expired", () => {
    assert.equal(isAdmin({ role: "admin" }), true);
    for (const role of ["staff", "nurse", "doctor", "patient"]) {
      assert.equal(isAdmin({ role }), false, role);
    }
    assert.equal(isAdmin(null), false);
    const now = Date.parse("2026-12-06T02:00:00Z");
    assert.equal(boardState({ revoked_at: null, expires_at: null }, now), "live");
    assert.equal(
      boardState({ revoked_at: null, expires_at: "2026-12-07T00:00:00Z" }, now),
      "live",
    );
    assert.equal(
      boardState({ revoked_at: null, expires_at: "2026-12-06T01:59:59Z" }, now),
      "expired",
    );
    assert.equal(
      boardState({ revoked_at: "2026-12-01T00:00:00Z", expires_at: null }, now),
      "revoked",
    );
  });

  await t.step("patient search waits for two characters", () => {
    assert.equal(searchTerm(""), null);
    assert.equal(searchTerm(" L "), null);
    assert.equal(searchTerm("  Li "), "Li");
  });

  await t.step("walk-ins: nameless, found or new, with doctor and priority", () => {
    assert.deepEqual(walkInRequest(form()), { body: { priority: 0 }, name: undefined });
    assert.deepEqual(walkInRequest(form({ doctorId: "d1", priority: "6" })), {
      body: { doctor_id: "d1", priority: 6 },
      name: undefined,
    });

    assert.deepEqual(walkInRequest(form({ who: "find", found: [LIM] })), {
      error: "Walk-in: choose the patient first.",
    });
    assert.deepEqual(walkInRequest(form({ who: "find", found: [LIM], picked: "p1" })), {
      body: { patient_id: "p1", priority: 0 },
      name: "Lim Mei Ling",
    });

    const person: PersonForm = {
      full_name: " Walk In Wong ",
      date_of_birth: "1962-05-17",
      gender: "male",
      phone: "  ",
    };
    assert.deepEqual(walkInRequest(form({ who: "new", person, priority: "3" })), {
      body: { patient: { ...person, phone: undefined }, priority: 3 },
      name: "Walk In Wong",
    });
    assert.deepEqual(walkInRequest(form({ who: "new", person: { ...person, gender: "" } })), {
      error: "Walk-in: choose the patient's gender.",
    });
    const withPhone = walkInRequest(form({ who: "new", person: { ...person, phone: " 9000 " } }));
    assert.ok("body" in withPhone);
    assert.equal(withPhone.body.patient?.phone, "9000");
    assert.equal(withPhone.body.patient?.sms_consent, undefined, "SMS consent is never assumed");
    const sms = walkInRequest(
      form({ who: "new", person: { ...person, phone: "9000 1234" }, smsConsent: true }),
    );
    assert.ok("body" in sms);
    assert.equal(sms.body.patient?.sms_consent, true);
    assert.deepEqual(walkInRequest(form({ who: "new", person, smsConsent: true })), {
      error: "Walk-in: an SMS needs the patient's mobile number.",
    });

    // What the other modes typed is not sent.
    assert.deepEqual(walkInRequest(form({ who: "none", person, picked: "p1" })), {
      body: { priority: 0 },
      name: undefined,
    });
  });

  await t.step("the board link carries its token in the fragment", () => {
    assert.equal(
      boardUrl("https://clinic.example", "SG H/1", "tok.en"),
      "https://clinic.example/board/SG%20H%2F1#token=tok.en",
    );
    assert.equal(
      boardUrl("https://clinic.example", "GFC-TP", "tok.en", "en,zh"),
      "https://clinic.example/board/GFC-TP?lang=en,zh#token=tok.en",
    );
  });

  await t.step("cancel and no-show ask first, with the safe choice named; others do not", () => {
    const t = ticket("A012", "waiting", { patient_name: "Lim Mei Ling" });
    const cancel = confirmAction("cancel", t)!;
    assert.equal(cancel.title, "Cancel ticket A012?");
    assert.match(cancel.body, /A012 \(Lim Mei Ling\) leaves the queue.*restore/);
    assert.deepEqual([cancel.yes, cancel.no], ["Cancel ticket", "Keep ticket"]);
    const noShow = confirmAction("no-show", ticket("W003", "called"))!;
    assert.deepEqual([noShow.yes, noShow.no], ["Mark no-show", "Keep called"]);
    assert.match(noShow.body, /^W003 leaves the queue/);
    for (const action of ["recall", "start", "complete", "restore"] as const) {
      assert.equal(confirmAction(action, t), null, action);
    }
  });

  await t.step("an occupied room: the occupant from the 409's details, and the question", () => {
    assert.deepEqual(occupantOf({ ticket_id: "x", code: "A012", status: "called" }), {
      code: "A012",
      status: "called",
    });
    assert.equal(occupantOf(undefined), null);
    assert.equal(occupantOf({ code: 12 }), null);
    const q = occupiedQuestion("Room 1", { code: "A012", status: "called" });
    assert.match(q.body, /^Room 1 still has A012 called\. Call the next patient anyway\?/);
    assert.match(q.body, /goes back to the waiting line/);
    assert.deepEqual([q.yes, q.no], ["Call next anyway", "Wait"]);
    assert.match(
      occupiedQuestion("Room 1", { code: "A012", status: "serving" }).body,
      /in consultation.*marked completed/,
    );
  });

  await t.step("priorities by name; a new walk-in form starts at normal priority", () => {
    assert.deepEqual(PRIORITIES.map((value) => priorityName(Number(value))), [
      "Normal",
      "Elderly / pregnant",
      "Urgent",
    ]);
    assert.equal(priorityName(2), "Priority 2");
    const { who, doctorId, priority, person } = NEW_WALK_IN;
    assert.deepEqual([who, doctorId, priority, person], ["none", "", "0", NO_PERSON]);
    assert.deepEqual(walkInRequest(NEW_WALK_IN), { body: { priority: 0 }, name: undefined });
  });

  await t.step("duplicates: told apart by number, birth date and masked contact", () => {
    assert.equal(patientHint(LIM), "P-0001 · 1980-01-02 · •••• 0003");
    assert.equal(
      patientHint({ ...LIM, phone_masked: null, email_masked: "l•••@example.com" }),
      "P-0001 · 1980-01-02 · l•••@example.com",
    );
    assert.deepEqual(duplicatesOf({ candidates: [LIM] }), [LIM]);
    assert.deepEqual(duplicatesOf({ candidates: "no" }), []);
  });

  await t.step("guardians: named by what they are to the patient", () => {
    assert.equal(guardianHint(LIM), "");
    const child = {
      guardians: [
        {
          user_id: "u1",
          full_name: "Lim Mei Ling",
          relationship: "child" as const,
          phone_masked: null,
        },
        {
          user_id: "u2",
          full_name: "Tan Ah Kow",
          relationship: "other" as const,
          phone_masked: null,
        },
      ],
    };
    assert.equal(guardianHint(child), "Parent: Lim Mei Ling · Guardian: Tan Ah Kow");
    assert.deepEqual(duplicatesOf(null), []);
  });
});
