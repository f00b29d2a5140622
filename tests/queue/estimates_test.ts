/**
 * Wait estimates do not trust one or two consultations: below 3 measured samples the doctor's
 * booked consultation length (slot_minutes) is the service time; from 3 on, their mean.
 */
import assert from "node:assert/strict";
import { DOCTORS, queueApp } from "./_support.ts";

Deno.test("doctor service minutes: a minimum sample count, else the booked length", async (t) => {
  await using q = await queueApp();
  const minutes = async () => {
    const [row] = await q.sql`select minutes::float as minutes, samples
      from private.doctor_service_minutes(${DOCTORS.tan})`;
    return { ...row };
  };
  const consult = (n: number, length: number) =>
    q.sql`
      insert into public.queue_tickets (clinic_id, service_date, code, kind, status, doctor_id,
        checked_in_at, called_at, consultation_start_at, consultation_end_at)
      select c.id, private.clinic_today(c.id) - 1, 'W8' || lpad(${n}::text, 2, '0'), 'walk_in',
        'completed', ${DOCTORS.tan}, now() - interval '1 day', now() - interval '1 day',
        now() - interval '1 day', now() - interval '1 day' + ${length} * interval '1 minute'
      from public.clinics c where c.code = 'GFC-TP'`;

  await t.step("no history: the booked length", async () => {
    assert.deepEqual(await minutes(), { minutes: 15, samples: 0 });
  });
  await t.step("one or two quick visits do not count yet", async () => {
    await consult(1, 2);
    assert.deepEqual(await minutes(), { minutes: 15, samples: 1 });
    await consult(2, 3);
    assert.deepEqual(await minutes(), { minutes: 15, samples: 2 });
  });
  await t.step("from three samples, their mean", async () => {
    await consult(3, 4);
    assert.deepEqual(await minutes(), { minutes: 3, samples: 3 });
  });
});
