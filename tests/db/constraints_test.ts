/**
 * Constraints: no double booking whatever the session time zone, human-readable numbers that
 * stay unique and gapless under concurrency, clinic-local service dates, and the queue board
 * projection (maintained in the ticket's own transaction, free of PII by construction).
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { freshDatabase, type Sql } from "../support/db.ts";
import { CLINIC_A, DOCTORS, PATIENTS, pgErrorCode } from "./_helpers.ts";

/** One instant range, [2030-07-02 01:00Z, 01:15Z), written as local time of each zone. */
const ZONES = [
  { tz: "Asia/Singapore", start: "2030-07-02 09:00", end: "2030-07-02 09:15" }, // +08:00
  { tz: "America/Los_Angeles", start: "2030-07-01 18:00", end: "2030-07-01 18:15" }, // -07:00 (PDT)
  { tz: "Pacific/Chatham", start: "2030-07-02 13:45", end: "2030-07-02 14:00" }, // +12:45
  { tz: "UTC", start: "2030-07-02 01:00", end: "2030-07-02 01:15" },
] as const;
const INSTANT = "2030-07-02T01:00:00Z";

interface Booking {
  tz: string;
  start: string;
  end: string;
  doctor?: string;
  status?: string;
}

/** Inserts an appointment as superuser, with the local-time strings read in `tz`. */
async function book(sql: Sql, b: Booking): Promise<string> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('timezone', ${b.tz}, true)`;
    const status = b.status ?? "scheduled";
    const [row] = await tx`
      insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
        hold_expires_at, appointment_number)
      values (${CLINIC_A}, ${PATIENTS.lim}, ${b.doctor ?? DOCTORS.tan},
        tstzrange(${b.start}::text::timestamptz, ${b.end}::text::timestamptz), ${status}::public.appointment_status,
        case when ${status} = 'held' then now() + interval '5 minutes' end, null)
      returning id`;
    return row.id as string;
  });
}

Deno.test("no two overlapping appointments for one doctor, whatever the session TimeZone", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    await t.step("the zone table expresses one instant", async () => {
      for (const z of ZONES) {
        const [row] = await db.sql.begin(async (tx) => {
          await tx`select set_config('timezone', ${z.tz}, true)`;
          return await tx`
            select ${z.start}::text::timestamptz = ${INSTANT}::text::timestamptz as same,
              ${z.end}::text::timestamptz - ${z.start}::text::timestamptz = interval '15 minutes' as len`;
        });
        assert.ok(row.same && row.len, `${z.tz}: ${z.start} is not ${INSTANT}`);
      }
    });

    for (const first of ZONES) {
      for (const second of ZONES) {
        await t.step(`booked in ${first.tz}, then the same instant in ${second.tz}`, async () => {
          const id = await book(db.sql, first);
          try {
            assert.equal(await pgErrorCode(book(db.sql, second)), "23P01");
            // A partial overlap: five minutes later, still inside the first slot.
            const later = await db.sql.begin(async (tx) => {
              await tx`select set_config('timezone', ${second.tz}, true)`;
              return await tx`
                select to_char(${second.start}::text::timestamptz + interval '5 minutes',
                         'YYYY-MM-DD HH24:MI') as start,
                       to_char(${second.end}::text::timestamptz + interval '5 minutes',
                         'YYYY-MM-DD HH24:MI') as end`;
            });
            assert.equal(
              await pgErrorCode(book(db.sql, { tz: second.tz, ...later[0] } as Booking)),
              "23P01",
            );
            // Another doctor at the same time is fine.
            const other = await book(db.sql, { ...second, doctor: DOCTORS.lee });
            await db.sql`delete from public.appointments where id = ${other}`;
          } finally {
            await db.sql`delete from public.appointments where id = ${id}`;
          }
        });
      }
    }

    await t.step("adjacent periods [09:00,09:15) and [09:15,09:30) are fine", async () => {
      const a = await book(db.sql, ZONES[0]);
      // 09:15–09:30 Singapore time, written in Los Angeles time.
      const b = await book(db.sql, {
        tz: "America/Los_Angeles",
        start: "2030-07-01 18:15",
        end: "2030-07-01 18:30",
      });
      // …and 08:45–09:00 written in Chatham time.
      const c = await book(db.sql, {
        tz: "Pacific/Chatham",
        start: "2030-07-02 13:30",
        end: "2030-07-02 13:45",
      });
      await db.sql`delete from public.appointments where id in ${db.sql([a, b, c])}`;
    });

    const statuses = [
      { status: "held", blocks: true },
      { status: "scheduled", blocks: true },
      { status: "confirmed", blocks: true },
      { status: "checked_in", blocks: true },
      { status: "in_progress", blocks: true },
      { status: "cancelled", blocks: false },
      { status: "completed", blocks: false },
      { status: "no_show", blocks: false },
      { status: "rescheduled", blocks: false },
    ];
    for (const s of statuses) {
      await t.step(
        `a ${s.status} appointment ${s.blocks ? "blocks" : "frees"} the period`,
        async () => {
          const id = await book(db.sql, { ...ZONES[0], status: s.status });
          try {
            const attempt = book(db.sql, ZONES[1]);
            if (s.blocks) assert.equal(await pgErrorCode(attempt), "23P01");
            else await db.sql`delete from public.appointments where id = ${await attempt}`;
          } finally {
            await db.sql`delete from public.appointments where id = ${id}`;
          }
        },
      );
    }

    await t.step("cancelling a booking frees its period", async () => {
      const id = await book(db.sql, ZONES[0]);
      assert.equal(await pgErrorCode(book(db.sql, ZONES[2])), "23P01");
      await db.sql`
        update public.appointments set status = 'cancelled', cancelled_at = now()
        where id = ${id}`;
      const again = await book(db.sql, ZONES[2]);
      // …and the cancelled one cannot come back while the slot is taken.
      assert.equal(
        await pgErrorCode(db.sql`
          update public.appointments set status = 'scheduled' where id = ${id}`),
        "23P01",
      );
      await db.sql`delete from public.appointments where id in ${db.sql([id, again])}`;
    });

    await t.step("periods must be [lower, upper), non-empty and at most 8 hours", async () => {
      const cases = [
        { range: "[2030-07-02 09:00+08, 2030-07-02 09:15+08]", code: "23514" }, // upper inclusive
        { range: "(2030-07-02 09:00+08, 2030-07-02 09:15+08)", code: "23514" }, // lower exclusive
        { range: "[2030-07-02 09:00+08,)", code: "23514" }, // unbounded
        { range: "[2030-07-02 09:00+08, 2030-07-02 17:01+08)", code: "23514" }, // > 8 hours
        // Empty: it has no start, so no clinic-local service_date (not null) either.
        { range: "[2030-07-02 09:00+08, 2030-07-02 09:00+08)", code: "23502" },
      ];
      for (const c of cases) {
        assert.equal(
          await pgErrorCode(db.sql`
            insert into public.appointments (clinic_id, patient_id, doctor_id, period)
            values (${CLINIC_A}, ${PATIENTS.lim}, ${DOCTORS.tan}, ${c.range}::tstzrange)`),
          c.code,
          c.range,
        );
      }
    });
  } finally {
    await db.drop();
  }
});

Deno.test("appointment numbers stay unique and gapless under 50 concurrent inserts", async () => {
  const db = await freshDatabase({ seed: true });
  const pool = postgres(db.url, { max: 50, onnotice: () => {} });
  try {
    const n = 50;
    let started = 0;
    let release!: () => void;
    const allStarted = new Promise<void>((resolve) => (release = resolve));
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        pool.begin(async (tx) => {
          const [{ pid }] = await tx`select pg_backend_pid() as pid`;
          // Every transaction is open before any inserts: 50 connections race for numbers.
          if (++started === n) release();
          await allStarted;
          const [row] = await tx`
            insert into public.appointments (clinic_id, patient_id, doctor_id, period)
            values (${CLINIC_A}, ${PATIENTS.lim}, ${i % 2 ? DOCTORS.tan : DOCTORS.lee},
              tstzrange(timestamptz '2030-07-03 08:00+08' + make_interval(mins => ${i}::int * 10),
                        timestamptz '2030-07-03 08:10+08' + make_interval(mins => ${i}::int * 10)))
            returning appointment_number, service_date::text`;
          await tx`select pg_sleep(0.005)`; // hold the counter lock a little
          return {
            pid: pid as number,
            number: row.appointment_number as string,
            day: row.service_date as string,
          };
        }).catch((error) => {
          release(); // never leave the others waiting at the barrier
          throw error;
        })),
    );
    assert.equal(new Set(results.map((r) => r.pid)).size, n, "50 distinct connections");
    const numbers = results.map((r) => r.number);
    assert.equal(new Set(numbers).size, n, "distinct numbers");
    for (const r of results) {
      assert.equal(r.day, "2030-07-03");
      assert.match(r.number, /^GFC-TP-300703-\d{3}$/);
    }
    const expected = Array.from(
      { length: n },
      (_, i) => `GFC-TP-300703-${String(i + 1).padStart(3, "0")}`,
    );
    assert.deepEqual(numbers.toSorted(), expected, "gapless 001…050");
    const [counter] = await db.sql`
      select value from private.day_counters
      where clinic_id = ${CLINIC_A} and day = '2030-07-03' and kind = 'appointment'`;
    assert.equal(counter.value, n);
  } finally {
    await pool.end();
    await db.drop();
  }
});

Deno.test("service_date is the clinic-local date of the appointment's start", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    const cases = [
      { utc: "2030-07-02 23:30", day: "2030-07-03", note: "23:30 UTC is 07:30 next day in SGT" },
      { utc: "2030-07-02 15:59", day: "2030-07-02", note: "23:59 SGT" },
      { utc: "2030-07-02 16:00", day: "2030-07-03", note: "midnight SGT" },
      { utc: "2030-12-31 16:30", day: "2031-01-01", note: "new year in SGT" },
    ];
    for (const c of cases) {
      for (const tz of ["UTC", "America/Los_Angeles", "Pacific/Chatham", "Asia/Singapore"]) {
        await t.step(`${c.utc} UTC under ${tz}: ${c.day} (${c.note})`, async () => {
          const [row] = await db.sql.begin(async (tx) => {
            await tx`select set_config('timezone', ${tz}, true)`;
            return await tx`
              insert into public.appointments (clinic_id, patient_id, doctor_id, period)
              values (${CLINIC_A}, ${PATIENTS.lim}, ${DOCTORS.tan},
                tstzrange((${c.utc} || '+00')::timestamptz,
                          (${c.utc} || '+00')::timestamptz + interval '15 minutes'))
              returning id, service_date::text, appointment_number`;
          });
          try {
            assert.equal(row.service_date, c.day);
            const yymmdd = c.day.slice(2).replaceAll("-", "");
            assert.match(row.appointment_number as string, new RegExp(`^GFC-TP-${yymmdd}-\\d{3}$`));
          } finally {
            await db.sql`delete from public.appointments where id = ${row.id}`;
          }
        });
      }
    }
  } finally {
    await db.drop();
  }
});

// ---------------------------------------------------------------------------------------
// Queue board
// ---------------------------------------------------------------------------------------

const BOARD_COLUMNS = [
  "ticket_id",
  "clinic_id",
  "service_date",
  "code",
  "status",
  "room",
  "called_at",
  "position",
  "version",
  "updated_at",
];

Deno.test("queue_board has exactly the PII-free columns", async () => {
  const db = await freshDatabase();
  try {
    const columns = async (table: string) =>
      (await db.sql<{ attname: string }[]>`
        select attname::text from pg_attribute
        where attrelid = ${table}::regclass and attnum > 0 and not attisdropped
        order by attnum`).map((r) => r.attname);
    assert.deepEqual(await columns("public.queue_board"), BOARD_COLUMNS);
    assert.deepEqual(await columns("public.queue_board_versions"), [
      "clinic_id",
      "service_date",
      "version",
      "updated_at",
    ]);
    for (const column of await columns("public.queue_board")) {
      assert.doesNotMatch(
        column,
        /patient|name|reason|appointment|phone|email|nric|doctor|note|user/,
      );
    }
  } finally {
    await db.drop();
  }
});

Deno.test("queue tickets maintain queue_board in the same transaction", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    const day = "2030-07-05";
    type BoardRow = { code: string; status: string; position: number | null; version: number };
    const board = async (tx: postgres.TransactionSql): Promise<BoardRow[]> =>
      (await tx<BoardRow[]>`
        select code, status::text, position, version::int from public.queue_board
        where clinic_id = ${CLINIC_A} and service_date = ${day} order by code`)
        .map((row) => ({ ...row }));
    const version = async (tx: postgres.TransactionSql) =>
      (await tx`
        select version::int from public.queue_board_versions
        where clinic_id = ${CLINIC_A} and service_date = ${day}`)[0]?.version as number;
    const ticket = (
      tx: postgres.TransactionSql,
      code: string,
      priority: number,
      arrived: string,
    ) =>
      tx`
        insert into public.queue_tickets (clinic_id, service_date, code, kind, priority,
          checked_in_at)
        values (${CLINIC_A}, ${day}, ${code}, 'walk_in', ${priority}, ${arrived}::text::timestamptz)
        returning id`;

    await t.step("insert, call and delete update positions and versions", async () => {
      await db.sql.begin(async (tx) => {
        const [w1] = await ticket(tx, "W001", 0, "2030-07-05 09:00+08");
        assert.equal(await version(tx), 1);
        assert.deepEqual(await board(tx), [
          { code: "W001", status: "waiting", position: 1, version: 1 },
        ]);

        await ticket(tx, "W002", 0, "2030-07-05 09:05+08");
        assert.equal(await version(tx), 2);
        assert.deepEqual(await board(tx), [
          { code: "W001", status: "waiting", position: 1, version: 1 },
          { code: "W002", status: "waiting", position: 2, version: 2 },
        ]);

        // A priority ticket arriving last goes first; the others move down.
        const [w3] = await ticket(tx, "W003", 5, "2030-07-05 09:10+08");
        assert.equal(await version(tx), 3);
        assert.deepEqual(await board(tx), [
          { code: "W001", status: "waiting", position: 2, version: 3 },
          { code: "W002", status: "waiting", position: 3, version: 3 },
          { code: "W003", status: "waiting", position: 1, version: 3 },
        ]);

        await tx`
          update public.queue_tickets set status = 'called', called_at = now(), room = 'Room 1'
          where id = ${w3.id}`;
        assert.equal(await version(tx), 4);
        assert.deepEqual(await board(tx), [
          { code: "W001", status: "waiting", position: 1, version: 4 },
          { code: "W002", status: "waiting", position: 2, version: 4 },
          { code: "W003", status: "called", position: null, version: 4 },
        ]);
        const [called] = await tx`
          select room, called_at is not null as called from public.queue_board
          where ticket_id = ${w3.id}`;
        assert.deepEqual({ ...called }, { room: "Room 1", called: true });

        await tx`delete from public.queue_tickets where id = ${w1.id}`;
        assert.equal(await version(tx), 5);
        assert.deepEqual(await board(tx), [
          { code: "W002", status: "waiting", position: 1, version: 5 },
          { code: "W003", status: "called", position: null, version: 4 },
        ]);
      });
    });

    await t.step("a rolled-back ticket leaves no board row and no version bump", async () => {
      const before = await db.sql.begin((tx) => version(tx));
      await assert.rejects(
        db.sql.begin(async (tx) => {
          await ticket(tx, "W009", 0, "2030-07-05 10:00+08");
          throw new Error("roll back");
        }),
        /roll back/,
      );
      const after = await db.sql.begin(async (tx) => ({
        v: await version(tx),
        b: await board(tx),
      }));
      assert.equal(after.v, before);
      assert.ok(!after.b.some((r) => r.code === "W009"));
    });
  } finally {
    await db.drop();
  }
});
