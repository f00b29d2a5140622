/**
 * public.push_subscriptions under row-level security (…20261206000300_push_subscriptions): a
 * user reads, adds, refreshes and removes only their own rows and can never hand a row to
 * someone else; the keys' formats are constraints.
 */
import assert from "node:assert/strict";
import { freshDatabase } from "../support/db.ts";
import {
  addFixtures,
  attempt,
  deniedOrEmpty,
  describe,
  isError,
  userClaims,
  USERS,
} from "./_helpers.ts";

const P256DH = `B${"A".repeat(86)}`;
const AUTH = "A".repeat(22);

Deno.test("push_subscriptions: own rows only", async (t) => {
  await using db = await freshDatabase({ seed: true });
  await addFixtures(db.sql);
  const lim = userClaims(USERS.patientLim);
  const [tay] = await db.sql`
    select id from public.push_subscriptions where user_id = ${USERS.patientTay}`;

  await t.step("reads only the caller's", async () => {
    const seen = await attempt(db.sql, lim, "select user_id::text from public.push_subscriptions");
    assert.ok(seen.ok, describe(seen));
    assert.deepEqual(seen.rows.map((r) => r.user_id), [USERS.patientLim]);
  });

  await t.step("inserts only for the caller", async () => {
    const insert = `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
      values ($1, 'https://push.example/send/new', '${P256DH}', '${AUTH}')`;
    const mine = await attempt(db.sql, lim, insert, [USERS.patientLim]);
    assert.ok(mine.ok && mine.count === 1, describe(mine));
    const theirs = await attempt(db.sql, lim, insert, [USERS.patientTay]);
    assert.ok(isError(theirs, "42501"), describe(theirs));
  });

  await t.step("another user's row: no update, no delete", async () => {
    const update = await attempt(
      db.sql,
      lim,
      `update public.push_subscriptions set auth = '${AUTH}' where id = $1`,
      [tay.id],
    );
    assert.ok(deniedOrEmpty(update), describe(update));
    const del = await attempt(db.sql, lim, "delete from public.push_subscriptions where id = $1", [
      tay.id,
    ]);
    assert.ok(deniedOrEmpty(del), describe(del));
  });

  await t.step(
    "the owner, the endpoint and the delivery record are not the user's to set",
    async () => {
      for (const column of ["user_id", "endpoint", "last_success_at", "created_at"]) {
        const update = await attempt(
          db.sql,
          lim,
          `update public.push_subscriptions set ${column} = ${column}`,
        );
        assert.ok(isError(update, "42501"), `${column}: ${describe(update)}`);
      }
    },
  );

  await t.step("endpoint and keys are checked by the table", async () => {
    for (
      const [endpoint, p256dh, auth] of [
        ["http://push.example/x", P256DH, AUTH],
        ["https://push.example/x", P256DH.slice(1), AUTH],
        ["https://push.example/x", P256DH, `${AUTH}=`],
      ]
    ) {
      const bad = await attempt(
        db.sql,
        lim,
        `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
         values ($1, $2, $3, $4)`,
        [USERS.patientLim, endpoint, p256dh, auth],
      );
      assert.ok(isError(bad, "23514"), describe(bad));
    }
  });
});
