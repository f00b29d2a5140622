/**
 * Guardians and dependants (20261207000500_families.sql) at the database: a guardian sees
 * exactly their dependants' patient rows, appointments and queue tickets — not their clinical
 * rows, not another family's — books for them under RLS, and loses all of it when the link
 * goes; a patient makes links only through api.add_dependant; staff of the clinic see and make
 * its links, never another clinic's.
 */
import assert from "node:assert/strict";
import { freshDatabase } from "../support/db.ts";
import {
  addFixtures,
  attempt,
  CLINIC_A,
  deniedOrEmpty,
  describe,
  DOCTORS,
  type Fixtures,
  isError,
  userClaims,
  USERS,
} from "./_helpers.ts";

/** Ids (sorted) `user` reads from `table` under RLS. */
async function seen(
  sql: Parameters<typeof attempt>[0],
  user: string,
  table: string,
): Promise<string[]> {
  const outcome = await attempt(sql, userClaims(user), `select id::text from ${table} order by 1`);
  assert.ok(outcome.ok, describe(outcome));
  return outcome.rows.map((r) => r.id);
}

/** A dependant's appointment and queue ticket (as superuser), in the fixtures' far future. */
async function visitOf(sql: Parameters<typeof attempt>[0], patient: string, hour: number) {
  const [a] = await sql`
    insert into public.appointments (clinic_id, patient_id, doctor_id, period)
    values (${CLINIC_A}, ${patient}, ${DOCTORS.tan},
      tstzrange(timestamptz '2030-07-02 09:00+08' + make_interval(hours => ${hour}::int),
                timestamptz '2030-07-02 09:15+08' + make_interval(hours => ${hour}::int)))
    returning id::text`;
  const [q] = await sql`
    insert into public.queue_tickets (clinic_id, service_date, code, kind, patient_id,
      appointment_id, doctor_id)
    values (${CLINIC_A}, '2030-07-02', ${"G00" + hour}, 'appointment', ${patient}, ${a.id},
      ${DOCTORS.tan})
    returning id::text`;
  return { appointment: a.id as string, ticket: q.id as string };
}

Deno.test("a guardian sees exactly their dependants' patients, appointments and tickets", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    const fixtures: Fixtures = await addFixtures(db.sql);
    const lim = fixtures.patients.find((p) => p.key === "lim")!;
    const tay = fixtures.patients.find((p) => p.key === "tay")!;
    const wardOf = async (user: string) =>
      (await db.sql`select patient_id::text from public.guardianships
        where guardian_id = ${user}`)[0].patient_id as string;
    const limsChild = await wardOf(lim.userId);
    const taysChild = await wardOf(tay.userId);
    const limsVisit = await visitOf(db.sql, limsChild, 1);
    const taysVisit = await visitOf(db.sql, taysChild, 2);
    await db.sql`
      insert into public.medical_records (clinic_id, patient_id, doctor_id, chief_complaint)
      values (${CLINIC_A}, ${limsChild}, ${DOCTORS.tan}, 'Fever')`;

    await t.step("patients: own record and the dependant's", async () => {
      assert.deepEqual(
        await seen(db.sql, lim.userId, "public.patients"),
        [lim.patientId, limsChild].sort(),
      );
      assert.deepEqual(
        await seen(db.sql, tay.userId, "public.patients"),
        [tay.patientId, taysChild].sort(),
      );
    });

    await t.step(
      "appointments and tickets: own and the dependant's, not another family's",
      async () => {
        assert.deepEqual(
          await seen(db.sql, lim.userId, "public.appointments"),
          [lim.appointmentId, limsVisit.appointment].sort(),
        );
        const tickets = await seen(db.sql, lim.userId, "public.queue_tickets");
        assert.ok(tickets.includes(limsVisit.ticket) && !tickets.includes(taysVisit.ticket));
        assert.equal(tickets.length, 2);
        const taySees = await seen(db.sql, tay.userId, "public.appointments");
        assert.ok(
          taySees.includes(taysVisit.appointment) && !taySees.includes(limsVisit.appointment),
        );
      },
    );

    await t.step("nothing clinical of the dependant", async () => {
      assert.deepEqual(await seen(db.sql, lim.userId, "public.medical_records"), [
        lim.medicalRecordId,
      ]);
    });

    await t.step(
      "books, moves and releases for the dependant under RLS; not for others",
      async () => {
        const claims = userClaims(lim.userId);
        const hold = (patient: string) =>
          attempt(
            db.sql,
            claims,
            `insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
             hold_expires_at)
           values ($1, $2, $3, tstzrange('2030-07-03 09:00+08', '2030-07-03 09:15+08'), 'held',
             now() + interval '5 minutes') returning id`,
            [CLINIC_A, patient, DOCTORS.tan],
          );
        const mine = await hold(limsChild);
        assert.ok(mine.ok, describe(mine));
        const theirs = await hold(taysChild);
        assert.ok(isError(theirs, "42501"), describe(theirs));
        const cancel = await attempt(
          db.sql,
          claims,
          `update public.appointments set status = 'cancelled' where id = $1 returning id`,
          [limsVisit.appointment],
        );
        assert.ok(cancel.ok && cancel.count === 1, describe(cancel));
        const checkIn = await attempt(
          db.sql,
          claims,
          `update public.appointments set status = 'checked_in' where id = $1`,
          [limsVisit.appointment],
        );
        assert.ok(isError(checkIn, "42501"), describe(checkIn));
        const other = await attempt(
          db.sql,
          claims,
          `update public.appointments set status = 'cancelled' where id = $1`,
          [taysVisit.appointment],
        );
        assert.ok(deniedOrEmpty(other), describe(other));
        const edit = await attempt(
          db.sql,
          claims,
          `update public.patients set full_name = 'Renamed' where id = $1`,
          [limsChild],
        );
        assert.ok(deniedOrEmpty(edit), `a guardian edits the record: ${describe(edit)}`);
      },
    );

    await t.step(
      "links: a patient's only through api.add_dependant; staff make their clinic's",
      async () => {
        const forge = await attempt(
          db.sql,
          userClaims(lim.userId),
          `insert into public.guardianships (guardian_id, patient_id, clinic_id, relationship)
         values ($1, $2, $3, 'child')`,
          [lim.userId, tay.patientId, CLINIC_A],
        );
        assert.ok(isError(forge, "42501"), describe(forge));
        const steal = await attempt(
          db.sql,
          userClaims(lim.userId),
          `update public.guardianships set guardian_id = $1 where patient_id = $2`,
          [lim.userId, taysChild],
        );
        assert.ok(deniedOrEmpty(steal), describe(steal));
        const byStaffB = await attempt(
          db.sql,
          userClaims(USERS.adminBedok),
          `insert into public.guardianships (guardian_id, patient_id, clinic_id, relationship)
         values ($1, $2, $3, 'child')`,
          [lim.userId, tay.patientId, CLINIC_A],
        );
        assert.ok(isError(byStaffB, "42501"), `another clinic's staff: ${describe(byStaffB)}`);
        const crossed = await attempt(
          db.sql,
          userClaims(USERS.staffKoh),
          `insert into public.guardianships (guardian_id, patient_id, clinic_id, relationship)
         values ($1, $2, $3, 'child')`,
          [lim.userId, fixtures.patients.find((p) => p.key === "chan")!.patientId, CLINIC_A],
        );
        assert.ok(isError(crossed, "23503"), `a patient of another clinic: ${describe(crossed)}`);
        const staff = await seen(db.sql, USERS.staffKoh, "public.guardianships");
        assert.equal(staff.length, 2, "clinic A's two links");
        assert.equal((await seen(db.sql, USERS.adminBedok, "public.guardianships")).length, 1);
        const taysLinks = await attempt(
          db.sql,
          userClaims(lim.userId),
          `delete from public.guardianships where patient_id = $1`,
          [taysChild],
        );
        assert.ok(deniedOrEmpty(taysLinks), describe(taysLinks));
      },
    );

    await t.step("a removed link or a deleted record: nothing more", async () => {
      await db.sql`update public.patients set deleted_at = now() where id = ${taysChild}`;
      assert.deepEqual(await seen(db.sql, tay.userId, "public.patients"), [tay.patientId]);
      await db.sql`delete from public.guardianships where patient_id = ${limsChild}`;
      assert.deepEqual(await seen(db.sql, lim.userId, "public.patients"), [lim.patientId]);
      assert.deepEqual(await seen(db.sql, lim.userId, "public.appointments"), [lim.appointmentId]);
    });
  } finally {
    await db.drop();
  }
});
