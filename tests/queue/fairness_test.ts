/**
 * The published call-next fairness policy, case by case: tickets with chosen booked and arrival
 * times (minutes relative to now), then repeated call-next presses; the board's waiting order
 * must be the same order.
 */
import assert from "node:assert/strict";
import { freshDatabase, type Sql } from "../support/db.ts";
import { addPatients, asDemoUser, CLINIC_A, DOCTORS, middayClinic, USERS } from "./_support.ts";

interface T {
  /** Ticket code; `A…` an appointment, `W…` a walk-in. */
  code: string;
  /** Appointments: booked start, minutes from now. */
  booked?: number;
  /** Check-in, minutes from now (negative: in the past). */
  arrived: number;
  priority?: number;
  doctor?: keyof typeof DOCTORS;
}

interface Case {
  name: string;
  settings?: Record<string, number>;
  tickets: T[];
  /** Presses: the doctor called for (default: any), and the expected code (null: queue empty). */
  calls: [keyof typeof DOCTORS | null, string | null][];
  /** Board order of the waiting line before the first call (default: the calls' codes). */
  board?: string[];
}

const cases: Case[] = [
  {
    name: "appointments go by booked time, not by arrival",
    tickets: [
      { code: "A001", booked: 0, arrived: -30 },
      { code: "A002", booked: -10, arrived: -5 },
      { code: "A003", booked: -5, arrived: -40 },
    ],
    calls: [[null, "A002"], [null, "A003"], [null, "A001"], [null, null]],
  },
  {
    name: "an appointment later than the grace joins as if a walk-in at its arrival",
    tickets: [
      { code: "A001", booked: -40, arrived: -20 }, // 20 min late: due at -20
      { code: "A002", booked: -15, arrived: -30 },
      { code: "W001", arrived: -18 },
      { code: "A003", booked: -25, arrived: -16 }, // 9 min late, within the 10 min grace
    ],
    calls: [[null, "A003"], [null, "A001"], [null, "W001"], [null, "A002"]],
  },
  {
    name: "the lateness grace is a clinic setting",
    settings: { lateness_grace_minutes: 0 },
    tickets: [
      { code: "A001", booked: -25, arrived: -16 }, // late at once: due at -16
      { code: "W001", arrived: -20 },
    ],
    calls: [[null, "W001"], [null, "A001"]],
  },
  {
    name: "walk-ins interleave with appointments by the clock",
    tickets: [
      { code: "A001", booked: -20, arrived: -45 },
      { code: "A002", booked: -10, arrived: -44 },
      { code: "A003", booked: 0, arrived: -43 },
      { code: "W001", arrived: -15 },
      { code: "W002", arrived: -5 },
    ],
    calls: [[null, "A001"], [null, "W001"], [null, "A002"], [null, "W002"], [null, "A003"]],
  },
  {
    name: "priority is weighted (15 minutes a level), not absolute",
    tickets: [
      { code: "W001", arrived: -20 },
      { code: "W002", arrived: -10, priority: 1 }, // effective -25
      { code: "W003", arrived: -2, priority: 1 }, // effective -17
      { code: "W004", arrived: -1, priority: 3 }, // effective -46
    ],
    calls: [[null, "W004"], [null, "W002"], [null, "W001"], [null, "W003"]],
  },
  {
    name: "the priority step is a clinic setting",
    settings: { priority_step_minutes: 60 },
    tickets: [
      { code: "W001", arrived: -50 },
      { code: "W002", arrived: -1, priority: 1 }, // effective -61
    ],
    calls: [[null, "W002"], [null, "W001"]],
  },
  {
    name: "whoever waited past the cap goes first, even before higher priority",
    tickets: [
      { code: "W001", arrived: -95 },
      { code: "W002", arrived: -5, priority: 9 }, // effective -140, but not overdue
      { code: "A001", booked: -100, arrived: -120 },
    ],
    // A001 waits since its booked time (-100), W001 since -95: both over 90 minutes.
    calls: [[null, "A001"], [null, "W001"], [null, "W002"]],
  },
  {
    name: "an early arrival's wait counts from the booked time",
    tickets: [
      { code: "A001", booked: -10, arrived: -95 }, // waiting since -10: not overdue
      { code: "W001", arrived: -92 }, // overdue
      { code: "W002", arrived: -30 },
    ],
    calls: [[null, "W001"], [null, "W002"], [null, "A001"]],
  },
  {
    name: "among the overdue, the longest wait goes first whatever the priority",
    settings: { max_wait_minutes: 30 },
    tickets: [
      { code: "W001", arrived: -40, priority: 5 },
      { code: "W002", arrived: -45 },
      { code: "W003", arrived: -10, priority: 9 },
    ],
    calls: [[null, "W002"], [null, "W001"], [null, "W003"]],
  },
  {
    name: "a doctor's call-next serves their tickets and unassigned ones only",
    tickets: [
      { code: "A001", booked: -20, arrived: -30, doctor: "tan" },
      { code: "A002", booked: -30, arrived: -35, doctor: "lee" },
      { code: "W001", arrived: -25 },
      { code: "W002", arrived: -22, doctor: "lee" },
    ],
    board: ["A002", "W001", "W002", "A001"],
    calls: [["tan", "W001"], ["tan", "A001"], ["tan", null], ["lee", "A002"], ["lee", "W002"]],
  },
  {
    name: "ties go to the earlier check-in, then the code",
    tickets: [
      { code: "A001", booked: -10, arrived: -20 },
      { code: "W001", arrived: -10 }, // due at the same instant as A001, arrived later
    ],
    calls: [[null, "A001"], [null, "W001"]],
  },
];

async function setUp(db: Sql, c: Case) {
  await middayClinic(db);
  if (c.settings) {
    await db`
      update public.clinics
      set settings = jsonb_set(settings, '{queue}', settings -> 'queue' || ${db.json(c.settings)})
      where id = ${CLINIC_A}`;
  }
  const patients = await addPatients(db, c.tickets.length);
  // One transaction: one now(), so "the same minute" is the same instant.
  await db.begin(async (sql) => {
    for (const [i, t] of c.tickets.entries()) {
      const doctor = t.doctor ? DOCTORS[t.doctor] : null;
      const arrived = sql`now() + ${t.arrived} * interval '1 minute'`;
      let appointment: string | null = null;
      if (t.code.startsWith("A")) {
        const booked = sql`now() + ${t.booked!} * interval '1 minute'`;
        const [a] = await sql`
        insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
          checked_in_at)
        values (${CLINIC_A}, ${patients[i]}, ${doctor ?? DOCTORS.tan},
          tstzrange(${booked} + ${i} * interval '1 second',
                    ${booked} + ${i} * interval '1 second' + interval '1 second'),
          'checked_in', ${arrived})
        returning id`;
        appointment = a.id;
      }
      await sql`
      insert into public.queue_tickets (clinic_id, service_date, code, kind, priority, patient_id,
        appointment_id, doctor_id, scheduled_at, checked_in_at)
      values (${CLINIC_A}, private.clinic_today(${CLINIC_A}), ${t.code},
        ${appointment ? "appointment" : "walk_in"}, ${t.priority ?? 0}, ${patients[i]},
        ${appointment},
        ${appointment ? (doctor ?? DOCTORS.tan) : doctor},
        ${appointment ? sql`now() + ${t.booked!} * interval '1 minute'` : null},
        ${arrived})`;
    }
  });
}

Deno.test("call-next fairness policy", async (t) => {
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using db = await freshDatabase({ seed: true });
      await setUp(db.sql, c);
      const board = await db.sql`
        select code from public.queue_board where status = 'waiting' order by position`;
      const expectedBoard = c.board ??
        c.calls.map(([, code]) => code).filter((code): code is string => code !== null);
      assert.deepEqual(board.map((r) => r.code), expectedBoard, "board order");

      const called: (string | null)[] = [];
      for (const [doctor] of c.calls) {
        const [ticket] = await asDemoUser(
          db.sql,
          USERS.staffKoh,
          (tx) =>
            tx`select code from private.queue_call_next(
                 ${CLINIC_A}, 'Front desk', ${doctor ? DOCTORS[doctor] : null})`,
        );
        called.push(ticket?.code ?? null);
      }
      assert.deepEqual(called, c.calls.map(([, code]) => code), "call order");
    });
  }
});
