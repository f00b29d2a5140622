/**
 * The catalog fingerprint of a migrated database: everything the migrations define, as
 * normalized text, so that two ways of writing the migrations can be shown to build the same
 * database and a new migration's effect on the schema shows up as a readable diff of
 * tests/db/catalog.snapshot.txt (catalog_test.ts compares the two).
 *
 * It has two parts:
 * 1. `pg_dump --schema-only --no-owner` (the migrator's own `supabase_migrations` left out), cut
 *    into its objects and sorted by type, schema and name, so the order in which the migrations
 *    create objects does not matter; GRANT/REVOKE lines of an object are sorted too.
 * 2. Catalog rows pg_dump states less directly: every function's signature, kind, security,
 *    volatility, settings (proconfig), ACL and a hash of pg_get_functiondef; table, column and
 *    schema ACLs, RLS flags and replica identity; policies; triggers; publications and their
 *    tables and columns; default privileges. ACL items are sorted (their order is only the order
 *    of the GRANTs).
 *
 * Normalization, and why:
 * - SQL comments are removed everywhere, function bodies included (pg_get_functiondef and
 *   pg_dump print a body verbatim, comments and all), then trailing blanks and empty lines: a
 *   comment says why, it is not behaviour, so rewording one changes nothing here.
 *   Dollar-quoted text is treated as SQL (function bodies are dollar-quoted); '…', E'…' and
 *   "…" are kept intact.
 * - The monthly audit partitions that `audit.ensure_partitions` creates at migration time are
 *   named after the current month: their names and bounds become `logs_YYYY_MM` and
 *   `YYYY-MM-01`, so the fingerprint does not depend on the day it is taken.
 * - Owners are left out (`--no-owner`); ACL grantors stay (the cluster's superuser, `postgres`).
 */
import postgres from "postgres";
import { pgBin } from "../../edge/db/cluster.ts";

const EXCLUDED_SCHEMAS = [
  "pg_catalog",
  "information_schema",
  "pg_toast",
  "supabase_migrations",
];

/** The fingerprint of the database at `url` (a superuser URL). */
export async function catalogFingerprint(url: string): Promise<string> {
  return [
    "== pg_dump --schema-only --no-owner",
    await dumpSection(url),
    await catalogSection(url),
  ].join("\n") + "\n";
}

/**
 * What differs between two fingerprints, line by line (at most `limit` lines each way); null
 * when they are equal.
 */
export function fingerprintDifference(
  expected: string,
  actual: string,
  limit = 40,
): string | null {
  if (expected === actual) return null;
  const [want, got] = [expected.split("\n"), actual.split("\n")];
  const show = (lines: string[]) => lines.slice(0, limit).map((l) => `  ${l}`).join("\n");
  return `expected, missing:\n${show(missingFrom(want, got))}\n` +
    `unexpected:\n${show(missingFrom(got, want))}`;
}

/** The lines of `a` that `b` lacks (a multiset difference), in order. */
function missingFrom(a: string[], b: string[]): string[] {
  const counts = new Map<string, number>();
  for (const line of b) counts.set(line, (counts.get(line) ?? 0) + 1);
  return a.filter((line) => {
    const n = counts.get(line) ?? 0;
    if (n > 0) counts.set(line, n - 1);
    return n === 0;
  });
}

// ---------------------------------------------------------------------------------------
// pg_dump
// ---------------------------------------------------------------------------------------

async function dumpSection(url: string): Promise<string> {
  const out = await new Deno.Command(await pgBin("pg_dump"), {
    args: [
      "--schema-only",
      "--no-owner",
      "--exclude-schema=supabase_migrations",
      `--dbname=${url}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`pg_dump failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return dumpBlocks(new TextDecoder().decode(out.stdout)).join("\n\n");
}

/** pg_dump's objects ("-- Name: …; Type: …; Schema: …" and their statements), sorted. */
export function dumpBlocks(dump: string): string[] {
  const header = /^--\n-- (Name: .*)\n--\n/gm;
  const starts = [...dump.matchAll(header)];
  const blocks = starts.map((match, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].index : dump.length;
    const title = maskPartitions(match[1].replace(/; Owner: .*$/, ""));
    const fields = Object.fromEntries(
      title.split("; ").map((f) => [f.slice(0, f.indexOf(":")), f.slice(f.indexOf(":") + 2)]),
    );
    let lines = maskPartitions(normalizeSql(dump.slice(match.index + match[0].length, end)))
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("\\"));
    if (fields.Type === "ACL" || fields.Type === "DEFAULT ACL") lines = lines.sort();
    return {
      key: [fields.Type, fields.Schema, fields.Name].join("\u0000"),
      text: [`-- ${title}`, ...lines].join("\n"),
    };
  });
  return blocks
    .sort((a, b) => compare(a.key, b.key) || compare(a.text, b.text))
    .map((b) => b.text);
}

// ---------------------------------------------------------------------------------------
// Catalog rows
// ---------------------------------------------------------------------------------------

/** Sorted ACL items of an aclitem[] column `col`, or 'default' when it is null. */
function acl(col: string): string {
  return `coalesce((select string_agg(a::text, ' ' order by a::text) from unnest(${col}) a),
    'default')`;
}

/** `col` names a schema the migrations made (or may have changed). */
function ours(col: string): string {
  const excluded = EXCLUDED_SCHEMAS.map((s) => `'${s}'`).join(", ");
  return `${col} not in (${excluded}) and ${col} !~ '^pg_(toast_)?temp'`;
}

function notExtensionMember(catalog: string, oid: string): string {
  return `not exists (select 1 from pg_depend d where d.classid = '${catalog}'::regclass
    and d.objid = ${oid} and d.deptype = 'e')`;
}

const QUERIES: Record<string, string> = {
  "functions: signature | kind | security | volatility | strict | leakproof | parallel | settings | ACL | definition":
    `select p.oid::regprocedure::text, p.prokind,
      case when p.prosecdef then 'definer' else 'invoker' end,
      p.provolatile, p.proisstrict, p.proleakproof, p.proparallel,
      coalesce(array_to_string(p.proconfig, ' '), '-'), ${acl("p.proacl")},
      case when p.prokind in ('f', 'p') then pg_get_functiondef(p.oid) end as def
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where ${ours("n.nspname")} and ${notExtensionMember("pg_proc", "p.oid")}`,
  "relations: name | kind | row security | forced | replica identity | ACL":
    `select c.oid::regclass::text, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
      c.relreplident, ${acl("c.relacl")}
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where ${ours("n.nspname")} and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
      and ${notExtensionMember("pg_class", "c.oid")}`,
  "column ACLs: relation | column | ACL": `select c.oid::regclass::text, a.attname, ${
    acl("a.attacl")
  }
    from pg_attribute a join pg_class c on c.oid = a.attrelid
    join pg_namespace n on n.oid = c.relnamespace
    where ${ours("n.nspname")} and a.attacl is not null and not a.attisdropped`,
  "schema ACLs: schema | ACL": `select n.nspname, ${acl("n.nspacl")} from pg_namespace n
    where ${ours("n.nspname")}`,
  "policies: table | name | permissive | roles | command | using | with check":
    `select p.schemaname || '.' || p.tablename, p.policyname, p.permissive, p.roles::text, p.cmd,
      coalesce(p.qual, '-'), coalesce(p.with_check, '-')
    from pg_policies p`,
  "triggers: table | name | enabled | definition": `select t.tgrelid::regclass::text, t.tgname,
      t.tgenabled, pg_get_triggerdef(t.oid)
    from pg_trigger t where not t.tgisinternal`,
  "publications: name | all tables | insert | update | delete | truncate | via root":
    `select pubname, puballtables, pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot
    from pg_publication`,
  "publication tables: publication | table | columns | row filter":
    `select pubname, schemaname || '.' || tablename, coalesce(attnames::text, '-'),
      coalesce(rowfilter, '-')
    from pg_publication_tables`,
  "default privileges: role | schema | object type | ACL":
    `select d.defaclrole::regrole::text, coalesce(d.defaclnamespace::regnamespace::text, '-'),
      d.defaclobjtype, ${acl("d.defaclacl")}
    from pg_default_acl d`,
};

async function catalogSection(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await sql.begin(async (tx) => {
      // Fully qualified names (regclass, regprocedure) and a fixed time zone for printed values.
      await tx`select set_config('search_path', '', true), set_config('timezone', 'UTC', true)`;
      const sections: string[] = [];
      for (const [title, query] of Object.entries(QUERIES)) {
        const rows = await tx.unsafe(query).values();
        const lines = await Promise.all(rows.map(async (row) => {
          const cells = row.map((v) => (v === null ? "-" : String(v)));
          // A function's definition is long and already in the dump: its hash stands for it.
          if (title.startsWith("functions")) cells[cells.length - 1] = await hash(cells.at(-1)!);
          return maskPartitions(cells.map((c) => c.replace(/\s+/g, " ")).join(" | "));
        }));
        sections.push(`== ${title}`, ...lines.sort(compare));
      }
      return sections.join("\n");
    });
  } finally {
    await sql.end();
  }
}

async function hash(definition: string): Promise<string> {
  const bytes = new TextEncoder().encode(normalizeSql(definition));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------

/** `sql` without comments, trailing blanks and empty lines. */
export function normalizeSql(sql: string): string {
  return stripComments(sql)
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== "")
    .join("\n");
}

/**
 * Removes `-- …` and `/* … *\/` comments, leaving string literals ('…', E'…' with backslash
 * escapes) and quoted identifiers ("…") untouched. Dollar quotes are not special: the bodies
 * they quote are SQL too, whose comments go as well.
 */
export function stripComments(sql: string): string {
  let out = "";
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === "-" && next === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql[i] === "/" && sql[i + 1] === "*") (depth++, i += 2);
        else if (sql[i] === "*" && sql[i + 1] === "/") (depth--, i += 2);
        else i++;
      }
    } else if (c === "'" || c === '"') {
      const escapes = c === "'" && /(^|[^A-Za-z0-9_$])[eE]$/.test(sql.slice(Math.max(0, i - 2), i));
      let j = i + 1;
      while (j < sql.length) {
        if (escapes && sql[j] === "\\") j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Month-named audit partitions (`logs_2026_11`) and their bounds, independent of the date. */
function maskPartitions(text: string): string {
  if (!/logs_\d{4}_\d{2}/.test(text)) return text;
  return text
    .replace(/logs_\d{4}_\d{2}/g, "logs_YYYY_MM")
    .replace(/'\d{4}-\d{2}-01 00:00:00\+00'/g, "'YYYY-MM-01 00:00:00+00'");
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
