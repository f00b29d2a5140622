/**
 * The migrations build exactly the catalog in tests/db/catalog.snapshot.txt (see catalog.ts for
 * what it holds and how it is normalized). A migration that changes the schema changes the
 * snapshot on purpose; regenerate it and review the diff with the migration:
 *
 *   UPDATE_SNAPSHOT=1 deno run -A tests/run.ts tests/db/catalog_test.ts
 */
import assert from "node:assert/strict";
import { freshDatabase } from "../support/db.ts";
import { catalogFingerprint, fingerprintDifference, normalizeSql } from "./catalog.ts";

const snapshotFile = new URL("./catalog.snapshot.txt", import.meta.url);

Deno.test("the migrations build the catalog of catalog.snapshot.txt", async () => {
  await using db = await freshDatabase();
  const actual = await catalogFingerprint(db.url);
  if (Deno.env.get("UPDATE_SNAPSHOT")) {
    await Deno.writeTextFile(snapshotFile, actual);
    return;
  }
  const difference = fingerprintDifference(await Deno.readTextFile(snapshotFile), actual);
  if (difference) {
    assert.fail(
      "the catalog differs from catalog.snapshot.txt (regenerate it with UPDATE_SNAPSHOT=1 if " +
        `the change is intended)\n${difference}`,
    );
  }
});

Deno.test("the fingerprint sees code, ACLs and policies change, not comments", async (t) => {
  await using db = await freshDatabase();
  const before = await catalogFingerprint(db.url);
  const [{ def }] = await db.sql`
    select pg_get_functiondef('private.room_label(text)'::regprocedure) as def`;
  const redefine = (text: string) => db.sql.unsafe(text);

  await t.step("a comment added to a function body: the same fingerprint", async () => {
    await redefine(def.replace("AS $function$", "AS $function$\n  -- why it is so\n"));
    assert.equal(fingerprintDifference(before, await catalogFingerprint(db.url)), null);
  });
  await t.step("a changed body", async () => {
    await redefine(def.replace("'the consultation room'", "'the room'"));
    assert.match(fingerprintDifference(before, await catalogFingerprint(db.url)) ?? "", /the room/);
    await redefine(def);
  });
  await t.step("a grant", async () => {
    await db.sql`grant select on private.appointment_reminders to service_role`;
    assert.match(
      fingerprintDifference(before, await catalogFingerprint(db.url)) ?? "",
      /appointment_reminders.*service_role/,
    );
    await db.sql`revoke select on private.appointment_reminders from service_role`;
  });
  await t.step("a policy", async () => {
    await db.sql`alter policy flags_read on public.feature_flags using (false)`;
    assert.match(
      fingerprintDifference(before, await catalogFingerprint(db.url)) ?? "",
      /flags_read/,
    );
  });
});

Deno.test("normalization drops comments, not code or literals", () => {
  const sql = `
    select 'a -- not a comment', E'it\\'s -- text', "odd--name" -- a comment
    /* a block /* nested */ comment */ from t; -- trailing
    -- a whole line
    create function f() returns int language sql as $$
      select 1 -- comments in a dollar-quoted body go too
    $$;`;
  assert.equal(
    normalizeSql(sql),
    [
      `    select 'a -- not a comment', E'it\\'s -- text', "odd--name"`,
      "     from t;",
      "    create function f() returns int language sql as $$",
      "      select 1",
      "    $$;",
    ].join("\n"),
  );
  assert.equal(normalizeSql("select '\\' -- a standard string ends at the quote"), "select '\\'");
});
